/**
 * What each cucumber worker owns (steps/workers.ts): its place among the workers, its run id, and its part of the
 * run's summary, merged by the coordinator.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cucumberWorker,
  mergeSummaryParts,
  type ScenarioSummary,
  workerRunId,
  writeSummaryPart,
} from '../../steps/workers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('cucumberWorker', () => {
  it('is undefined in a serial run and in the coordinator; the worker otherwise', () => {
    expect(cucumberWorker({})).toBeUndefined();
    expect(
      cucumberWorker({ CUCUMBER_PARALLEL: 'true', CUCUMBER_WORKER_ID: '1', CUCUMBER_TOTAL_WORKERS: '2' }),
    ).toEqual({ index: 1, total: 2 });
  });

  it('refuses inconsistent worker variables, naming them', () => {
    expect(() =>
      cucumberWorker({ CUCUMBER_PARALLEL: 'true', CUCUMBER_WORKER_ID: '2', CUCUMBER_TOTAL_WORKERS: '2' }),
    ).toThrow(/CUCUMBER_WORKER_ID=2, CUCUMBER_TOTAL_WORKERS=2/);
  });
});

describe('workerRunId', () => {
  it('is <run id>-w<n>, a run id in its own right', () => {
    expect(workerRunId('ci-42', 0)).toBe('ci-42-w0');
    expect(workerRunId('r0123456789ab', 3)).toBe('r0123456789ab-w3');
  });

  it('refuses a run id that leaves no room for the worker suffix, saying how long it may be', () => {
    expect(() => workerRunId('a-sixteen-chars1', 1)).toThrow(
      /too long for --parallel.*"a-sixteen-chars1-w1", 19 characters.*at most 13 characters/,
    );
  });
});

describe('the summary parts', () => {
  const row = (name: string, startedAt: number, runId: string): ScenarioSummary => ({
    name,
    status: 'PASSED',
    seconds: 1,
    note: '',
    startedAt,
    runId,
  });

  it("are merged in the order the scenarios started, and removed; another run's parts are left", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cph-summary-parts-'));
    dirs.push(dir);
    const summary = join(dir, 'summary.md');
    writeSummaryPart(summary, 'ci-w0', [row('a', 1, 'ci-w0'), row('c', 3, 'ci-w0')]);
    writeSummaryPart(summary, 'ci-w1', [row('b', 2, 'ci-w1')]);
    writeSummaryPart(summary, 'ci-2-w0', [row('x', 0, 'ci-2-w0')]);
    writeFileSync(join(dir, '.summary.md.ci-wx.json'), '[]');
    const merged = mergeSummaryParts(summary, 'ci');
    expect(merged?.rows.map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect(merged?.workerRuns).toEqual(['ci-w0', 'ci-w1']);
    expect(readdirSync(dir).sort()).toEqual(['.summary.md.ci-2-w0.json', '.summary.md.ci-wx.json']);
    expect(mergeSummaryParts(summary, 'ci')).toBeUndefined();
  });
});
