/**
 * `sweep`: cleans up after a run that was killed before its own teardown. Finds the run's resources with the
 * leak check (tag / name prefix / `CodeDeploy_*` copies) and the run's event channels (`cph-<run>-<hex>-events`
 * rules and queues), keeps those `match` accepts (the exact run: see `runMatcher`), deletes them through a Ledger
 * in dependency order (pipeline → application → load balancer → target group → auto scaling group → repository →
 * events rule → queue), then waits until a fresh leak check comes back clean
 * (deletions on AWS are asynchronous). `dryRun` lists what it would delete and deletes nothing.
 */
import { DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteRepositoryCommand } from '@aws-sdk/client-codecommit';
import { DeleteApplicationCommand } from '@aws-sdk/client-codedeploy';
import { DeletePipelineCommand } from '@aws-sdk/client-codepipeline';
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HarnessClients } from '../aws/clients.ts';
import { LeakError, WaitTimeoutError } from '../errors.ts';
import { poll } from '../poll.ts';
import { type LeakCheckOptions, type LeakReport, type Leftover, type RunTag, checkLeaks } from './leaks.ts';
import { Ledger, type TeardownOptions, type TeardownReport } from './ledger.ts';
import { narrowReport } from './sweep-match.ts';
import { emptyBucket } from './empty-bucket.ts';
import { sweepStacksOfRun } from '../stack/cloudformation/sweep.ts';
import { channelsOfRun, deleteChannelPart } from '../watch/sweep.ts';

export interface SweepOptions extends LeakCheckOptions, TeardownOptions {
  /** How long to wait for the deletions to show in a clean leak check. @default 600000 (ms, 10m) */
  timeout?: number;
  /**
   * Which of the leak check's findings are the run's (`runMatcher(runId)` for exactly one run).
   * @default every finding
   */
  match?: (item: Leftover) => boolean;
  /** List what would be deleted (`found`) and delete nothing. @default false */
  dryRun?: boolean;
}

export interface SweepReport {
  /** What the first leak check found (with `dryRun`: what a sweep would delete). */
  found: Leftover[];
  teardown: TeardownReport;
  /** What is still there at the end (empty when the sweep worked; everything found, after a dry run). */
  remaining: Leftover[];
  /** True when nothing was deleted because `dryRun` was asked for. */
  dryRun: boolean;
}

/** Creation order; teardown runs it backwards. Deployment groups go with their application. */
const ORDER: Leftover['kind'][] = [
  'sqs-queue',
  'events-rule',
  'repository',
  'auto-scaling-group',
  'target-group',
  'load-balancer',
  'application',
  'pipeline',
];

/** The delete call of a leftover; it gets the teardown's abort signal, so a hung call ends at the deadline. */
function deleter(
  clients: HarnessClients,
  item: Leftover,
): ((signal: AbortSignal) => Promise<void>) | undefined {
  const done = () => undefined;
  switch (item.kind) {
    case 'pipeline':
      return (abortSignal) =>
        clients.codepipeline.send(new DeletePipelineCommand({ name: item.id }), { abortSignal }).then(done);
    case 'application':
      return (abortSignal) =>
        clients.codedeploy
          .send(new DeleteApplicationCommand({ applicationName: item.id }), { abortSignal })
          .then(done);
    case 'load-balancer':
      // Deleting a load balancer deletes its listeners, which frees its target groups.
      return (abortSignal) =>
        clients.elbv2
          .send(new DeleteLoadBalancerCommand({ LoadBalancerArn: item.id }), { abortSignal })
          .then(done);
    case 'target-group':
      return (abortSignal) =>
        clients.elbv2
          .send(new DeleteTargetGroupCommand({ TargetGroupArn: item.id }), { abortSignal })
          .then(done);
    case 'auto-scaling-group':
      return (abortSignal) =>
        clients.autoscaling
          .send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: item.id, ForceDelete: true }), {
            abortSignal,
          })
          .then(done);
    case 'repository': {
      const codecommit = clients.codecommit;
      return codecommit
        ? (abortSignal) =>
            codecommit
              .send(new DeleteRepositoryCommand({ repositoryName: item.id }), { abortSignal })
              .then(done)
        : undefined;
    }
    case 'events-rule':
    case 'sqs-queue':
      return (abortSignal) => deleteChannelPart(clients, item, abortSignal);
    default:
      return undefined;
  }
}

/**
 * Result form: deletes what the leak check finds and reports what remains.
 *
 * @example
 * ```ts
 * const report = await sweep(clients, { key: RUN_TAG, value: 'ci' }, {
 *   namePrefix: 'cph-ci-', match: runMatcher('ci'), dryRun: true,
 * });
 * console.table(report.found); // what a sweep of run ci would delete
 * ```
 */
export async function sweep(
  clients: HarnessClients,
  runTag: RunTag | undefined,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const scan = async () => {
    const found = await checkLeaks(clients, runTag, options);
    // The run's event channels (EventBridge rule, SQS queue): by their exact names, so only with the run's id.
    const channels = runTag ? await channelsOfRun(clients, runTag.value, options.signal) : [];
    const report = {
      clean: found.clean && channels.length === 0,
      leftovers: [...found.leftovers, ...channels],
    };
    return options.match ? narrowReport(report, options.match) : report;
  };
  const first = await scan();
  // A killed ephemeral run's stacks (exact run tag) go first, each with the run's own stack teardown; then what
  // they did not take with them.
  const stacks = await sweepStacksOfRun(clients, runTag, {
    dryRun: options.dryRun,
    emptyBucket,
    signal: options.signal,
  });
  const rest = stacks.found.length && !options.dryRun ? await scan() : first;
  if (options.dryRun) {
    const teardown = { deleted: [], alreadyGone: [], failed: [] };
    const found = [...stacks.found, ...first.leftovers];
    return { found, teardown, remaining: found, dryRun: true };
  }
  const ledger = new Ledger();
  for (const kind of ORDER) {
    for (const item of rest.leftovers.filter((l) => l.kind === kind)) {
      const remove = deleter(clients, item);
      if (remove) ledger.add({ kind: item.kind, id: item.id, delete: remove });
    }
  }
  const swept = await ledger.tryTeardown(options);
  const teardown = { ...swept, failed: [...stacks.failed, ...swept.failed] };
  let last: LeakReport;
  try {
    last = await poll(scan, {
      timeout: options.timeout ?? 10 * 60_000, // ms
      interval: { min: 500, max: 10_000 },
      what: 'the sweep to leave nothing',
      describe: (r) => r.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ') || 'clean',
      isDone: (r) => r.clean,
    });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    last = (error.lastState as LeakReport | undefined) ?? first;
  }
  return {
    found: [...stacks.found, ...first.leftovers],
    teardown,
    remaining: [...stacks.remaining, ...last.leftovers],
    dryRun: false,
  };
}

/**
 * Assert form of `sweep`.
 * @throws LeakError listing what is still there (and why a delete failed).
 */
export async function expectSwept(
  clients: HarnessClients,
  runTag: RunTag | undefined,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const report = await sweep(clients, runTag, options);
  if (report.remaining.length === 0 || report.dryRun) return report;
  const why = new Map(report.teardown.failed.map((f) => [`${f.kind} ${f.id}`, f.reason]));
  const leftovers = report.remaining.map((l) => {
    const reason = why.get(`${l.kind} ${l.id}`);
    return reason ? { ...l, reason } : l;
  });
  throw new LeakError(
    `sweep left ${leftovers.length} resource(s): ` +
      leftovers.map((l) => `${l.kind} ${l.id} (${l.reason})`).join(', ') +
      '; delete them by hand or check the permissions',
    leftovers,
    { lastState: report },
  );
}
