/**
 * CloudFormation state: stacks (deleted ones too, readable by stack id as on AWS, reference §2.2.3), their
 * resources and their events. Records keep the wire member names where they are shown as-is.
 */
import { randomUUID } from 'node:crypto';
import type { ParameterView } from './parameters.ts';
import type { StackPlan } from './prepare.ts';
import type { Tag } from './providers/types.ts';

export type StackStatus =
  | 'REVIEW_IN_PROGRESS'
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_COMPLETE'
  | 'CREATE_FAILED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_COMPLETE'
  | 'ROLLBACK_FAILED'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_COMPLETE'
  | 'DELETE_FAILED';

export type ResourceStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_COMPLETE'
  | 'CREATE_FAILED'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_COMPLETE'
  | 'DELETE_FAILED'
  | 'DELETE_SKIPPED';

export interface ResourceRecord {
  readonly logicalId: string;
  readonly type: string;
  status: ResourceStatus;
  statusReason?: string;
  physicalId?: string;
  /** Resolved properties, once the create started. */
  properties?: Record<string, unknown>;
  attributes: Record<string, unknown>;
  timestamp: Date;
}

/** One event, with the members DescribeStackEvents returns. */
export interface StackEventRecord {
  StackId: string;
  EventId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType: string;
  Timestamp: Date;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  ResourceProperties?: string;
  ClientRequestToken?: string;
}

export interface OutputView {
  OutputKey: string;
  OutputValue: string;
  Description?: string;
  ExportName?: string;
}

export interface StackRecord {
  readonly stackId: string;
  readonly stackName: string;
  readonly templateBody: string;
  readonly plan: StackPlan;
  readonly parameters: ParameterView[];
  readonly tags: Tag[];
  readonly capabilities: string[];
  readonly notificationArns: string[];
  disableRollback: boolean;
  readonly onFailure: 'ROLLBACK' | 'DO_NOTHING' | 'DELETE';
  readonly timeoutInMinutes?: number;
  readonly roleArn?: string;
  readonly creationTime: Date;
  deletionTime?: Date;
  status: StackStatus;
  statusReason?: string;
  /** The token of the operation under way; events carry it (reference §2.5). */
  clientRequestToken?: string;
  readonly resources: Map<string, ResourceRecord>;
  /** Oldest first. */
  readonly events: StackEventRecord[];
  outputs?: OutputView[];
  /** The create or delete under way. */
  operation?: Promise<void>;
  /** A DeleteStack that came while the create ran: runs once it settles (reference §2.2.4). */
  deleteRequested?: { retain: Set<string>; token?: string };
  lastEventTime: number;
  /** Export names this stack's `Fn::ImportValue`s read: their exporters cannot be deleted meanwhile. */
  readonly imports: Set<string>;
}

/** A change set that creates its stack (the sandbox makes no updates). */
export interface ChangeSetRecord {
  readonly id: string;
  readonly name: string;
  readonly stack: StackRecord;
  readonly description?: string;
  readonly creationTime: Date;
  /** Set once ExecuteChangeSet ran it. */
  executed: boolean;
  /** Why the change set is FAILED (an update that changes nothing), else undefined. */
  readonly failure?: string;
}

/** Stacks of one sandbox. */
export class StackStore {
  readonly stacks: StackRecord[] = [];
  readonly changeSets: ChangeSetRecord[] = [];

  /** The live (not DELETE_COMPLETE) stack of that name, or the stack of that id (deleted ones too). */
  find(nameOrId: string): StackRecord | undefined {
    if (nameOrId.startsWith('arn:')) return this.stacks.find((s) => s.stackId === nameOrId);
    return this.stacks.find((s) => s.stackName === nameOrId && s.status !== 'DELETE_COMPLETE');
  }

  live(): StackRecord[] {
    return this.stacks.filter((s) => s.status !== 'DELETE_COMPLETE');
  }

  /** Appends an event, stamping a strictly increasing time so newest-first order is stable (reference §2.6). */
  event(
    stack: StackRecord,
    e: Omit<StackEventRecord, 'StackId' | 'StackName' | 'EventId' | 'Timestamp' | 'ClientRequestToken'>,
  ): StackEventRecord {
    const now = Math.max(Date.now(), stack.lastEventTime + 1);
    stack.lastEventTime = now;
    const time = new Date(now);
    const isStack = e.ResourceType === 'AWS::CloudFormation::Stack';
    const record: StackEventRecord = {
      StackId: stack.stackId,
      // Stack events: a UUID; resource events: <LogicalId>-<STATUS>-<ISO time> (reference §2.1).
      EventId: isStack ? randomUUID() : `${e.LogicalResourceId}-${e.ResourceStatus}-${time.toISOString()}`,
      StackName: stack.stackName,
      Timestamp: time,
      ...Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)),
      ...(stack.clientRequestToken ? { ClientRequestToken: stack.clientRequestToken } : {}),
    } as StackEventRecord;
    stack.events.push(record);
    return record;
  }

  clear(): void {
    this.stacks.length = 0;
    this.changeSets.length = 0;
  }
}
