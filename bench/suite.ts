/**
 * Section 8: the acceptance suite's wall time, serial and with cucumber's `--parallel 2`, in one run on this
 * machine (the sandbox target: each worker its own sandbox and stack). Reports go to a temp dir (the
 * repository's reports/ are left alone); the machine's load average is recorded beside each run, since other
 * work on a 2-core machine changes what parallel can gain.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import type { Section, SectionContext } from './lib/section.ts';
import { throwIfOver } from './lib/section.ts';
import { fmt } from './lib/stats.ts';

const ROOT = join(import.meta.dirname, '..');
const CUCUMBER = join(ROOT, 'node_modules', '@cucumber', 'cucumber', 'bin', 'cucumber.js');

export interface SuiteRun {
  workers: number;
  wallMs: number;
  scenarios: number;
  passed: number;
  /** 1-minute load average before and after the run. */
  load: [number, number];
}

/** Runs the suite once with `workers` (1 = serial); resolves its wall time and scenario counts. */
async function runSuite(
  context: SectionContext,
  dir: string,
  workers: number,
  quick: boolean,
): Promise<SuiteRun> {
  const reports = join(dir, `reports-${workers}`);
  const config = join(dir, `cucumber-${workers}.json`);
  const paths = quick
    ? ['features/approval.feature', 'features/build-gate.feature']
    : ['features/**/*.feature'];
  await writeFile(
    config,
    JSON.stringify({
      default: {
        paths: paths.map((p) => join(ROOT, p)),
        import: [join(ROOT, 'steps', 'support.ts')],
        format: ['summary', `message:${join(reports, 'cucumber-messages.ndjson')}`],
        strict: true,
      },
    }),
  );
  const args = [
    CUCUMBER,
    '--config',
    relative(ROOT, config),
    ...(workers > 1 ? ['--parallel', String(workers)] : []),
  ];
  const loadBefore = loadavg()[0] ?? 0;
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', HARNESS_REPORTS_DIR: reports },
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  });
  // The section's budget ends the run with its whole process group (its sandboxes' instances included).
  const onAbort = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  context.signal.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => context.signal.removeEventListener('abort', onAbort));
  const wallMs = performance.now() - started;
  throwIfOver(context.signal, `suite with ${workers} worker(s)`);
  const counts = /(\d+) scenarios? \(([^)]*)\)/.exec(out);
  const scenarios = Number(counts?.[1] ?? Number.NaN);
  const passed = Number(/(\d+) passed/.exec(counts?.[2] ?? '')?.[1] ?? 0);
  if (code !== 0 || passed !== scenarios) {
    throw new Error(`the suite with ${workers} worker(s) failed (exit ${code}): ${out.slice(-1500)}`);
  }
  return { workers, wallMs, scenarios, passed, load: [loadBefore, loadavg()[0] ?? 0] };
}

export const suite: Section = {
  name: 'suite',
  title: '8. Acceptance suite wall time on the sandbox: serial vs cucumber --parallel 2',
  budgetMs: 330_000,
  async run(context) {
    await mkdir(join(ROOT, 'temp'), { recursive: true });
    const dir = await mkdtemp(join(ROOT, 'temp', 'bench-suite-'));
    try {
      const serial = await runSuite(context, dir, 1, context.quick);
      context.log(`serial: ${fmt(serial.wallMs / 1000, 1)} s for ${serial.scenarios} scenarios`);
      const parallel = await runSuite(context, dir, 2, context.quick);
      context.log(`--parallel 2: ${fmt(parallel.wallMs / 1000, 1)} s`);
      const ratio = parallel.wallMs / serial.wallMs;
      const row = (label: string, r: SuiteRun) => [
        label,
        String(r.scenarios),
        fmt(r.wallMs / 1000, 1),
        `${fmt(r.load[0], 2)} -> ${fmt(r.load[1], 2)}`,
      ];
      const notes = [
        `Whole runs of cucumber-js (process start, support code, each worker's sandbox start, every scenario and its ` +
          `teardown), one after the other on this machine${context.quick ? ' (--quick: approval and build-gate features only)' : ''}. ` +
          `Parallel / serial = ${fmt(ratio, 2)} (goal <= 0.6 with 2 workers).`,
        'Load = the 1-minute load average before -> after the run: with 2 cores, a load near 2 from other work leaves ' +
          'the second worker little to run on.',
      ];
      if (ratio > 0.6) {
        notes.push(
          `Short of the goal: the scenarios are not equally long (the longest bounds a worker's share), each worker ` +
            'starts its own sandbox and runs its own builds and instances on the same 2 cores, and git, builds and ' +
            'app start-up are real work, not time-scaled waits.',
        );
      }
      return {
        tables: [
          {
            title: this.title,
            header: ['run', 'scenarios', 'wall s', 'load (1 min avg)'],
            rows: [
              row('serial', serial),
              row('--parallel 2', parallel),
              ['parallel / serial', '', fmt(ratio, 2), ''],
            ],
          },
        ],
        data: { serial, parallel, ratio, quick: context.quick },
        notes,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
