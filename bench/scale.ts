/**
 * Section 7: scale. 1, 4 and 8 release scenarios at once on one sandbox (a fresh one per level), each with
 * its own stack and run id: provision (stack + first version live), then one measured release.
 */
import { EventTail, startSandboxProcess } from './lib/sandbox-process.ts';
import { runScenario, type ScenarioResult } from './lib/scenario.ts';
import type { Section, SectionContext } from './lib/section.ts';
import { throwIfOver } from './lib/section.ts';
import { fmt, fmtRatio, max, median, percentile, ratio } from './lib/stats.ts';
import { benchRunId, TIME_SCALE } from './release.ts';

const LEVELS = [1, 4, 8] as const;

interface Level {
  scenarios: number;
  /** Start of the batch → the last scenario's release live (teardown excluded). */
  batchMs: number;
  provisionMs: number[];
  releaseMs: number[];
  detectionMs: number[];
  calls: number[];
  failures: string[];
}

async function level(context: SectionContext, n: number): Promise<Level> {
  throwIfOver(context.signal, `scale ${n}`);
  const sandbox = await startSandboxProcess({ timeScale: TIME_SCALE });
  const tail = new EventTail(sandbox.endpoint, 100);
  tail.start();
  try {
    const start = Date.now();
    const settled = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        runScenario({
          endpoint: sandbox.endpoint,
          runId: benchRunId(`s${i}`),
          releases: 1,
          references: false,
          tail,
          signal: context.signal,
        }),
      ),
    );
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failures = settled.flatMap((s) =>
      s.status === 'rejected' ? [String((s.reason as Error)?.message ?? s.reason)] : [],
    );
    const releases = ok.flatMap((r: ScenarioResult) => r.releases);
    const result: Level = {
      scenarios: n,
      batchMs: (max(releases.map((r) => r.liveAt)) || Date.now()) - start,
      provisionMs: ok.map((r) => r.provisionMs),
      releaseMs: releases.map((r) => r.wallMs),
      detectionMs: releases.flatMap((r) =>
        r.detections.flatMap((d) => (d.latencyMs === undefined ? [] : [d.latencyMs])),
      ),
      calls: releases.map((r) => r.calls.length),
      failures,
    };
    context.log(
      `${n} concurrent: batch ${fmt(result.batchMs / 1000, 1)} s, release median ${fmt(median(result.releaseMs) / 1000, 2)} s, ${failures.length} failed`,
    );
    return result;
  } finally {
    tail.stop();
    await sandbox.stop();
  }
}

export const scale: Section = {
  name: 'scale',
  title: `7. Scale: concurrent release scenarios on one sandbox (time scale ${TIME_SCALE})`,
  budgetMs: 170_000,
  async run(context) {
    const levels: Level[] = [];
    const notes: string[] = [];
    for (const n of LEVELS) {
      try {
        levels.push(await level(context, n));
      } catch (error) {
        notes.push(`${n} concurrent scenarios: not measured: ${(error as Error).message}`);
        break;
      }
    }
    const base = levels[0];
    const rows = levels.map((l) => [
      String(l.scenarios),
      `${l.scenarios - l.failures.length}/${l.scenarios}`,
      fmt(l.batchMs / 1000, 1),
      fmt(median(l.provisionMs) / 1000, 1),
      fmt(median(l.releaseMs) / 1000, 2),
      fmt(max(l.releaseMs) / 1000, 2),
      fmt(percentile(l.detectionMs, 95), 0),
      fmt(median(l.calls), 0),
      fmtRatio(ratio(l.batchMs, base?.batchMs)),
      fmtRatio(ratio(median(l.releaseMs), base ? median(base.releaseMs) : undefined)),
    ]);
    for (const l of levels)
      for (const f of l.failures) notes.push(`${l.scenarios} concurrent: a scenario failed: ${f}`);
    notes.push(
      'Each scenario: its own stack (blue/green, 2 instances) provisioned with its first version live, then one release ' +
        'push -> live. "batch" = start of all scenarios -> the last release live (teardown excluded). Ratios are to the ' +
        '1-scenario row; with 2 cores, builds (node --test) and app processes of all scenarios compete for the CPU.',
    );
    return {
      tables: [
        {
          title: this.title,
          header: [
            'scenarios',
            'ok',
            'batch s',
            'provision s (med)',
            'release s (med)',
            'release s (max)',
            'detect p95 ms',
            'calls/release',
            'batch vs 1',
            'release vs 1',
          ],
          rows,
        },
      ],
      data: { timeScale: TIME_SCALE, levels },
      notes,
    };
  },
};
