/**
 * `npm run acceptance -- --parallel 2`: cucumber's two workers run two scenarios at the same time, each with its
 * own run id (`<run>-w<n>`), sandbox and stack; the reports (HTML, JUnit, NDJSON, summary.md) hold both; nothing
 * is left: no process, no temp dir, no stack (each scenario's leak check is clean), no summary part.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCucumber } from './fixtures/run-cucumber.ts';

const work = mkdtempSync(join(tmpdir(), 'cph-parallel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Envelope {
  testCaseStarted?: { id: string; workerId?: string; timestamp: { seconds: number; nanos: number } };
  testCaseFinished?: { testCaseStartedId: string; timestamp: { seconds: number; nanos: number } };
  attachment?: { testCaseStartedId?: string; mediaType: string; fileName?: string; body: string };
}

const ms = (t: { seconds: number; nanos: number }) => t.seconds * 1000 + t.nanos / 1e6;

/** Processes whose command line names `dir` (instances, builds and git run from the sandbox's data dirs). */
async function processesIn(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((line) => line.includes(dir) && !line.includes(' ps -eo'));
}

describe('cucumber --parallel 2', () => {
  it('runs two scenarios at once, each on a stack of its own worker run id, reports both and leaves nothing', async () => {
    const reports = join(work, 'reports');
    const temp = join(work, 'tmp');
    mkdirSync(temp);
    const run = await runCucumber(work, {
      features: ['approval.feature', 'build-gate.feature'],
      format: [
        'summary',
        `html:${join(reports, 'cucumber-report.html')}`,
        `junit:${join(reports, 'cucumber-junit.xml')}`,
        `message:${join(reports, 'cucumber-messages.ndjson')}`,
      ],
      env: { CI: 'true', HARNESS_REPORTS_DIR: reports, TMPDIR: temp, HARNESS_RUN_ID: '' },
      args: ['--parallel', '2'],
    });
    expect(run.stdout).toMatch(/2 scenarios \(2 passed\)/);

    // Each worker said its own run id, derived from the run's one.
    const lines = [...run.stderr.matchAll(/run id (\S+) \(worker (\d) of 2 of run (\S+),/g)];
    expect(lines.map((m) => m[2]).sort()).toEqual(['1', '2']);
    const base = lines[0]?.[3] ?? '';
    expect(lines.map((m) => m[1]).sort()).toEqual([`${base}-w0`, `${base}-w1`]);

    // The two scenarios ran at the same time, on different workers.
    const envelopes = readFileSync(join(reports, 'cucumber-messages.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Envelope);
    const started = envelopes.flatMap((e) => (e.testCaseStarted ? [e.testCaseStarted] : []));
    const finished = new Map(
      envelopes.flatMap((e) =>
        e.testCaseFinished ? [[e.testCaseFinished.testCaseStartedId, ms(e.testCaseFinished.timestamp)]] : [],
      ),
    );
    expect(started).toHaveLength(2);
    expect(new Set(started.map((s) => s.workerId))).toEqual(new Set(['0', '1']));
    const [a, b] = started.map((s) => ({ from: ms(s.timestamp), to: finished.get(s.id) ?? Number.NaN }));
    expect(a && b && a.from < b.to && b.from < a.to, 'the scenarios overlap in time').toBe(true);

    // Each scenario's stack was its worker's (cph-<run>-w<n>-*) and its leak check found nothing left.
    const teardowns = envelopes.flatMap((e) =>
      e.attachment?.fileName === 'teardown.json' ? [e.attachment] : [],
    );
    expect(teardowns).toHaveLength(2);
    const stacks = teardowns.map((t) => {
      const body = JSON.parse(t.body) as { leaks: { clean: boolean } };
      expect(body.leaks.clean).toBe(true);
      return /cph-([a-z0-9-]+)-w(\d)-/.exec(t.body)?.slice(1, 3).join('-w');
    });
    expect(stacks.sort()).toEqual([`${base}-w0`, `${base}-w1`]);

    // Whole reports: one summary with both rows and both worker ids, JUnit with both, no part left behind.
    const summary = readFileSync(join(reports, 'summary.md'), 'utf8');
    expect(summary).toContain(`Run id: \`${base}\`, in 2 parallel workers`);
    expect(summary).toContain('2 scenarios: 2 passed, 0 not passed');
    // How the scenarios noticed changes, counted over both workers' scenarios.
    expect(summary).toMatch(/How changes were noticed: .*\(2 scenarios\)\./);
    expect(summary).toMatch(
      new RegExp(`Rejecting the approval.*\\| PASSED \\| [\\d.]+ \\| ${base}-w\\d \\|`),
    );
    expect(summary).toMatch(new RegExp(`failing unit test.*\\| PASSED \\| [\\d.]+ \\| ${base}-w\\d \\|`));
    expect(readdirSync(reports).sort()).toEqual([
      'cucumber-junit.xml',
      'cucumber-messages.ndjson',
      'cucumber-report.html',
      'summary.md',
    ]);
    expect(readFileSync(join(reports, 'cucumber-junit.xml'), 'utf8').match(/<testcase /g)).toHaveLength(2);

    // Nothing left: no process runs from the run's temp dir, and the sandboxes removed their data dirs.
    expect(await processesIn(temp)).toEqual([]);
    expect(readdirSync(temp).filter((f) => f !== 'node-compile-cache')).toEqual([]);
    expect(existsSync(join(reports, '.summary.md'))).toBe(false);
  }, 300_000);
});
