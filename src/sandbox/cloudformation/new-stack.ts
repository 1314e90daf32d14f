/**
 * A new stack record from a CreateStack (or a CREATE change set): the name, template and tag checks CloudFormation
 * makes synchronously, then the plan (`prepareStack`). Nothing is stored here; the caller adds the record.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../protocol/errors.ts';
import type { RequestContext } from '../types.ts';
import type { ParameterInput } from './parameters.ts';
import { prepareStack } from './prepare.ts';
import type { ResourceProvider, Tag } from './providers/types.ts';
import type { StackRecord, StackStatus, StackStore } from './store.ts';

/** What CreateStack and CreateChangeSet share. */
export interface NewStackInput {
  StackName: string;
  TemplateBody?: string;
  TemplateURL?: string;
  Parameters?: ParameterInput[];
  DisableRollback?: boolean;
  OnFailure?: 'ROLLBACK' | 'DO_NOTHING' | 'DELETE';
  Capabilities?: string[];
  Tags?: Tag[];
  NotificationARNs?: string[];
  TimeoutInMinutes?: number;
  RoleARN?: string;
  ClientRequestToken?: string;
  EnableTerminationProtection?: boolean;
}

const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]*$/;

function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

/** The template of a call: TemplateBody only (the sandbox has no way to read an S3 URL of AWS). */
export function templateBody(input: { TemplateBody?: string; TemplateURL?: string }): string {
  if (input.TemplateBody !== undefined && input.TemplateURL !== undefined) {
    throw validation('Exactly one of TemplateBody or TemplateUrl must be specified.');
  }
  if (input.TemplateURL !== undefined) {
    throw validation(
      `TemplateURL ${input.TemplateURL}: the sandbox reads templates from TemplateBody only (aws cloudformation create-stack --template-body file://template.yaml)`,
    );
  }
  if (input.TemplateBody === undefined)
    throw validation('Either Template URL or Template Body must be specified.');
  return input.TemplateBody;
}

/**
 * Checks a new stack's input and plans it; throws what CreateStack answers (`ValidationError`,
 * `AlreadyExistsException`, `InsufficientCapabilitiesException`).
 */
export function newStack(
  store: StackStore,
  providers: ReadonlyMap<string, ResourceProvider>,
  input: NewStackInput,
  ctx: RequestContext,
  status: StackStatus,
): StackRecord {
  const name = input.StackName;
  if (!STACK_NAME.test(name) || name.length > 128) {
    throw validation(
      `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
    );
  }
  if (input.EnableTerminationProtection) {
    throw validation(
      'EnableTerminationProtection: the sandbox does not emulate termination protection; create the stack without it',
    );
  }
  const body = templateBody(input);
  if (store.find(name)) throw new ServiceError('AlreadyExistsException', `Stack [${name}] already exists`);
  const tags = input.Tags ?? [];
  if (tags.length > 50) throw validation(`Tags: at most 50 tags per stack (got ${tags.length})`);
  for (const t of tags) {
    if (t.Key.toLowerCase().startsWith('aws:')) {
      throw validation(`Tag key '${t.Key}' uses the reserved prefix 'aws:'; choose another key`);
    }
  }
  const stackId = `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${name}/${randomUUID()}`;
  const plan = prepareStack(
    {
      body,
      parameters: input.Parameters ?? [],
      capabilities: input.Capabilities ?? [],
      stack: {
        name,
        id: stackId,
        region: ctx.region,
        accountId: ctx.accountId,
        notificationArns: input.NotificationARNs ?? [],
      },
    },
    providers,
  );
  return {
    stackId,
    stackName: name,
    templateBody: body,
    plan,
    parameters: plan.parameters,
    tags: tags.map((t) => ({ Key: t.Key, Value: t.Value ?? '' })),
    capabilities: plan.capabilities,
    notificationArns: input.NotificationARNs ?? [],
    disableRollback: input.DisableRollback ?? false,
    onFailure: input.OnFailure ?? 'ROLLBACK',
    ...(input.TimeoutInMinutes !== undefined ? { timeoutInMinutes: input.TimeoutInMinutes } : {}),
    ...(input.RoleARN !== undefined ? { roleArn: input.RoleARN } : {}),
    ...(input.ClientRequestToken !== undefined ? { clientRequestToken: input.ClientRequestToken } : {}),
    creationTime: new Date(),
    status,
    resources: new Map(),
    events: [],
    lastEventTime: 0,
    imports: new Set(),
  };
}
