/**
 * A stack's events as they happen: DescribeStackEvents answers newest first, in pages (reference
 * aws-semantics-cfn-codebuild-logs.md §2.5); the tail reads until it meets an event it has already seen and hands
 * back only the new ones, oldest first, each once. Also: the failures an event list explains (root cause first).
 */
import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import type { ResourceFailure } from './errors.ts';

/** The reason CloudFormation gives the resources it stopped because another one failed: never the cause. */
const CANCELLED = /^Resource (creation|update) cancelled/;

/**
 * Follows one stack's events.
 *
 * @example
 * ```ts
 * const tail = new StackEventTail(cloudformation, stackId);
 * for (const event of await tail.next()) log(formatStackEvent(event));
 * ```
 */
export class StackEventTail {
  readonly #cloudformation: CloudFormationClient;
  readonly #stackId: string;
  readonly #seen = new Set<string>();
  /** Every event read so far, oldest first. */
  readonly events: StackEvent[] = [];

  /** @param stackId The stack's ARN (a deleted stack's events are readable by ARN only). */
  constructor(cloudformation: CloudFormationClient, stackId: string) {
    this.#cloudformation = cloudformation;
    this.#stackId = stackId;
  }

  /**
   * Marks the events the stack has now as seen without returning them: call before an operation on a stack
   * that has a history (a delete), so only the operation's own events are reported.
   */
  async skipExisting(signal?: AbortSignal): Promise<void> {
    await this.next(signal);
  }

  /** The events that appeared since the last call, oldest first. */
  async next(signal?: AbortSignal): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    do {
      const out = await this.#cloudformation.send(
        new DescribeStackEventsCommand({ StackName: this.#stackId, NextToken: token }),
        signal ? { abortSignal: signal } : {},
      );
      let metSeen = false;
      for (const event of out.StackEvents ?? []) {
        const id = eventId(event);
        if (this.#seen.has(id)) metSeen = true;
        else fresh.push(event);
      }
      // Newest first: a page holding an event already seen reaches back into what was read before.
      token = metSeen ? undefined : out.NextToken;
    } while (token);
    fresh.reverse();
    for (const event of fresh) {
      this.#seen.add(eventId(event));
      this.events.push(event);
    }
    return fresh;
  }
}

function eventId(event: StackEvent): string {
  return (
    event.EventId ??
    `${event.LogicalResourceId}-${event.ResourceStatus}-${event.Timestamp?.toISOString() ?? ''}`
  );
}

/**
 * One line per event, e.g.
 * `12:01:07 AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) CREATE_FAILED: Received 0 SUCCESS signal(s)…`.
 */
export function formatStackEvent(event: StackEvent): string {
  const at = event.Timestamp ? event.Timestamp.toISOString().slice(11, 19) : '--:--:--';
  const reason = event.ResourceStatusReason ? `: ${event.ResourceStatusReason}` : '';
  return `${at} ${event.LogicalResourceId ?? '?'} (${event.ResourceType ?? '?'}) ${event.ResourceStatus ?? '?'}${reason}`;
}

function isStackEvent(event: StackEvent): boolean {
  return event.ResourceType === 'AWS::CloudFormation::Stack' && event.PhysicalResourceId === event.StackId;
}

function toFailure(event: StackEvent): ResourceFailure {
  return {
    logicalId: event.LogicalResourceId ?? '?',
    type: event.ResourceType ?? '?',
    status: event.ResourceStatus ?? '?',
    reason: event.ResourceStatusReason ?? '(no reason given)',
    physicalId: event.PhysicalResourceId || undefined,
  };
}

/**
 * The resources whose create (or update) failed, oldest first, without those CloudFormation only cancelled:
 * the first is the root cause (reference §2.5, "Harness tip").
 */
export function createFailures(events: readonly StackEvent[]): ResourceFailure[] {
  return events
    .filter(
      (e) =>
        !isStackEvent(e) &&
        /^(CREATE|UPDATE)_FAILED$/.test(e.ResourceStatus ?? '') &&
        !CANCELLED.test(e.ResourceStatusReason ?? ''),
    )
    .map(toFailure);
}

/**
 * The resources a delete left behind, by their latest event: `DELETE_FAILED` ones, and with `retained` the
 * `DELETE_SKIPPED` ones (`DeletionPolicy: Retain`, or `RetainResources`), which the stack's delete keeps in the
 * account although the stack itself reaches `DELETE_COMPLETE`.
 */
export function deleteLeftovers(events: readonly StackEvent[]): {
  failed: ResourceFailure[];
  retained: ResourceFailure[];
} {
  const latest = new Map<string, StackEvent>();
  for (const e of events) if (!isStackEvent(e)) latest.set(e.LogicalResourceId ?? '?', e);
  const all = [...latest.values()];
  return {
    failed: all.filter((e) => e.ResourceStatus === 'DELETE_FAILED').map(toFailure),
    retained: all.filter((e) => e.ResourceStatus === 'DELETE_SKIPPED').map(toFailure),
  };
}

/** `AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup): <reason>` */
export function formatFailure(failure: ResourceFailure): string {
  return `${failure.logicalId} (${failure.type}): ${failure.reason}`;
}
