/**
 * What to do about a refused AWS call. IAM's message names the action and, for resource-scoped actions, the
 * resource ("User: … is not authorized to perform: codedeploy:StopDeployment on resource: arn:… because …");
 * the harness adds which statement of the policies it ships (`iam/*.json`) allows that action, or the
 * statement to add when none does, so a denial on AWS reads as a fix, not a stack trace.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AccessDeniedError, type AllowingStatement } from '../errors.ts';

interface Statement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

/** The package's `iam/` directory (from `src/aws/` and from the built `dist/src/aws/`). */
function iamDir(): string | undefined {
  for (let dir = import.meta.dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'iam', 'existing-stack-policy.json'))) return join(dir, 'iam');
  }
  return undefined;
}

let shipped: { file: string; statements: Statement[] }[] | undefined;

/** The policies shipped in `iam/`, read once. */
export function shippedPolicies(): readonly { file: string; statements: readonly Statement[] }[] {
  if (shipped) return shipped;
  const dir = iamDir();
  shipped = [];
  if (!dir) return shipped;
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const doc = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { Statement?: Statement[] };
    shipped.push({ file: `iam/${name}`, statements: doc.Statement ?? [] });
  }
  return shipped;
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(action);
}

/**
 * The Allow statements whose actions include `action` (`codedeploy:StopDeployment`), in the shipped policies of the
 * identity a run uses: `iam/<stack>-stack-policy.json` for a run of that stack mode, else every caller policy
 * (never a service role's policy such as `ephemeral-stack-role-policy.json`: that one is CloudFormation's).
 */
export function statementsAllowing(action: string, stack?: 'ephemeral' | 'existing'): AllowingStatement[] {
  const callers = shippedPolicies().filter(({ file }) =>
    stack ? file === `iam/${stack}-stack-policy.json` : !file.includes('-role-'),
  );
  return callers.flatMap(({ file, statements }) =>
    statements
      .filter((st) => st.Effect === 'Allow' && list(st.Action).some((a) => actionMatches(a, action)))
      .map((st) => ({ file, sid: st.Sid ?? '(no Sid)', resources: list(st.Resource) })),
  );
}

/** The parts of IAM's denial message; absent parts are undefined. */
export function parseDenial(message: string): { principal?: string; action?: string; resource?: string } {
  const principal = /User: (\S+) is not authorized/.exec(message)?.[1];
  const action = /not authorized to perform: ([\w-]+:[\w*]+)/.exec(message)?.[1];
  const resource = / on resource: (\S+?)(?: because|$)/.exec(message)?.[1];
  return {
    ...(principal ? { principal } : {}),
    ...(action ? { action } : {}),
    ...(resource ? { resource } : {}),
  };
}

/** The IAM service prefix of each SDK client this package builds, by the client's name. */
export const IAM_PREFIX: Readonly<Record<string, string>> = {
  CodePipelineClient: 'codepipeline',
  CodeDeployClient: 'codedeploy',
  ElasticLoadBalancingV2Client: 'elasticloadbalancing',
  AutoScalingClient: 'autoscaling',
  CodeCommitClient: 'codecommit',
  CodeBuildClient: 'codebuild',
  CloudWatchLogsClient: 'logs',
  CloudFormationClient: 'cloudformation',
  S3Client: 's3',
  EventBridgeClient: 'events',
  SQSClient: 'sqs',
};

/**
 * The IAM action of an SDK call, from the client's and the command's names (what the SDK's middleware context
 * holds): `CodeDeployClient` + `StopDeploymentCommand` → `codedeploy:StopDeployment`.
 *
 * @example
 * iamAction('SQSClient', 'ReceiveMessageCommand'); // 'sqs:ReceiveMessage'
 */
export function iamAction(clientName: string | undefined, commandName: string | undefined): string {
  const prefix = IAM_PREFIX[clientName ?? ''] ?? clientName ?? '?';
  return `${prefix}:${(commandName ?? '?').replace(/Command$/, '')}`;
}

/** The call that was refused, as the SDK names it. */
export interface RefusedCall {
  /** The SDK client's name (`CodeDeployClient`). */
  readonly clientName?: string;
  /** The SDK command's name (`StopDeploymentCommand`). */
  readonly commandName?: string;
  /** The run's stack mode: which shipped policy is the caller's. @default every caller policy */
  readonly stack?: 'ephemeral' | 'existing';
}

/**
 * An `AccessDeniedError` for a refused call that says what to do: the action, the resource, and the shipped
 * policy statement that allows it (or the statement to add when none does).
 *
 * @example
 * ```ts
 * throw explainAccessDenied(error, { clientName: 'CodeDeployClient', commandName: 'StopDeploymentCommand' });
 * // AWS denied codedeploy:StopDeployment on arn:aws:codedeploy:…: the shipped policy
 * // iam/existing-stack-policy.json allows it in statement "FollowAndStopOurDeployments" …
 * ```
 */
export function explainAccessDenied(error: unknown, call: RefusedCall = {}): AccessDeniedError {
  const e = error as { name?: string; message?: string };
  const code = e.name ?? 'AccessDenied';
  const said = e.message ?? '';
  const parsed = parseDenial(said);
  const prefix = call.clientName ? IAM_PREFIX[call.clientName] : undefined;
  const operation = call.commandName?.replace(/Command$/, '');
  const action = parsed.action ?? (prefix && operation ? `${prefix}:${operation}` : undefined);
  const on = parsed.resource ? ` on ${parsed.resource}` : '';
  const statements = action ? statementsAllowing(action, call.stack) : [];
  let fix: string;
  if (!action) {
    fix = 'check the credentials and the IAM policy of the caller';
  } else if (statements.length > 0) {
    const where = statements.map((s) => `statement "${s.sid}" of ${s.file}`).join(', or ');
    fix =
      `the shipped policy allows it in ${where}: attach that policy to the identity the run uses, or add ` +
      `"${action}" on ${parsed.resource ?? statements[0]!.resources.join(', ')} to its own policy`;
  } else {
    fix =
      `no shipped policy allows it: add {"Effect": "Allow", "Action": "${action}", "Resource": ` +
      `"${parsed.resource ?? '*'}"} to the policy of the identity the run uses`;
  }
  const message = `AWS denied ${action ?? 'the call'}${on} (${code}); ${fix}${said ? `. AWS said: ${said}` : ''}`;
  return new AccessDeniedError(message, code, {
    cause: error,
    ...(action ? { action } : {}),
    ...(parsed.resource ? { resource: parsed.resource } : {}),
    statements,
  });
}

/** The smallest view of an SDK v3 client this module needs. */
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override: boolean },
    ): void;
  };
}

/** AWS's names for "no policy allows it" (never for expired or invalid credentials: those have their own fix). */
const DENIED = /^(AccessDenied|AccessDeniedException|UnauthorizedOperation|AuthorizationError)$/;

/**
 * Makes every denial a client answers an {@link AccessDeniedError} that says what to do (see
 * {@link explainAccessDenied}). Added outermost, so the SDK's retries run first (a denial is never retried).
 *
 * @example
 * ```ts
 * explainDenialsOf(new CodeDeployClient({}));
 * ```
 */
export function explainDenialsOf<C extends object>(client: C, stack?: 'ephemeral' | 'existing'): C {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (DENIED.test((error as { name?: string })?.name ?? ''))
          throw explainAccessDenied(error, {
            ...(context.clientName ? { clientName: context.clientName } : {}),
            ...(context.commandName ? { commandName: context.commandName } : {}),
            ...(stack ? { stack } : {}),
          });
        throw error;
      }
    },
    { step: 'initialize', name: 'harnessExplainAccessDenied', override: true },
  );
  return client;
}
