/**
 * The one question the sandbox asks a queue policy (aws-semantics-events-auth-regions §2.5): may EventBridge
 * (`events.amazonaws.com`) `sqs:SendMessage` to this queue for this rule? An explicit Deny wins; an Allow must
 * name the service principal (or `*`), the action (`sqs:SendMessage`, `sqs:*`, `*`), the queue ARN (or a
 * wildcard covering it), and its `aws:SourceArn` condition (ArnEquals / ArnLike / StringEquals / StringLike),
 * when present, must cover the rule's ARN. Anything the sandbox cannot read denies, as a broken policy does.
 *
 * @example
 * allowsEventBridge(queue.attributes.Policy, queue.arn, 'arn:aws:events:us-east-1:000000000000:rule/r'); // true | false
 */

type Json = Record<string, unknown>;

function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function glob(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${re}$`).test(value);
}

function principalIsEvents(principal: unknown): boolean {
  if (principal === '*') return true;
  if (principal === null || typeof principal !== 'object') return false;
  const p = principal as Json;
  return list(p.Service).some((s) => s === 'events.amazonaws.com') || list(p.AWS).some((a) => a === '*');
}

function actionCovers(action: unknown): boolean {
  return list(action).some((a) => typeof a === 'string' && glob(a.toLowerCase(), 'sqs:sendmessage'));
}

function resourceCovers(resource: unknown, queueArn: string): boolean {
  const resources = list(resource);
  if (resources.length === 0) return true; // a queue policy without Resource applies to the queue itself
  return resources.some((r) => typeof r === 'string' && glob(r, queueArn));
}

function conditionHolds(condition: unknown, ruleArn: string): boolean {
  if (condition === undefined) return true;
  if (condition === null || typeof condition !== 'object') return false;
  for (const [operator, tests] of Object.entries(condition as Json)) {
    if (tests === null || typeof tests !== 'object') return false;
    for (const [key, expected] of Object.entries(tests as Json)) {
      if (key.toLowerCase() !== 'aws:sourcearn') return false; // a condition on anything else cannot be shown here
      const values = list(expected).filter((v): v is string => typeof v === 'string');
      const op = operator.replace(/IfExists$/, '');
      const ok =
        op === 'ArnEquals' || op === 'StringEquals'
          ? values.includes(ruleArn)
          : op === 'ArnLike' || op === 'StringLike'
            ? values.some((v) => glob(v, ruleArn))
            : false;
      if (!ok) return false;
    }
  }
  return true;
}

/** Whether the queue policy `policyText` lets the EventBridge rule `ruleArn` send to the queue `queueArn`. */
export function allowsEventBridge(
  policyText: string | undefined,
  queueArn: string,
  ruleArn: string,
): boolean {
  if (!policyText) return false;
  let policy: Json;
  try {
    policy = JSON.parse(policyText) as Json;
  } catch {
    return false;
  }
  let allowed = false;
  for (const raw of list(policy.Statement)) {
    if (raw === null || typeof raw !== 'object') continue;
    const s = raw as Json;
    const applies =
      principalIsEvents(s.Principal) &&
      actionCovers(s.Action) &&
      resourceCovers(s.Resource, queueArn) &&
      conditionHolds(s.Condition, ruleArn);
    if (!applies) continue;
    if (s.Effect === 'Deny') return false;
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed;
}
