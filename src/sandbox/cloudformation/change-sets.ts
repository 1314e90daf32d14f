/**
 * Change sets that create a stack (`ChangeSetType: CREATE`), which is what `aws cloudformation deploy` does for a
 * new stack: CreateChangeSet puts the stack in `REVIEW_IN_PROGRESS` with every resource an `Add`, ExecuteChangeSet
 * creates it as CreateStack would. The sandbox makes no stack updates, so an `UPDATE` change set is refused with
 * what to do instead.
 *
 * @example
 * // aws cloudformation deploy --template-file sample-app/infra/capstone.yaml --stack-name cph-r1 \
 * //   --capabilities CAPABILITY_NAMED_IAM --parameter-overrides RunId=r1
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, RequestContext } from '../types.ts';
import type { StackEngine } from './engine.ts';
import { type NewStackInput, newStack } from './new-stack.ts';
import type { ResourceProvider } from './providers/types.ts';
import type { ChangeSetRecord, StackRecord, StackStore } from './store.ts';

export interface ChangeSetDeps {
  readonly store: StackStore;
  readonly engine: StackEngine;
  readonly providers: ReadonlyMap<string, ResourceProvider>;
}

function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

/** What ExecuteChangeSet may do with it, from its stack's status. */
function executionStatus(cs: ChangeSetRecord): string {
  if (cs.failure !== undefined) return 'UNAVAILABLE';
  if (!cs.executed) return cs.stack.status === 'REVIEW_IN_PROGRESS' ? 'AVAILABLE' : 'OBSOLETE';
  const status = cs.stack.status;
  if (status === 'CREATE_IN_PROGRESS' || status === 'ROLLBACK_IN_PROGRESS') return 'EXECUTE_IN_PROGRESS';
  return status === 'CREATE_COMPLETE' ? 'EXECUTE_COMPLETE' : 'EXECUTE_FAILED';
}

function changeSetArn(ctx: RequestContext, name: string): string {
  return `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:changeSet/${name}/${randomUUID()}`;
}

/**
 * Whether an update would change nothing: the same template, every parameter as it is (`UsePreviousValue`, the same
 * value, or left out while the stack has the default), and no new tags.
 */
function unchanged(stack: StackRecord, input: NewStackInput): boolean {
  if (input.TemplateBody === undefined || input.TemplateBody !== stack.templateBody) return false;
  const given = new Map((input.Parameters ?? []).map((p) => [p.ParameterKey, p]));
  for (const view of stack.parameters) {
    const p = given.get(view.ParameterKey);
    given.delete(view.ParameterKey);
    if (p?.UsePreviousValue) continue;
    const declared = stack.plan.template.Parameters?.[view.ParameterKey];
    const value =
      p?.ParameterValue ?? (declared?.Default === undefined ? undefined : String(declared.Default));
    if (value !== view.ParameterValue) return false;
  }
  if (given.size > 0) return false;
  const tags = input.Tags ?? [];
  return (
    tags.length === 0 ||
    (tags.length === stack.tags.length &&
      tags.every((t) => stack.tags.some((s) => s.Key === t.Key && s.Value === t.Value)))
  );
}

export function changeSetHandlers(deps: ChangeSetDeps): Record<string, Handler> {
  const { store, engine, providers } = deps;

  const find = (nameOrId: string, stackName?: string): ChangeSetRecord => {
    const cs = nameOrId.startsWith('arn:')
      ? store.changeSets.find((c) => c.id === nameOrId)
      : stackName === undefined
        ? undefined
        : store.changeSets.find(
            (c) =>
              c.name === nameOrId &&
              (c.stack.stackName === stackName || c.stack.stackId === stackName) &&
              c.stack.status !== 'DELETE_COMPLETE',
          );
    if (!cs) {
      if (!nameOrId.startsWith('arn:') && stackName === undefined) {
        throw validation('StackName must be specified if ChangeSetName is not specified as an ARN.');
      }
      throw new ServiceError('ChangeSetNotFound', `ChangeSet [${nameOrId}] does not exist`, { status: 404 });
    }
    return cs;
  };

  const CreateChangeSet: Handler = (
    input: NewStackInput & { ChangeSetName: string; ChangeSetType?: string; Description?: string },
    ctx: RequestContext,
  ) => {
    const type = input.ChangeSetType ?? 'UPDATE';
    const existing = store.find(input.StackName);
    if (type !== 'CREATE') {
      if (!existing) throw validation(`Stack [${input.StackName}] does not exist`);
      // The sandbox makes no updates; a re-deploy that changes nothing is what AWS calls an empty change set.
      if (!unchanged(existing, input)) {
        throw validation(
          `ChangeSetType ${type}: the sandbox's CloudFormation creates stacks and makes no updates; delete stack [${input.StackName}] and create it again`,
        );
      }
      const cs: ChangeSetRecord = {
        id: changeSetArn(ctx, input.ChangeSetName),
        name: input.ChangeSetName,
        stack: existing,
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        creationTime: new Date(),
        executed: false,
        failure:
          "The submitted information didn't contain changes. Submit different information to create a change set.",
      };
      store.changeSets.push(cs);
      return { Id: cs.id, StackId: existing.stackId };
    }
    if (existing) {
      throw new ServiceError(
        'AlreadyExistsException',
        `Stack [${input.StackName}] already exists and cannot be created again with the changeSet [${input.ChangeSetName}].`,
      );
    }
    const stack = newStack(store, providers, input, ctx, 'REVIEW_IN_PROGRESS');
    stack.statusReason = 'User Initiated';
    store.stacks.push(stack);
    store.event(stack, {
      LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId,
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'REVIEW_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
    });
    const cs: ChangeSetRecord = {
      id: changeSetArn(ctx, input.ChangeSetName),
      name: input.ChangeSetName,
      stack,
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      creationTime: new Date(),
      executed: false,
    };
    store.changeSets.push(cs);
    return { Id: cs.id, StackId: stack.stackId };
  };

  const summary = (cs: ChangeSetRecord) => ({
    StackId: cs.stack.stackId,
    StackName: cs.stack.stackName,
    ChangeSetId: cs.id,
    ChangeSetName: cs.name,
    ExecutionStatus: executionStatus(cs),
    Status: cs.failure === undefined ? 'CREATE_COMPLETE' : 'FAILED',
    ...(cs.failure !== undefined ? { StatusReason: cs.failure } : {}),
    CreationTime: cs.creationTime,
    ...(cs.description !== undefined ? { Description: cs.description } : {}),
  });

  const DescribeChangeSet: Handler = (input: { ChangeSetName: string; StackName?: string }) => {
    const cs = find(input.ChangeSetName, input.StackName);
    const { stack } = cs;
    return {
      ...summary(cs),
      Parameters: stack.parameters,
      NotificationARNs: stack.notificationArns,
      RollbackConfiguration: {},
      Capabilities: stack.capabilities,
      Tags: stack.tags,
      // A new stack: every resource of the plan is an Add; an empty update: nothing.
      Changes: (cs.failure === undefined ? stack.plan.order : []).map((id) => ({
        Type: 'Resource',
        ResourceChange: {
          Action: 'Add',
          LogicalResourceId: id,
          ResourceType: stack.plan.resources.get(id)?.Type,
          Scope: [],
          Details: [],
        },
      })),
      IncludeNestedStacks: false,
    };
  };

  const ExecuteChangeSet: Handler = (input: {
    ChangeSetName: string;
    StackName?: string;
    DisableRollback?: boolean;
    ClientRequestToken?: string;
  }) => {
    const cs = find(input.ChangeSetName, input.StackName);
    const status = executionStatus(cs);
    if (status !== 'AVAILABLE') {
      throw new ServiceError(
        'InvalidChangeSetStatus',
        `ChangeSet [${cs.id}] cannot be executed in its current execution status of [${status}]`,
      );
    }
    cs.executed = true;
    const { stack } = cs;
    if (input.DisableRollback !== undefined) stack.disableRollback = input.DisableRollback;
    if (input.ClientRequestToken !== undefined) stack.clientRequestToken = input.ClientRequestToken;
    stack.status = 'CREATE_IN_PROGRESS';
    engine.startCreate(stack);
    return {};
  };

  const DeleteChangeSet: Handler = (input: { ChangeSetName: string; StackName?: string }) => {
    const cs = find(input.ChangeSetName, input.StackName);
    if (executionStatus(cs) === 'EXECUTE_IN_PROGRESS') {
      throw new ServiceError(
        'InvalidChangeSetStatus',
        `Cannot delete ChangeSet in status EXECUTE_IN_PROGRESS: ${cs.id}`,
      );
    }
    store.changeSets.splice(store.changeSets.indexOf(cs), 1);
    return {};
  };

  const ListChangeSets: Handler = (input: { StackName: string }) => {
    const stack = store.find(input.StackName);
    if (!stack) throw validation(`Stack [${input.StackName}] does not exist`);
    return { Summaries: store.changeSets.filter((c) => c.stack === stack).map(summary) };
  };

  return { CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet, ListChangeSets };
}
