/**
 * `AWS::SQS::Queue`, `AWS::SQS::QueuePolicy` and `AWS::Events::Rule` on the sandbox's SQS and EventBridge when the
 * sandbox has them (recorded only otherwise). The sandbox's EventBridge delivers to SQS queues only, so a rule's
 * SQS targets are real and its other targets (a pipeline, a Lambda function) are recorded only: the sandbox's
 * CodePipeline starts on a CodeCommit push by itself, as the rule AWS recommends would make it. A rule with a
 * `ScheduleExpression` is recorded only too (the sandbox runs no schedules). `Ref`: the queue URL, the rule name
 * (reference §3.1).
 */
import { ServiceError } from '../../protocol/errors.ts';
import { callService, defined } from './call.ts';
import { mergeTags, type Props, str, tagsOf } from './props.ts';
import { type ProviderContext, type ResourceProvider, ResourceFailure } from './types.ts';

/** The queue's `Attributes` as SQS takes them: strings, JSON documents serialized. */
function queueAttributes(p: Props): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [
    'DelaySeconds',
    'MaximumMessageSize',
    'MessageRetentionPeriod',
    'ReceiveMessageWaitTimeSeconds',
    'VisibilityTimeout',
    'KmsMasterKeyId',
    'KmsDataKeyReusePeriodSeconds',
    'SqsManagedSseEnabled',
    'FifoQueue',
    'ContentBasedDeduplication',
    'DeduplicationScope',
    'FifoThroughputLimit',
    'RedrivePolicy',
    'RedriveAllowPolicy',
  ]) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    out[key] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

const NO_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [] });

function gone(error: unknown): boolean {
  return error instanceof ServiceError && /NonExistent|NotFound|DoesNotExist/.test(error.code);
}

const recordedQueue = (p: Props, ctx: ProviderContext) => {
  const name = str(p, 'QueueName', ctx.logicalId) ?? ctx.physicalName(80);
  const url = `https://sqs.${ctx.region}.amazonaws.com/${ctx.accountId}/${name}`;
  return {
    physicalId: url,
    attributes: { Arn: `arn:aws:sqs:${ctx.region}:${ctx.accountId}:${name}`, QueueName: name, QueueUrl: url },
  };
};

const queue: ResourceProvider = {
  type: 'AWS::SQS::Queue',
  recordedOnly: false,
  attributes: ['Arn', 'QueueName', 'QueueUrl'],
  createSeconds: 60,
  deleteSeconds: 60,
  async create(p, ctx) {
    const sqs = ctx.services.sqs;
    if (!sqs) return recordedQueue(p, ctx);
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const name =
      str(p, 'QueueName', ctx.logicalId) ?? `${ctx.physicalName(fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
    const tags = mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags, ctx.systemTags);
    const out = await callService<{ QueueUrl: string }>(
      sqs,
      'CreateQueue',
      defined({
        QueueName: name,
        Attributes: queueAttributes(p),
        tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
      }),
      ctx,
    );
    return {
      physicalId: out.QueueUrl,
      attributes: { Arn: sqs.arnOf(name), QueueName: name, QueueUrl: out.QueueUrl },
    };
  },
  async delete(r, ctx) {
    const sqs = ctx.services.sqs;
    if (!sqs || !r.physicalId.startsWith('http://127.0.0.1:')) return;
    try {
      await callService(sqs, 'DeleteQueue', { QueueUrl: r.physicalId }, ctx);
    } catch (error) {
      if (!gone(error)) throw error;
    }
  },
};

const queuePolicy: ResourceProvider = {
  type: 'AWS::SQS::QueuePolicy',
  recordedOnly: false,
  attributes: ['Id'],
  createSeconds: 5,
  deleteSeconds: 5,
  async create(p, ctx) {
    const queues = p.Queues;
    if (!Array.isArray(queues) || queues.length === 0) {
      throw new ResourceFailure(
        `Properties validation failed for resource ${ctx.logicalId} with message: [#: required key [Queues] not found]`,
      );
    }
    const document = p.PolicyDocument;
    if (document === undefined) {
      throw new ResourceFailure(
        `Properties validation failed for resource ${ctx.logicalId} with message: [#: required key [PolicyDocument] not found]`,
      );
    }
    const sqs = ctx.services.sqs;
    if (sqs) {
      const policy = typeof document === 'string' ? document : JSON.stringify(document);
      for (const url of queues) {
        await callService(
          sqs,
          'SetQueueAttributes',
          { QueueUrl: String(url), Attributes: { Policy: policy } },
          ctx,
        );
      }
    }
    const id = ctx.physicalName(128);
    return { physicalId: id, attributes: { Id: id } };
  },
  async delete(r, ctx) {
    const sqs = ctx.services.sqs;
    const queues = r.properties.Queues;
    if (!sqs || !Array.isArray(queues)) return;
    for (const url of queues) {
      try {
        // AWS removes a policy with Policy "": the sandbox's SQS takes JSON only, and a policy without
        // statements allows exactly as little.
        await callService(
          sqs,
          'SetQueueAttributes',
          { QueueUrl: String(url), Attributes: { Policy: NO_POLICY } },
          ctx,
        );
      } catch (error) {
        if (!gone(error)) throw error;
      }
    }
  },
};

interface TargetProps {
  Id?: unknown;
  Arn?: unknown;
  Input?: unknown;
  InputPath?: unknown;
  InputTransformer?: unknown;
}

const rule: ResourceProvider = {
  type: 'AWS::Events::Rule',
  recordedOnly: false,
  attributes: ['Arn'],
  createSeconds: 5,
  deleteSeconds: 5,
  async create(p, ctx) {
    const name = str(p, 'Name', ctx.logicalId) ?? ctx.physicalName(64);
    const bus = str(p, 'EventBusName', ctx.logicalId);
    const onDefault = bus === undefined || bus === 'default';
    const arn = `arn:aws:events:${ctx.region}:${ctx.accountId}:rule/${onDefault ? '' : `${bus}/`}${name}`;
    const physicalId = onDefault ? name : `${bus}|${name}`;
    const events = ctx.services.events;
    // Schedules and rules without an EventBridge in the sandbox: recorded only.
    if (!events || p.ScheduleExpression !== undefined) return { physicalId, attributes: { Arn: arn } };
    const pattern = p.EventPattern;
    const out = await callService<{ RuleArn: string }>(
      events,
      'PutRule',
      defined({
        Name: name,
        EventPattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern),
        State: str(p, 'State', ctx.logicalId),
        Description: str(p, 'Description', ctx.logicalId),
        RoleArn: str(p, 'RoleArn', ctx.logicalId),
        EventBusName: bus,
        // EventBridge refuses `aws:` keys from a caller: the stack's and the rule's own tags.
        Tags: mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags),
      }),
      ctx,
    );
    const targets = (Array.isArray(p.Targets) ? (p.Targets as TargetProps[]) : []).filter((t) =>
      String(t.Arn ?? '').startsWith('arn:aws:sqs:'),
    );
    if (targets.length > 0) {
      const put = await callService<{
        FailedEntryCount?: number;
        FailedEntries?: { ErrorMessage?: string }[];
      }>(
        events,
        'PutTargets',
        {
          Rule: name,
          ...(bus !== undefined ? { EventBusName: bus } : {}),
          Targets: targets.map((t) =>
            defined({
              Id: String(t.Id),
              Arn: String(t.Arn),
              Input: t.Input === undefined ? undefined : String(t.Input),
              InputPath: t.InputPath === undefined ? undefined : String(t.InputPath),
              InputTransformer: t.InputTransformer,
            }),
          ),
        },
        ctx,
      );
      if ((put.FailedEntryCount ?? 0) > 0) {
        throw new ResourceFailure(
          `Resource handler returned message: "${put.FailedEntries?.[0]?.ErrorMessage ?? 'PutTargets failed'}" (HandlerErrorCode: InvalidRequest)`,
        );
      }
    }
    return { physicalId, attributes: { Arn: out.RuleArn, SqsTargetIds: targets.map((t) => String(t.Id)) } };
  },
  async delete(r, ctx) {
    const events = ctx.services.events;
    if (!events || r.properties.ScheduleExpression !== undefined) return;
    const name = r.physicalId.split('|').at(-1) ?? r.physicalId;
    const bus = r.physicalId.includes('|') ? r.physicalId.split('|')[0] : undefined;
    const ids = (r.attributes.SqsTargetIds as string[] | undefined) ?? [];
    try {
      if (ids.length > 0) {
        await callService(events, 'RemoveTargets', defined({ Rule: name, EventBusName: bus, Ids: ids }), ctx);
      }
      await callService(events, 'DeleteRule', defined({ Name: name, EventBusName: bus }), ctx);
    } catch (error) {
      if (!gone(error)) throw error;
    }
  },
};

export const eventProviders: readonly ResourceProvider[] = [queue, queuePolicy, rule];
