/**
 * `sweep`: cleans up after a run that was killed before its own teardown. Finds the run's resources with the
 * leak check (tag / name prefix / `CodeDeploy_*` copies), deletes them through a Ledger in dependency order
 * (pipeline → application → load balancer → target group → auto scaling group → repository), then waits until
 * a fresh leak check comes back clean (deletions on AWS are asynchronous).
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

export interface SweepOptions extends LeakCheckOptions, TeardownOptions {
  /** How long to wait for the deletions to show in a clean leak check. @default 600000 (ms, 10m) */
  timeout?: number;
}

export interface SweepReport {
  /** What the first leak check found. */
  found: Leftover[];
  teardown: TeardownReport;
  /** What is still there at the end (empty when the sweep worked). */
  remaining: Leftover[];
}

/** Creation order; teardown runs it backwards. Deployment groups go with their application. */
const ORDER: Leftover['kind'][] = [
  'repository',
  'auto-scaling-group',
  'target-group',
  'load-balancer',
  'application',
  'pipeline',
];

function deleter(clients: HarnessClients, item: Leftover): (() => Promise<void>) | undefined {
  const done = () => undefined;
  switch (item.kind) {
    case 'pipeline':
      return () => clients.codepipeline.send(new DeletePipelineCommand({ name: item.id })).then(done);
    case 'application':
      return () =>
        clients.codedeploy.send(new DeleteApplicationCommand({ applicationName: item.id })).then(done);
    case 'load-balancer':
      // Deleting a load balancer deletes its listeners, which frees its target groups.
      return () => clients.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: item.id })).then(done);
    case 'target-group':
      return () => clients.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: item.id })).then(done);
    case 'auto-scaling-group':
      return () =>
        clients.autoscaling
          .send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: item.id, ForceDelete: true }))
          .then(done);
    case 'repository': {
      const codecommit = clients.codecommit;
      return codecommit
        ? () => codecommit.send(new DeleteRepositoryCommand({ repositoryName: item.id })).then(done)
        : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Result form: deletes what the leak check finds and reports what remains.
 *
 * @example
 * ```ts
 * const report = await sweep(clients, { key: 'codepipeline-harness:run', value: runId }, { namePrefix: `h-${runId}` });
 * if (report.remaining.length) console.table(report.remaining);
 * ```
 */
export async function sweep(
  clients: HarnessClients,
  runTag: RunTag | undefined,
  options: SweepOptions = {},
): Promise<SweepReport> {
  const first = await checkLeaks(clients, runTag, options);
  const ledger = new Ledger();
  for (const kind of ORDER) {
    for (const item of first.leftovers.filter((l) => l.kind === kind)) {
      const remove = deleter(clients, item);
      if (remove) ledger.add({ kind: item.kind, id: item.id, delete: remove });
    }
  }
  const teardown = await ledger.tryTeardown(options);
  let last: LeakReport;
  try {
    last = await poll(() => checkLeaks(clients, runTag, options), {
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
  return { found: first.leftovers, teardown, remaining: last.leftovers };
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
  if (report.remaining.length === 0) return report;
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
