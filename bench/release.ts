/**
 * Sections 3-6, measured on the same releases: one sandbox (its own process, short time scale), one stack,
 * several version bumps each followed by the harness to "live on every target", with the reference pollers
 * following the same deployments at the same time.
 *
 * 3. wall time push → live, split into the sandbox's own work and the harness's share;
 * 4. detection latency of every pipeline/stage/action/deployment state change;
 * 5. API calls per release by operation, calls per minute;
 * 6. reference pollers: detection latency and calls against ours.
 */
import { countByOperation } from './lib/recorder.ts';
import { EventTail, startSandboxProcess } from './lib/sandbox-process.ts';
import { type ReleaseRun, runScenario } from './lib/scenario.ts';
import type { ResultTable, Section } from './lib/section.ts';
import { fmt, fmtRatio, max, median, percentile, ratio } from './lib/stats.ts';

export const TIME_SCALE = 0.02;

/** A run id usable in resource names (lowercase, ≤ 16 characters). */
export function benchRunId(tag: string): string {
  return `b${tag}${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 4)}`;
}

const KINDS = ['pipelineExecution', 'stage', 'action', 'deployment'] as const;

function wallTable(runs: ReleaseRun[]): ResultTable {
  const cols = (r: ReleaseRun) => [
    r.wallMs,
    r.breakdown.push,
    r.breakdown.sandbox,
    r.breakdown.approvalWait,
    r.breakdown.noticeEnd,
    r.breakdown.liveCheck,
    r.breakdown.harness,
  ];
  const row = (label: string, v: number[]) => [
    label,
    ...v.map((x) => fmt(x / 1000, 2)),
    `${fmt((100 * (v[6] ?? 0)) / (v[0] ?? 1), 0)}%`,
  ];
  const rows = runs.map((r, i) => row(`release ${i + 1}`, cols(r)));
  const med = [0, 1, 2, 3, 4, 5, 6].map((i) => median(runs.map((r) => cols(r)[i] as number)));
  rows.push(row('median', med));
  return {
    title: '3. Release wall time, push -> live on every target (seconds)',
    header: [
      'release',
      'wall',
      'push (git)',
      'sandbox work',
      'approval wait',
      'notice end',
      'live check',
      'harness share',
      'share of wall',
    ],
    rows,
  };
}

function detectionTable(runs: ReleaseRun[]): { table: ResultTable; data: Record<string, unknown> } {
  const all = runs.flatMap((r) => r.detections);
  const rows: string[][] = [];
  const data: Record<string, unknown> = {};
  for (const kind of [...KINDS, 'all'] as const) {
    const ds = kind === 'all' ? all : all.filter((d) => d.event.kind === kind);
    const lat = ds.flatMap((d) => (d.latencyMs === undefined ? [] : [d.latencyMs]));
    rows.push([
      kind,
      String(ds.length),
      String(lat.length),
      fmt(percentile(lat, 50), 0),
      fmt(percentile(lat, 95), 0),
      fmt(max(lat), 0),
    ]);
    data[kind] = {
      events: ds.length,
      observed: lat.length,
      p50Ms: percentile(lat, 50),
      p95Ms: percentile(lat, 95),
      maxMs: max(lat),
    };
  }
  return {
    table: {
      title: `4. Detection latency: sandbox state change -> first harness response showing it (ms, ${runs.length} releases pooled)`,
      header: ['kind', 'changes', 'observed', 'p50', 'p95', 'max'],
      rows,
    },
    data,
  };
}

function callsTable(runs: ReleaseRun[]): { table: ResultTable; data: Record<string, unknown> } {
  const ops = new Set(runs.flatMap((r) => r.calls.map((c) => c.operation)));
  const perOp = [...ops].map(
    (op) => [op, median(runs.map((r) => r.calls.filter((c) => c.operation === op).length))] as const,
  );
  perOp.sort((a, b) => b[1] - a[1]);
  const totals = runs.map((r) => r.calls.length);
  const perMinute = runs.map((r) => r.calls.length / (r.wallMs / 60_000));
  const rows = perOp.map(([op, n]) => [op, fmt(n, 1)]);
  rows.push(['total API calls', fmt(median(totals), 1)]);
  rows.push(['API calls per minute', fmt(median(perMinute), 0)]);
  rows.push(['load balancer requests (live check)', fmt(median(runs.map((r) => r.loadBalancerRequests)), 0)]);
  return {
    table: {
      title: '5. API calls per release (median over releases, every HTTP attempt)',
      header: ['operation', 'calls'],
      rows,
    },
    data: {
      byOperation: Object.fromEntries(perOp),
      perRelease: runs.map((r) => Object.fromEntries(countByOperation(r.calls))),
      totalMedian: median(totals),
      perMinuteMedian: median(perMinute),
      loadBalancerRequestsMedian: median(runs.map((r) => r.loadBalancerRequests)),
    },
  };
}

function referenceTable(runs: ReleaseRun[]): { table: ResultTable; data: Record<string, unknown> } {
  const oursLat = median(
    runs.flatMap((r) => (r.ours.deploymentDetectionMs === undefined ? [] : [r.ours.deploymentDetectionMs])),
  );
  const oursCalls = median(runs.map((r) => r.ours.callsDuringDeployment));
  const names = [...new Set(runs.flatMap((r) => r.references.map((x) => x.name)))];
  const rows = [['codepipeline-harness (ours)', fmt(oursLat, 0), fmt(oursCalls, 1), '1x', '1x', 'Succeeded']];
  const data: Record<string, unknown> = { ours: { detectionMsMedian: oursLat, callsMedian: oursCalls } };
  for (const name of names) {
    const refs = runs.flatMap((r) => r.references.filter((x) => x.name === name));
    const lat = median(refs.flatMap((x) => (x.detectionMs === undefined ? [] : [x.detectionMs])));
    const calls = median(refs.map((x) => x.calls));
    const outcomes = [...new Set(refs.map((x) => x.outcome))].join(', ');
    rows.push([
      name,
      fmt(lat, 0),
      fmt(calls, 1),
      fmtRatio(ratio(lat, oursLat)),
      fmtRatio(ratio(calls, oursCalls)),
      outcomes,
    ]);
    data[name] = { detectionMsMedian: lat, callsMedian: calls, outcomes, runs: refs };
  }
  return {
    table: {
      title:
        '6. Following the same deployment: time to notice it Succeeded, and API calls (median over releases)',
      header: ['poller', 'detect ms', 'calls', 'latency vs ours', 'calls vs ours', 'outcome'],
      rows,
    },
    data,
  };
}

export const release: Section = {
  name: 'release',
  title: `3-6. Release scenario on the sandbox (time scale ${TIME_SCALE})`,
  budgetMs: 150_000,
  async run(context) {
    const releases = context.quick ? 2 : 3;
    const sandbox = await startSandboxProcess({ timeScale: TIME_SCALE });
    const tail = new EventTail(sandbox.endpoint);
    tail.start();
    try {
      const result = await runScenario({
        endpoint: sandbox.endpoint,
        runId: benchRunId('r'),
        releases,
        references: true,
        tail,
        signal: context.signal,
        log: context.log,
      });
      const runs = result.releases;
      const detection = detectionTable(runs);
      const calls = callsTable(runs);
      const refs = referenceTable(runs);
      const notes = [
        `One stack (blue/green, 2 instances), ${releases} releases after the first; sandbox in its own process at time scale ${TIME_SCALE}; ` +
          `harness poll interval ${result.poll.minIntervalMs}-${result.poll.maxIntervalMs} ms (factor ${result.poll.factor}); traffic probe off.`,
        'Wall = push start -> every target proven to serve the version. "sandbox work" = from the sandbox recording the git push ' +
          'to the execution\'s last event, minus "approval wait" (approval InProgress -> its next status: the sandbox idle until ' +
          'PutApprovalResult arrived). "harness share" = wall - sandbox work = push (git clone/commit/push) + approval wait + ' +
          '"notice end" (execution Succeeded -> the harness\'s first response showing it) + "live check" (from there until ' +
          'every target is proven to serve the version over HTTP).',
        "Detection: for each status change in the sandbox event log (the release's execution, stages, actions, deployment), the " +
          'first SDK response the harness received showing that status or a later one of the same entity (SDK middleware ' +
          'timestamps). "observed" < "changes" means the harness never asked about that entity.',
        'Reference pollers start when the sandbox logs the deployment as Created (read from the event log, no API calls), on their ' +
          'own SDK clients; "ours" counts every harness call (pipeline state included) between the deployment\'s Created event ' +
          "and the harness noticing Succeeded. With a time-scaled deployment of a few seconds a 10-15 s poller's latency is " +
          'its interval minus the deployment time; on AWS deployments take minutes and the gap is up to one interval.',
      ];
      return {
        tables: [wallTable(runs), detection.table, calls.table, refs.table],
        data: {
          timeScale: TIME_SCALE,
          provisionMs: result.provisionMs,
          poll: result.poll,
          releases: runs.map((r) => ({
            version: r.version,
            wallMs: r.wallMs,
            breakdown: r.breakdown,
            calls: r.calls.length,
            loadBalancerRequests: r.loadBalancerRequests,
            ours: r.ours,
            references: r.references,
            detections: r.detections.map((d) => ({
              kind: d.event.kind,
              status: d.event.status,
              stage: d.event.stage,
              action: d.event.action,
              latencyMs: d.latencyMs ?? null,
            })),
          })),
          wallMsMedian: median(runs.map((r) => r.wallMs)),
          harnessShareMsMedian: median(runs.map((r) => r.breakdown.harness)),
          detection: detection.data,
          calls: calls.data,
          references: refs.data,
        },
        notes,
      };
    } finally {
      tail.stop();
      await sandbox.stop();
    }
  },
};
