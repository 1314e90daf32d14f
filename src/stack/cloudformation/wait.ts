/**
 * Waiting for a stack operation to settle, on `poll`: each round prints the stack's new events (oldest first,
 * once each) and reads its status by stack id. Statuses and what ends a wait follow the SDK waiters
 * `StackCreateComplete` / `StackDeleteComplete` (reference aws-semantics-cfn-codebuild-logs.md §2.2.5), except that
 * a failed create is followed through its rollback (so teardown can delete it), and a failure is explained by
 * its events: the first failed resource and its `ResourceStatusReason`.
 */
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { type IntervalOptions, StopPolling, poll } from '../../poll.ts';
import { StackOperationError } from './errors.ts';
import {
  createFailures,
  deleteLeftovers,
  formatFailure,
  formatStackEvent,
  StackEventTail,
} from './events.ts';

/** What one round saw. */
export interface StackObservation {
  status: string;
  reason?: string | undefined;
}

/** Options of {@link waitForStack}. */
export interface WaitForStackOptions {
  /** The stack's name, for messages. */
  stackName: string;
  /** Deadline in ms (`timeouts.stack`). */
  timeout: number;
  /** One line per new stack event and per status change. @default none */
  log?: ((line: string) => void) | undefined;
  interval?: IntervalOptions | undefined;
  signal?: AbortSignal | undefined;
  /** The tail to read events from (primed by the caller before a delete). @default a new one */
  tail?: StackEventTail | undefined;
}

const CREATE_FAILED = new Set([
  'CREATE_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'DELETE_COMPLETE',
  'DELETE_FAILED',
]);

/** Does DescribeStacks say the stack is not there (`ValidationError … does not exist`, §2.3)? */
export function isStackMissing(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /does not exist/.test(e.message ?? '');
}

async function observe(
  cloudformation: CloudFormationClient,
  stackId: string,
  tail: StackEventTail,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<StackObservation> {
  let observation: StackObservation;
  try {
    const stack = (
      await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }), { abortSignal: signal })
    ).Stacks?.[0];
    observation = { status: stack?.StackStatus ?? 'UNKNOWN', reason: stack?.StackStatusReason };
  } catch (error) {
    // By name, a deleted stack "does not exist" (by id it reads DELETE_COMPLETE): both mean deleted.
    if (!isStackMissing(error)) throw error;
    return { status: 'DELETE_COMPLETE' };
  }
  // Events after the status: every event up to a final status is printed before the wait ends. A resource's
  // *_IN_PROGRESS events are left out (its COMPLETE or FAILED line follows; a stack of 40 resources would print
  // 80 lines more), the stack's own are kept.
  for (const event of await tail.next(signal)) if (worthALine(event)) log(formatStackEvent(event));
  return observation;
}

/** Not a resource's `*_IN_PROGRESS` event (the stack's own and every final or failed event are). */
function worthALine(event: StackEvent): boolean {
  const resource =
    event.PhysicalResourceId !== event.StackId || event.ResourceType !== 'AWS::CloudFormation::Stack';
  return !(resource && (event.ResourceStatus ?? '').endsWith('_IN_PROGRESS'));
}

/** What {@link pollStack} needs to know of one wait. */
interface StackWait {
  /** The end state, for the timeout message: `stack <name> to be <what>`. */
  what: 'created' | 'deleted';
  /** The status that ends the wait. */
  doneStatus: string;
  /** Called on each round's observation; throws `StopPolling` to end the wait on a failure. */
  check: (seen: StackObservation, context: { tail: StackEventTail; log: (line: string) => void }) => void;
}

/**
 * The poll both waits share: each round reads the stack's status and prints its new events, `check` stops it on
 * a failure, it ends at `doneStatus`, and each status change is logged. Returns the last observation and the
 * tail (whose `events` explain what happened).
 */
async function pollStack(
  cloudformation: CloudFormationClient,
  stackId: string,
  options: WaitForStackOptions,
  wait: StackWait,
): Promise<{ seen: StackObservation; tail: StackEventTail }> {
  const tail = options.tail ?? new StackEventTail(cloudformation, stackId);
  const log = options.log ?? (() => {});
  const seen = await poll(
    async ({ signal }) => {
      const observation = await observe(cloudformation, stackId, tail, signal, log);
      wait.check(observation, { tail, log });
      return observation;
    },
    {
      timeout: options.timeout,
      what: `stack ${options.stackName} to be ${wait.what}`,
      describe: (s) => s.status,
      isDone: (s) => s.status === wait.doneStatus,
      expectChange: true,
      ...(options.interval ? { interval: options.interval } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onChange: (change) => log(`stack ${options.stackName} → ${change.summary}`),
    },
  );
  return { seen, tail };
}

/**
 * Waits for a `CreateStack` to reach `CREATE_COMPLETE`, printing the stack's events as they come.
 *
 * @throws StackOperationError when the create fails (`CREATE_FAILED`, `ROLLBACK_*`), naming the first failed
 *   resource, its type and its `ResourceStatusReason`.
 * @throws WaitTimeoutError at the deadline, with the last status.
 * @example
 * ```ts
 * const { StackId } = await cloudformation.send(new CreateStackCommand({ ... }));
 * await waitForStackCreate(cloudformation, StackId!, { stackName: 'cph-r7k2q', timeout: 30 * 60_000, log: console.log });
 * ```
 */
export async function waitForStackCreate(
  cloudformation: CloudFormationClient,
  stackId: string,
  options: WaitForStackOptions,
): Promise<StackObservation> {
  let rollingBack = false;
  const { seen: created } = await pollStack(cloudformation, stackId, options, {
    what: 'created',
    doneStatus: 'CREATE_COMPLETE',
    check: (seen, { tail, log }) => {
      if (seen.status === 'ROLLBACK_IN_PROGRESS' && !rollingBack) {
        rollingBack = true;
        const first = createFailures(tail.events)[0];
        log(
          `stack ${options.stackName} is rolling back${first ? ` (${formatFailure(first)})` : ''}; waiting for the rollback to end`,
        );
      }
      if (CREATE_FAILED.has(seen.status))
        throw new StopPolling(createError(options.stackName, seen, tail.events));
    },
  });
  return created;
}

function createError(stackName: string, seen: StackObservation, events: StackEvent[]): StackOperationError {
  const failures = createFailures(events);
  const first = failures[0];
  const cause = first
    ? `first failed resource ${formatFailure(first)}`
    : `no resource reported a failure${seen.reason ? `; the stack says: ${seen.reason}` : ''}`;
  const more = failures.length > 1 ? ` (${failures.length - 1} more failed after it)` : '';
  return new StackOperationError(
    `stack ${stackName} was not created (${seen.status}): ${cause}${more}; teardown deletes what is left of it`,
    { stackName, operation: 'create', status: seen.status, failures },
    { lastState: { ...seen, events } },
  );
}

/**
 * Waits for a `DeleteStack` to reach `DELETE_COMPLETE` (or for the stack to be gone), printing its events.
 *
 * @throws StackOperationError on `DELETE_FAILED` naming every resource that could not be deleted and why, and
 *   when a resource was retained (`DELETE_SKIPPED`): the stack is gone but that resource is still in the account.
 * @throws WaitTimeoutError at the deadline, with the last status.
 * @example
 * ```ts
 * const tail = new StackEventTail(cloudformation, stackId);
 * await tail.skipExisting();
 * await cloudformation.send(new DeleteStackCommand({ StackName: stackId }));
 * await waitForStackDelete(cloudformation, stackId, { stackName, timeout: 30 * 60_000, tail });
 * ```
 */
export async function waitForStackDelete(
  cloudformation: CloudFormationClient,
  stackId: string,
  options: WaitForStackOptions,
): Promise<StackObservation> {
  let deleting = false;
  const { seen: done, tail } = await pollStack(cloudformation, stackId, options, {
    what: 'deleted',
    doneStatus: 'DELETE_COMPLETE',
    check: (seen, { tail }) => {
      if (seen.status.startsWith('DELETE_')) deleting = true;
      // A delete CloudFormation refused puts the stack back where it was (an export in use, §2.9).
      const refused = deleting && !seen.status.startsWith('DELETE_') && !seen.status.endsWith('_IN_PROGRESS');
      if (seen.status === 'DELETE_FAILED' || refused) {
        throw new StopPolling(deleteError(options.stackName, seen, tail.events));
      }
    },
  });
  const { retained } = deleteLeftovers(tail.events);
  if (retained.length) {
    throw new StackOperationError(
      `stack ${options.stackName} is deleted but kept ${retained.length} resource(s) in the account: ` +
        `${retained.map((r) => `${r.logicalId} (${r.type}) ${r.physicalId ?? ''}`.trim()).join(', ')}; ` +
        'delete them by hand (or drop DeletionPolicy: Retain from the template)',
      { stackName: options.stackName, operation: 'delete', status: done.status, failures: retained },
      { lastState: { ...done, events: tail.events } },
    );
  }
  return done;
}

function deleteError(stackName: string, seen: StackObservation, events: StackEvent[]): StackOperationError {
  const { failed, retained } = deleteLeftovers(events);
  const parts = failed.map(formatFailure);
  const kept = retained.length
    ? `; retained (left in the account): ${retained.map((r) => `${r.logicalId} (${r.type})`).join(', ')}`
    : '';
  const why = parts.length
    ? `${failed.length} resource(s) could not be deleted: ${parts.join('; ')}`
    : `the stack says: ${seen.reason ?? '(no reason given)'}`;
  return new StackOperationError(
    `stack ${stackName} was not deleted (${seen.status}): ${why}${kept}; fix the cause and run ` +
      '`codepipeline-harness sweep --run <id>` again (DeleteStack retries the failed resources)',
    { stackName, operation: 'delete', status: seen.status, failures: [...failed, ...retained] },
    { lastState: { ...seen, events } },
  );
}
