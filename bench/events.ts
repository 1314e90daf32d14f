/**
 * Events on vs off, side by side: the same releases followed by the harness with AWS's state-change events waking
 * its waits (setting `events: auto`, the run's EventBridge rule → SQS queue, src/watch) and with polling only
 * (`events: off`), each on a stack of its own on one sandbox process. Measured as the release section measures:
 * detection latency (sandbox state change → the first harness response showing it) and the API calls a release
 * makes (every HTTP attempt of the harness's CodePipeline, CodeDeploy, ELBv2 and Auto Scaling clients; the event
 * receives, SQS ReceiveMessage long polls, are not counted, as issue 16 states its goal).
 */
import { countByOperation } from './lib/recorder.ts';
import { EventTail, startSandboxProcess } from './lib/sandbox-process.ts';
import { type ReleaseRun, runScenario } from './lib/scenario.ts';
import { type Section, type SectionContext, throwIfOver } from './lib/section.ts';
import { fmt, median, percentile } from './lib/stats.ts';
import { benchRunId, TIME_SCALE } from './release.ts';

type Mode = 'auto' | 'off';

interface ModeRun {
  mode: Mode;
  releases: ReleaseRun[];
}

async function runMode(context: SectionContext, mode: Mode, releases: number): Promise<ModeRun> {
  const sandbox = await startSandboxProcess({ timeScale: TIME_SCALE });
  const tail = new EventTail(sandbox.endpoint);
  tail.start();
  try {
    const result = await runScenario({
      endpoint: sandbox.endpoint,
      runId: benchRunId(mode === 'auto' ? 'ev' : 'po'),
      releases,
      references: false,
      events: mode,
      tail,
      signal: context.signal,
      log: (line) => context.log(`[events ${mode}] ${line}`),
    });
    return { mode, releases: result.releases };
  } finally {
    tail.stop();
    await sandbox.stop();
  }
}

/** The figures of one mode, pooled over its releases. */
function figures(run: ModeRun) {
  const latencies = run.releases.flatMap((r) =>
    r.detections.flatMap((d) => (d.latencyMs === undefined ? [] : [d.latencyMs])),
  );
  const deploymentEnd = run.releases.flatMap((r) =>
    r.detections.flatMap((d) =>
      d.event.kind === 'deployment' && d.event.status === 'Succeeded' && d.latencyMs !== undefined
        ? [d.latencyMs]
        : [],
    ),
  );
  const perOp = (op: string) =>
    median(run.releases.map((r) => r.calls.filter((c) => c.operation === op).length));
  return {
    releases: run.releases.length,
    detectionP50Ms: percentile(latencies, 50),
    detectionP95Ms: percentile(latencies, 95),
    deploymentEndP95Ms: percentile(deploymentEnd, 95),
    callsPerRelease: median(run.releases.map((r) => r.calls.length)),
    getPipelineState: perOp('GetPipelineState'),
    getPipelineExecution: perOp('GetPipelineExecution'),
    getDeployment: perOp('GetDeployment'),
    wallMs: median(run.releases.map((r) => r.wallMs)),
    byOperation: run.releases.map((r) => Object.fromEntries(countByOperation(r.calls))),
  };
}

export const events: Section = {
  name: 'events',
  title: 'Events on vs off: the same releases watched by EventBridge → SQS events and by polling only',
  budgetMs: 120_000,
  async run(context) {
    const releases = context.quick ? 1 : 2;
    const off = await runMode(context, 'off', releases);
    throwIfOver(context.signal, 'events section');
    const on = await runMode(context, 'auto', releases);
    const f = { on: figures(on), off: figures(off) };
    const row = (label: string, pick: (x: typeof f.on) => number, digits = 0) => [
      label,
      fmt(pick(f.on), digits),
      fmt(pick(f.off), digits),
    ];
    return {
      tables: [
        {
          title: `Events on vs off (${releases} releases each, time scale ${TIME_SCALE}, medians and pooled percentiles)`,
          header: ['measure', 'events on', 'events off'],
          rows: [
            row('detection latency p50 (ms)', (x) => x.detectionP50Ms),
            row('detection latency p95 (ms)', (x) => x.detectionP95Ms),
            row('deployment end noticed after, p95 (ms)', (x) => x.deploymentEndP95Ms),
            row('API calls per release (event receives not counted)', (x) => x.callsPerRelease, 1),
            row('  GetPipelineState per release', (x) => x.getPipelineState, 1),
            row('  GetPipelineExecution per release', (x) => x.getPipelineExecution, 1),
            row('  GetDeployment per release', (x) => x.getDeployment, 1),
            row('release wall push -> live (s)', (x) => x.wallMs / 1000, 2),
          ],
        },
      ],
      data: f,
      notes: [
        "events on: the waits are woken by the run's own EventBridge rule → SQS queue and confirm each event with one " +
          'read; their poll interval becomes a 10-30 s safety net. The sandbox delivers events as AWS promises: late ' +
          '(300-1500 AWS ms, time-scaled), 5% twice, in no promised order.',
        'Detection latency is measured at the harness read that shows a change; with events that read follows the ' +
          'event (delivery delay + a 20 ms settle for bursts), without them the next poll tick.',
      ],
    };
  },
};
