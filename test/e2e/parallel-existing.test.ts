/**
 * `--parallel 2` on an existing stack (a team's, built with the AWS CLI as CI builds it): one pipeline and one
 * source branch, so the scenarios take turns instead of superseding each other's executions, and the run says so.
 * Asserted from the run's own messages: the two scenarios do not overlap in time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { runCucumber } from './fixtures/run-cucumber.ts';

const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'cph-parallel-existing-'));
let sandbox: Sandbox;
let teamEnv: Record<string, string>;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  const envFile = join(work, 'team.env');
  await promisify(execFile)(
    join(root, 'test', 'existing-stack', 'build-team-stack.sh'),
    [sandbox.endpoint, envFile],
    { cwd: root, timeout: 180_000, env: { ...process.env, TMPDIR: work } },
  );
  teamEnv = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const m = /^(HARNESS_[A-Z_]+)=(.*)$/.exec(line.trim());
        return m ? [[m[1] as string, (m[2] as string).replace(/^['"]|['"]$/g, '')]] : [];
      }),
  );
}, 240_000);
afterAll(async () => {
  await sandbox?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Envelope {
  testCaseStarted?: { id: string; workerId?: string; timestamp: { seconds: number; nanos: number } };
  testCaseFinished?: { testCaseStartedId: string; timestamp: { seconds: number; nanos: number } };
}
const ms = (t: { seconds: number; nanos: number }) => t.seconds * 1000 + t.nanos / 1e6;

describe('cucumber --parallel 2 on an existing stack', () => {
  it('runs the scenarios one at a time and says why', async () => {
    expect(teamEnv.HARNESS_STACK).toBe('existing');
    const reports = join(work, 'reports');
    const run = await runCucumber(work, {
      features: ['approval.feature', 'build-gate.feature'],
      format: ['summary', `message:${join(reports, 'cucumber-messages.ndjson')}`],
      env: {
        ...teamEnv,
        HARNESS_ENDPOINT: sandbox.endpoint,
        HARNESS_REPORTS_DIR: reports,
        HARNESS_RUN_ID: '',
        CI: 'true',
      },
      args: ['--parallel', '2'],
    });
    expect(run.stdout).toMatch(/2 scenarios \(2 passed\)/);
    expect(run.stderr).toContain(
      'stack existing, so the scenarios run one at a time although cucumber has 2 workers',
    );
    const envelopes = readFileSync(join(reports, 'cucumber-messages.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Envelope);
    const finished = new Map(
      envelopes.flatMap((e) =>
        e.testCaseFinished ? [[e.testCaseFinished.testCaseStartedId, ms(e.testCaseFinished.timestamp)]] : [],
      ),
    );
    const spans = envelopes
      .flatMap((e) => (e.testCaseStarted ? [e.testCaseStarted] : []))
      .map((s) => ({ from: ms(s.timestamp), to: finished.get(s.id) ?? Number.NaN }))
      .sort((a, b) => a.from - b.from);
    expect(spans).toHaveLength(2);
    expect(spans[0]!.to, 'the second scenario starts after the first one ended').toBeLessThanOrEqual(
      spans[1]!.from,
    );
    const summary = readFileSync(join(reports, 'summary.md'), 'utf8');
    expect(summary).toContain('taking turns: the existing stack has one pipeline');
    expect(summary).toContain('2 scenarios: 2 passed, 0 not passed');
  }, 300_000);
});
