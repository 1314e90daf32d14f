/**
 * A run's stacks, found by tag, for the leak check and for `codepipeline-harness sweep --run <id>`: every stack
 * (not `DELETE_COMPLETE`) whose `codepipeline-harness:run` tag **equals** the run id (never a prefix: run `r1`
 * must not sweep run `r12`'s stack), deleted with the run's own stack teardown.
 */
import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { errorLine } from '../../poll.ts';
import type { Leftover } from '../../teardown/leaks.ts';
import { RUN_TAG } from '../names.ts';
import {
  deleteEphemeralStack,
  type EmptyBucket,
  type StackTeardownClients,
  type StackTeardownOptions,
} from './teardown.ts';

/**
 * The stacks tagged with the run id (all pages of DescribeStacks; deleted stacks are not listed).
 *
 * @example
 * ```ts
 * const stacks = await runStacks(cloudformation, 'r7k2q');
 * ```
 */
export async function runStacks(
  cloudformation: CloudFormationClient,
  runId: string,
  signal?: AbortSignal,
): Promise<Stack[]> {
  const found: Stack[] = [];
  let token: string | undefined;
  do {
    const out = await cloudformation.send(
      new DescribeStacksCommand({ NextToken: token }),
      signal ? { abortSignal: signal } : {},
    );
    for (const stack of out.Stacks ?? []) {
      if (stack.StackStatus === 'DELETE_COMPLETE') continue;
      if (stack.Tags?.some((t) => t.Key === RUN_TAG && t.Value === runId)) found.push(stack);
    }
    token = out.NextToken;
  } while (token);
  return found;
}

/**
 * The leak check's part for stacks: the run's stacks still there, by tag.
 *
 * @example
 * ```ts
 * const left = await stackLeftovers(cloudformation, runId); // [{ kind: 'stack', id: 'arn:…:stack/cph-r7k2q/…', reason: 'tag' }]
 * ```
 */
export async function stackLeftovers(
  cloudformation: CloudFormationClient,
  runId: string,
): Promise<Leftover[]> {
  return (await runStacks(cloudformation, runId)).map((s) => ({
    kind: 'stack',
    id: s.StackId ?? s.StackName ?? '?',
    reason: 'tag',
  }));
}

/** What {@link sweepRunStacks} did. */
export interface StackSweepReport {
  /** The stacks found by tag (names). */
  found: string[];
  deleted: string[];
  failed: { kind: 'stack'; id: string; reason: string }[];
}

/**
 * Deletes every stack of a killed run, each with the run's own stack teardown (running work stopped,
 * `CodeDeploy_*` fleets deleted, artifact bucket emptied, DeleteStack waited for). One stack failing does not
 * stop the others; its reason is in `failed`.
 *
 * @example
 * ```ts
 * const report = await sweepRunStacks(clients, 'r7k2q', { timeout: 30 * 60_000, emptyBucket, log: console.log });
 * if (report.failed.length) console.table(report.failed);
 * ```
 */
export async function sweepRunStacks(
  clients: StackTeardownClients,
  runId: string,
  options: StackTeardownOptions & { emptyBucket?: EmptyBucket | undefined },
): Promise<StackSweepReport> {
  const stacks = await runStacks(clients.cloudformation, runId, options.signal);
  const report: StackSweepReport = { found: [], deleted: [], failed: [] };
  for (const stack of stacks) {
    const stackName = stack.StackName ?? stack.StackId ?? '?';
    report.found.push(stackName);
    try {
      await deleteEphemeralStack(clients, {
        ...options,
        stackId: stack.StackId ?? stackName,
        stackName,
        reason: options.reason ?? `codepipeline-harness sweep of run ${runId}`,
      });
      report.deleted.push(stackName);
    } catch (error) {
      report.failed.push({ kind: 'stack', id: stackName, reason: errorLine(error) });
    }
  }
  return report;
}

/** What {@link sweepStacksOfRun} found and did, in the shape of `sweep`'s report. */
export interface StacksSwept {
  /** The run's stacks found by tag. */
  found: Leftover[];
  /** Stacks whose teardown failed, with the reason. */
  failed: { kind: string; id: string; reason: string }[];
  /** The run's stacks still there afterwards (with `dryRun`: all found). */
  remaining: Leftover[];
}

/**
 * `sweep`'s part for stacks: a killed ephemeral run's stacks, found by the exact run tag, each deleted with the
 * run's own stack teardown (`dryRun`: listed only). Nothing to do without a CloudFormation client or a run tag.
 *
 * @example
 * ```ts
 * const stacks = await sweepStacksOfRun(clients, { key: RUN_TAG, value: 'r7k2q' }, { emptyBucket });
 * ```
 */
export async function sweepStacksOfRun(
  clients: Omit<StackTeardownClients, 'cloudformation'> & {
    cloudformation?: CloudFormationClient | undefined;
  },
  runTag: { key: string; value: string } | undefined,
  options: {
    dryRun?: boolean | undefined;
    signal?: AbortSignal | undefined;
    emptyBucket?: EmptyBucket | undefined;
    /** Deadline of each stack's teardown, in ms. @default 1800000 (30m, `timeouts.stack`'s default) */
    stackTimeout?: number | undefined;
  } = {},
): Promise<StacksSwept> {
  const { cloudformation } = clients;
  if (!cloudformation || !runTag || runTag.key !== RUN_TAG) return { found: [], failed: [], remaining: [] };
  const found = await stackLeftovers(cloudformation, runTag.value);
  if (options.dryRun || !found.length) return { found, failed: [], remaining: found };
  const report = await sweepRunStacks({ ...clients, cloudformation }, runTag.value, {
    timeout: options.stackTimeout ?? 30 * 60_000, // ms
    emptyBucket: options.emptyBucket,
    signal: options.signal,
  });
  return { found, failed: report.failed, remaining: await stackLeftovers(cloudformation, runTag.value) };
}
