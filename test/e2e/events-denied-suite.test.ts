/**
 * Issue 16, "done when": with events unavailable (the sandbox denies EventBridge's PutRule, as a team's policy
 * would), the acceptance suite still passes, on polling, and its summary says how changes were noticed and why.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cucumber = join(root, 'node_modules', '@cucumber', 'cucumber', 'bin', 'cucumber.js');
const work = mkdtempSync(join(tmpdir(), 'cph-events-denied-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the acceptance suite with EventBridge denied', () => {
  it('passes on polling and says so in the summary, naming the denied action', async () => {
    const reports = join(work, 'reports');
    const temp = join(work, 'tmp');
    mkdirSync(temp);
    const config = join(work, 'cucumber.json');
    writeFileSync(
      config,
      JSON.stringify({
        default: {
          paths: [join(root, 'features', 'approval.feature')],
          import: [join(root, 'steps', 'support.ts')],
          format: ['summary'],
          strict: true,
        },
      }),
    );
    const faults = JSON.stringify({ rules: [{ type: 'deny', service: 'events', operation: 'PutRule' }] });
    const run = await promisify(execFile)(process.execPath, [cucumber, '--config', relative(root, config)], {
      cwd: root,
      env: {
        ...process.env,
        CI: 'true',
        HARNESS_REPORTS_DIR: reports,
        HARNESS_SANDBOX_FAULTS: faults,
        HARNESS_EVENTS: 'auto',
        TMPDIR: temp,
        HARNESS_RUN_ID: '',
      },
      timeout: 240_000,
      maxBuffer: 16 * 2 ** 20,
    }).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`cucumber failed:\n${error.stdout}\n${error.stderr}`);
    });
    expect(run.stdout).toMatch(/1 scenario \(1 passed\)/);
    const summary = readFileSync(join(reports, 'summary.md'), 'utf8');
    expect(summary).toMatch(
      /How changes were noticed: polling: setting up EventBridge rule and SQS queue cph-\S+-events failed: access denied, .*events:PutRule.* \(1 scenario\)\./,
    );
  }, 300_000);
});
