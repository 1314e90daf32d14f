/**
 * CloudFormation API handlers (2010-05-15 subset): CreateStack, DescribeStacks, ListStacks, DescribeStackEvents,
 * DescribeStackResources, DescribeStackResource, ListStackResources, DeleteStack, GetTemplate, GetTemplateSummary,
 * ValidateTemplate,
 * and the change sets that create a stack (`change-sets.ts`).
 * Wording of every error: reference §2.3, §2.4, §3.7.
 */
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, RequestContext } from '../types.ts';
import { changeSetHandlers } from './change-sets.ts';
import type { StackEngine } from './engine.ts';
import { type NewStackInput, newStack, templateBody } from './new-stack.ts';
import { checkTemplate, requiredCapabilities } from './prepare.ts';
import type { ResourceProvider } from './providers/types.ts';
import type { ResourceRecord, StackRecord, StackStore } from './store.ts';
import { type ParameterDeclaration, parseTemplate, type Template } from './template.ts';

export interface HandlerDeps {
  readonly store: StackStore;
  readonly engine: StackEngine;
  readonly providers: ReadonlyMap<string, ResourceProvider>;
}

const PAGE = 100;

function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

function page<T>(items: readonly T[], token: string | undefined): { items: T[]; next?: string } {
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw validation(`Invalid NextToken '${token}': pass the NextToken of the previous page unchanged`);
  }
  const slice = items.slice(start, start + PAGE);
  const next =
    start + PAGE < items.length ? Buffer.from(String(start + PAGE)).toString('base64url') : undefined;
  return { items: slice, ...(next ? { next } : {}) };
}

const IN_PROGRESS = /_IN_PROGRESS$/;

function stackView(s: StackRecord): Record<string, unknown> {
  return {
    StackId: s.stackId,
    StackName: s.stackName,
    ...(s.plan.template.Description !== undefined
      ? { Description: String(s.plan.template.Description) }
      : {}),
    Parameters: s.parameters,
    CreationTime: s.creationTime,
    ...(s.deletionTime ? { DeletionTime: s.deletionTime } : {}),
    RollbackConfiguration: {},
    StackStatus: s.status,
    ...(s.statusReason !== undefined ? { StackStatusReason: s.statusReason } : {}),
    DisableRollback: s.disableRollback,
    NotificationARNs: s.notificationArns,
    ...(s.timeoutInMinutes !== undefined ? { TimeoutInMinutes: s.timeoutInMinutes } : {}),
    Capabilities: s.capabilities,
    // No Outputs while the stack is in any *_IN_PROGRESS status (reference §2.3).
    ...(s.outputs && !IN_PROGRESS.test(s.status) ? { Outputs: s.outputs } : {}),
    ...(s.roleArn ? { RoleARN: s.roleArn } : {}),
    Tags: s.tags,
    EnableTerminationProtection: false,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  };
}

/**
 * What every view of a resource says (StackResource, StackResourceDetail, StackResourceSummary); the encoder
 * writes the members in the model's order, whatever the order here.
 */
function resourceState(r: ResourceRecord): Record<string, unknown> {
  return {
    LogicalResourceId: r.logicalId,
    ...(r.physicalId !== undefined ? { PhysicalResourceId: r.physicalId } : {}),
    ResourceType: r.type,
    ResourceStatus: r.status,
    ...(r.statusReason !== undefined ? { ResourceStatusReason: r.statusReason } : {}),
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
  };
}

/** A parameter as ValidateTemplate (TemplateParameter) and GetTemplateSummary (ParameterDeclaration) give it. */
function parameterView(key: string, p: ParameterDeclaration): Record<string, unknown> {
  return {
    ParameterKey: key,
    ...(p.Default !== undefined
      ? { DefaultValue: Array.isArray(p.Default) ? p.Default.join(',') : String(p.Default) }
      : {}),
    NoEcho: p.NoEcho === true || p.NoEcho === 'true',
    ...(p.Description !== undefined ? { Description: String(p.Description) } : {}),
  };
}

/** The template checked as CreateStack checks it, and the capability its IAM resources need, with AWS's reason. */
function inspectTemplate(
  body: string,
  providers: ReadonlyMap<string, ResourceProvider>,
): { template: Template; capabilities?: { Capabilities: string[]; CapabilitiesReason: string } } {
  const template = parseTemplate(body);
  checkTemplate(template, providers);
  const needed = requiredCapabilities(template);
  if (!needed.capability) return { template };
  return {
    template,
    capabilities: {
      Capabilities: [needed.capability],
      CapabilitiesReason: `The following resource(s) require capabilities: [${needed.types.join(', ')}]`,
    },
  };
}

export function createHandlers(deps: HandlerDeps): Record<string, Handler> {
  const { store, engine, providers } = deps;

  /** The stack named (or by id), or the call's own "does not exist" error (each call has its own, reference §2.3). */
  const stackOr = (name: string | undefined, missing: (n: string) => string): StackRecord => {
    const s = name === undefined ? undefined : store.find(name);
    if (!s) throw validation(missing(name ?? ''));
    return s;
  };

  const CreateStack: Handler = (input: NewStackInput, ctx: RequestContext) => {
    if (input.OnFailure !== undefined && input.DisableRollback !== undefined) {
      throw validation('You may only specify one of OnFailure and DisableRollback, not both.');
    }
    const existing = store.find(input.StackName);
    // An identical retry with the same token answers the same stack id (idempotency).
    if (existing && input.ClientRequestToken && existing.clientRequestToken === input.ClientRequestToken) {
      return { StackId: existing.stackId };
    }
    const stack = newStack(store, providers, input, ctx, 'CREATE_IN_PROGRESS');
    store.stacks.push(stack);
    engine.startCreate(stack);
    return { StackId: stack.stackId };
  };

  const DescribeStacks: Handler = (input: { StackName?: string; NextToken?: string }) => {
    if (input.StackName !== undefined) {
      return { Stacks: [stackView(stackOr(input.StackName, (n) => `Stack with id ${n} does not exist`))] };
    }
    const p = page(store.live().reverse(), input.NextToken);
    return { Stacks: p.items.map(stackView), ...(p.next ? { NextToken: p.next } : {}) };
  };

  const ListStacks: Handler = (input: { StackStatusFilter?: string[]; NextToken?: string }) => {
    const filter = input.StackStatusFilter ?? [];
    const stacks = [...store.stacks]
      .reverse()
      .filter((s) => filter.length === 0 || filter.includes(s.status));
    const p = page(stacks, input.NextToken);
    return {
      StackSummaries: p.items.map((s) => ({
        StackId: s.stackId,
        StackName: s.stackName,
        ...(s.plan.template.Description !== undefined
          ? { TemplateDescription: String(s.plan.template.Description) }
          : {}),
        CreationTime: s.creationTime,
        ...(s.deletionTime ? { DeletionTime: s.deletionTime } : {}),
        StackStatus: s.status,
        ...(s.statusReason !== undefined ? { StackStatusReason: s.statusReason } : {}),
        DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
      })),
      ...(p.next ? { NextToken: p.next } : {}),
    };
  };

  const DescribeStackEvents: Handler = (input: { StackName?: string; NextToken?: string }) => {
    const s = stackOr(input.StackName, (n) => `Stack [${n}] does not exist`);
    // Newest first (reference §2.5).
    const p = page([...s.events].reverse(), input.NextToken);
    return { StackEvents: p.items, ...(p.next ? { NextToken: p.next } : {}) };
  };

  const resourceView = (s: StackRecord) => (r: ResourceRecord) => ({
    StackName: s.stackName,
    StackId: s.stackId,
    ...resourceState(r),
    Timestamp: r.timestamp,
  });

  const DescribeStackResources: Handler = (input: {
    StackName?: string;
    LogicalResourceId?: string;
    PhysicalResourceId?: string;
  }) => {
    let s: StackRecord | undefined;
    if (input.StackName !== undefined) {
      s = stackOr(input.StackName, (n) => `Stack '${n}' does not exist`);
    } else if (input.PhysicalResourceId !== undefined) {
      s = store
        .live()
        .find((st) => [...st.resources.values()].some((r) => r.physicalId === input.PhysicalResourceId));
      if (!s) throw validation(`Stack for ${input.PhysicalResourceId} does not exist`);
    } else {
      throw validation('Either StackName or PhysicalResourceId must be specified.');
    }
    const view = resourceView(s);
    // With PhysicalResourceId, the resources of the stack that holds it (API reference, DescribeStackResources).
    const resources = [...s.resources.values()].filter(
      (r) => input.LogicalResourceId === undefined || r.logicalId === input.LogicalResourceId,
    );
    return { StackResources: resources.map(view) };
  };

  const DescribeStackResource: Handler = (input: { StackName: string; LogicalResourceId: string }) => {
    const s = stackOr(input.StackName, (n) => `Stack '${n}' does not exist`);
    const r = s.resources.get(input.LogicalResourceId);
    if (!r)
      throw validation(`Resource ${input.LogicalResourceId} does not exist for stack ${input.StackName}`);
    return {
      StackResourceDetail: {
        StackName: s.stackName,
        StackId: s.stackId,
        ...resourceState(r),
        LastUpdatedTimestamp: r.timestamp,
        Metadata: JSON.stringify(s.plan.resources.get(r.logicalId)?.Metadata ?? {}),
      },
    };
  };

  const ListStackResources: Handler = (input: { StackName: string; NextToken?: string }) => {
    const s = stackOr(input.StackName, (n) => `Stack with id ${n} does not exist`);
    const p = page([...s.resources.values()], input.NextToken);
    return {
      StackResourceSummaries: p.items.map((r) => ({
        ...resourceState(r),
        LastUpdatedTimestamp: r.timestamp,
      })),
      ...(p.next ? { NextToken: p.next } : {}),
    };
  };

  const DeleteStack: Handler = (input: {
    StackName: string;
    RetainResources?: string[];
    ClientRequestToken?: string;
    DeletionMode?: string;
  }) => {
    const s = store.find(input.StackName);
    // A stack that does not exist deletes successfully (reference §2.2.3).
    if (!s || s.status === 'DELETE_COMPLETE') return {};
    const retain = new Set(input.RetainResources ?? []);
    const force = input.DeletionMode === 'FORCE_DELETE_STACK';
    if (s.status !== 'DELETE_FAILED') {
      if (force) {
        throw validation(
          `Invalid operation on stack [${s.stackId}]. You can activate DeletionMode FORCE_DELETE_STACK in a delete stack operation only when the stack is in the DELETE_FAILED state.`,
        );
      }
      if (retain.size > 0) {
        throw validation(
          `Invalid operation on stack [${s.stackId}]. RetainResources can be specified only when the stack is in the DELETE_FAILED state.`,
        );
      }
    } else {
      for (const id of retain) {
        const r = s.resources.get(id);
        if (!r)
          throw validation(
            `The specified resources to retain must be in a valid state. Resource ${id} does not exist in the stack.`,
          );
        if (r.status === 'DELETE_COMPLETE') {
          throw validation(
            'The specified resources to retain must be in a valid state. Do not specify resources that are in the DELETE_COMPLETE state.',
          );
        }
      }
      if (force)
        for (const r of s.resources.values()) if (r.status === 'DELETE_FAILED') retain.add(r.logicalId);
    }
    engine.requestDelete(s, retain, input.ClientRequestToken);
    return {};
  };

  const GetTemplate: Handler = (input: { StackName?: string; TemplateStage?: string }) => {
    if (input.StackName === undefined) throw validation('StackName or ChangeSetName must be specified.');
    const s = stackOr(input.StackName, (n) => `Stack with id ${n} does not exist`);
    return { TemplateBody: s.templateBody, StagesAvailable: ['Original', 'Processed'] };
  };

  const ValidateTemplate: Handler = (input: { TemplateBody?: string; TemplateURL?: string }) => {
    const { template, capabilities } = inspectTemplate(templateBody(input), providers);
    return {
      Parameters: Object.entries(template.Parameters ?? {}).map(([key, p]) => parameterView(key, p)),
      ...(template.Description !== undefined ? { Description: String(template.Description) } : {}),
      ...(capabilities ?? { Capabilities: [] }),
      DeclaredTransforms: [],
    };
  };

  const GetTemplateSummary: Handler = (input: {
    TemplateBody?: string;
    TemplateURL?: string;
    StackName?: string;
  }) => {
    const body =
      input.StackName !== undefined
        ? stackOr(input.StackName, (n) => `Stack with id ${n} does not exist`).templateBody
        : templateBody(input);
    const { template, capabilities } = inspectTemplate(body, providers);
    return {
      Parameters: Object.entries(template.Parameters ?? {}).map(([key, p]) => ({
        ...parameterView(key, p),
        ParameterType: p.Type,
        ParameterConstraints: p.AllowedValues ? { AllowedValues: p.AllowedValues.map(String) } : {},
      })),
      ...(template.Description !== undefined ? { Description: String(template.Description) } : {}),
      ...capabilities,
      ResourceTypes: [...new Set(Object.values(template.Resources).map((r) => r.Type))],
      Version: '2010-09-09',
      ...(template.Metadata !== undefined ? { Metadata: JSON.stringify(template.Metadata) } : {}),
      DeclaredTransforms: [],
    };
  };

  return {
    ...changeSetHandlers(deps),
    CreateStack,
    DescribeStacks,
    ListStacks,
    DescribeStackEvents,
    DescribeStackResources,
    DescribeStackResource,
    ListStackResources,
    DeleteStack,
    GetTemplate,
    GetTemplateSummary,
    ValidateTemplate,
  };
}
