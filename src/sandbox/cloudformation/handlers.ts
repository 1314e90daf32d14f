/**
 * CloudFormation API handlers (2010-05-15 subset): CreateStack, DescribeStacks, ListStacks, DescribeStackEvents,
 * DescribeStackResources, DescribeStackResource, ListStackResources, DeleteStack, GetTemplate, ValidateTemplate.
 * Wording of every error: reference §2.3, §2.4, §3.7.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, RequestContext } from '../types.ts';
import type { StackEngine } from './engine.ts';
import type { ParameterInput } from './parameters.ts';
import { checkTemplate, prepareStack, requiredCapabilities } from './prepare.ts';
import type { ResourceProvider, Tag } from './providers/types.ts';
import type { ResourceRecord, StackRecord, StackStore } from './store.ts';
import { parseTemplate } from './template.ts';

export interface HandlerDeps {
  readonly store: StackStore;
  readonly engine: StackEngine;
  readonly providers: ReadonlyMap<string, ResourceProvider>;
}

const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]*$/;
const PAGE = 100;

function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

function templateBody(input: { TemplateBody?: string; TemplateURL?: string }): string {
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

export function createHandlers(deps: HandlerDeps): Record<string, Handler> {
  const { store, engine, providers } = deps;

  /** For DescribeStackEvents / DescribeStackResources: each call has its own "does not exist" (reference §2.3). */
  const stackOr = (name: string | undefined, missing: (n: string) => string): StackRecord => {
    const s = name === undefined ? undefined : store.find(name);
    if (!s) throw validation(missing(name ?? ''));
    return s;
  };

  const CreateStack: Handler = (
    input: {
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
    },
    ctx: RequestContext,
  ) => {
    const name = input.StackName;
    if (!STACK_NAME.test(name) || name.length > 128) {
      throw validation(
        `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
      );
    }
    if (input.OnFailure !== undefined && input.DisableRollback !== undefined) {
      throw validation('You may only specify one of OnFailure and DisableRollback, not both.');
    }
    if (input.EnableTerminationProtection) {
      throw validation(
        'EnableTerminationProtection: the sandbox does not emulate termination protection; create the stack without it',
      );
    }
    const body = templateBody(input);
    const existing = store.find(name);
    if (existing) {
      // An identical retry with the same token answers the same stack id (idempotency).
      if (input.ClientRequestToken && existing.clientRequestToken === input.ClientRequestToken) {
        return { StackId: existing.stackId };
      }
      throw new ServiceError('AlreadyExistsException', `Stack [${name}] already exists`);
    }
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
    const stack: StackRecord = {
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
      status: 'CREATE_IN_PROGRESS',
      resources: new Map(),
      events: [],
      lastEventTime: 0,
      imports: new Set(),
    };
    store.stacks.push(stack);
    engine.startCreate(stack);
    return { StackId: stackId };
  };

  const DescribeStacks: Handler = (input: { StackName?: string; NextToken?: string }) => {
    if (input.StackName !== undefined) {
      const s = store.find(input.StackName);
      if (!s) throw validation(`Stack with id ${input.StackName} does not exist`);
      return { Stacks: [stackView(s)] };
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
    LogicalResourceId: r.logicalId,
    ...(r.physicalId !== undefined ? { PhysicalResourceId: r.physicalId } : {}),
    ResourceType: r.type,
    Timestamp: r.timestamp,
    ResourceStatus: r.status,
    ...(r.statusReason !== undefined ? { ResourceStatusReason: r.statusReason } : {}),
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
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
    const { Timestamp, ...rest } = resourceView(s)(r);
    return {
      StackResourceDetail: {
        ...rest,
        LastUpdatedTimestamp: Timestamp,
        Metadata: JSON.stringify(s.plan.resources.get(r.logicalId)?.Metadata ?? {}),
      },
    };
  };

  const ListStackResources: Handler = (input: { StackName: string; NextToken?: string }) => {
    const s = stackOr(input.StackName, (n) => `Stack with id ${n} does not exist`);
    const p = page([...s.resources.values()], input.NextToken);
    return {
      StackResourceSummaries: p.items.map((r) => ({
        LogicalResourceId: r.logicalId,
        ...(r.physicalId !== undefined ? { PhysicalResourceId: r.physicalId } : {}),
        ResourceType: r.type,
        LastUpdatedTimestamp: r.timestamp,
        ResourceStatus: r.status,
        ...(r.statusReason !== undefined ? { ResourceStatusReason: r.statusReason } : {}),
        DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
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
    const s = store.find(input.StackName);
    if (!s) throw validation(`Stack with id ${input.StackName} does not exist`);
    return { TemplateBody: s.templateBody, StagesAvailable: ['Original', 'Processed'] };
  };

  const ValidateTemplate: Handler = (input: { TemplateBody?: string; TemplateURL?: string }) => {
    const template = parseTemplate(templateBody(input));
    checkTemplate(template, providers);
    const needed = requiredCapabilities(template);
    return {
      Parameters: Object.entries(template.Parameters ?? {}).map(([key, p]) => ({
        ParameterKey: key,
        ...(p.Default !== undefined
          ? { DefaultValue: Array.isArray(p.Default) ? p.Default.join(',') : String(p.Default) }
          : {}),
        NoEcho: p.NoEcho === true || p.NoEcho === 'true',
        ...(p.Description !== undefined ? { Description: String(p.Description) } : {}),
      })),
      ...(template.Description !== undefined ? { Description: String(template.Description) } : {}),
      ...(needed.capability
        ? {
            Capabilities: [needed.capability],
            CapabilitiesReason: `The following resource(s) require capabilities: [${needed.types.join(', ')}]`,
          }
        : { Capabilities: [] }),
      DeclaredTransforms: [],
    };
  };

  return {
    CreateStack,
    DescribeStacks,
    ListStacks,
    DescribeStackEvents,
    DescribeStackResources,
    DescribeStackResource,
    ListStackResources,
    DeleteStack,
    GetTemplate,
    ValidateTemplate,
  };
}
