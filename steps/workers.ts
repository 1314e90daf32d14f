/**
 * Cucumber's parallel workers (`--parallel N`) and what each one owns: a run id of its own (`<run id>-w<n>`, so
 * its ephemeral stack's names `cph-<run id>-w<n>-*` never meet another worker's), its own sandbox (one per
 * worker thread on target `sandbox` without `HARNESS_ENDPOINT`), and its part of the run's Markdown summary,
 * merged into one file by the coordinator at the end.
 *
 * @example
 * const worker = cucumberWorker();           // { index: 1, total: 2 } in worker 1 of `--parallel 2`
 * workerRunId('ci-42', 1);                    // 'ci-42-w1'
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RUN_ID_PATTERN } from '../src/stack/names.ts';

/** This thread's place among cucumber's parallel workers. */
export interface CucumberWorker {
  /** 0-based, as cucumber numbers them (`CUCUMBER_WORKER_ID`). */
  readonly index: number;
  /** How many workers the run has (`CUCUMBER_TOTAL_WORKERS`). */
  readonly total: number;
}

/**
 * The worker this code runs in, or undefined in a serial run and in the coordinator of a parallel one.
 *
 * @example
 * if (cucumberWorker()) console.log('one of several workers');
 */
export function cucumberWorker(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CucumberWorker | undefined {
  if (env.CUCUMBER_PARALLEL !== 'true' || env.CUCUMBER_WORKER_ID === undefined) return undefined;
  const index = Number(env.CUCUMBER_WORKER_ID);
  const total = Number(env.CUCUMBER_TOTAL_WORKERS);
  if (!Number.isInteger(index) || index < 0 || !Number.isInteger(total) || total <= index) {
    throw new Error(
      `cucumber's worker variables are inconsistent (CUCUMBER_WORKER_ID=${env.CUCUMBER_WORKER_ID}, ` +
        `CUCUMBER_TOTAL_WORKERS=${env.CUCUMBER_TOTAL_WORKERS}): leave them to cucumber's --parallel`,
    );
  }
  return { index, total };
}

/**
 * The run id of worker `index` of run `runId`: `<run id>-w<index>`, a run id in its own right (what its stack is
 * named after, what its tags say, what `codepipeline-harness sweep --run` takes after a killed run).
 *
 * @throws Error when the result would break the run id rule (a run id of 14+ characters leaves no room).
 * @example
 * workerRunId('ci-42', 0) // 'ci-42-w0'
 */
export function workerRunId(runId: string, index: number): string {
  const id = `${runId}-w${index}`;
  if (!RUN_ID_PATTERN.test(id)) {
    throw new Error(
      `run id ${JSON.stringify(runId)} is too long for --parallel: each worker runs as <run id>-w<n> ` +
        `(here ${JSON.stringify(id)}, ${id.length} characters) and a run id has at most 16; use a run id of at ` +
        `most ${16 - `-w${index}`.length} characters (HARNESS_RUN_ID) or leave it unset`,
    );
  }
  return id;
}

/** One scenario's line in the Markdown summary. */
export interface ScenarioSummary {
  name: string;
  status: string;
  seconds: number;
  note: string;
  /** When it started (ms since the epoch), to order a parallel run's rows. */
  startedAt: number;
  /** The run id it ran under (a worker's own in a parallel run). */
  runId: string;
  /** How it noticed changes (events, or polling and why), for the summary's count over the whole run. */
  watched?: string;
}

/** Where worker `workerRun` of the run keeps its summary rows until the coordinator merges them. */
function partPath(summary: string, workerRun: string): string {
  return join(dirname(summary), `.${basename(summary)}.${workerRun}.json`);
}

/**
 * Writes this worker's rows beside the summary (a hidden JSON file), for {@link mergeSummaryParts}.
 *
 * @example
 * writeSummaryPart('reports/summary.md', 'ci-42-w1', rows);
 */
export function writeSummaryPart(summary: string, workerRun: string, rows: readonly ScenarioSummary[]): void {
  writeFileSync(partPath(summary, workerRun), `${JSON.stringify(rows)}\n`);
}

/**
 * Reads and removes the parts the workers of run `runId` wrote beside `summary`: every worker's rows, in the
 * order the scenarios started, and the worker run ids that wrote them; undefined when there are none (a serial
 * run, whose one thread writes the summary itself).
 *
 * @example
 * const merged = mergeSummaryParts('reports/summary.md', 'ci-42');
 */
export function mergeSummaryParts(
  summary: string,
  runId: string,
): { rows: ScenarioSummary[]; workerRuns: string[] } | undefined {
  const dir = dirname(summary);
  if (!existsSync(dir)) return undefined;
  const prefix = `.${basename(summary)}.${runId}-w`;
  const parts = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /^\d+\.json$/.test(f.slice(prefix.length)))
    .sort(
      (a, b) => Number.parseInt(a.slice(prefix.length), 10) - Number.parseInt(b.slice(prefix.length), 10),
    );
  if (parts.length === 0) return undefined;
  const rows: ScenarioSummary[] = [];
  const workerRuns: string[] = [];
  for (const part of parts) {
    const file = join(dir, part);
    rows.push(...(JSON.parse(readFileSync(file, 'utf8')) as ScenarioSummary[]));
    workerRuns.push(`${runId}-w${Number.parseInt(part.slice(prefix.length), 10)}`);
    rmSync(file, { force: true });
  }
  rows.sort((a, b) => a.startedAt - b.startedAt);
  return { rows, workerRuns };
}
