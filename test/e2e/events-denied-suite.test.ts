/**
 * Issue 16, "done when": with events unavailable (the sandbox denies EventBridge's PutRule, as a team's policy
 * would), the acceptance suite still passes, on polling, and its summary says how changes were noticed and why.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCucumber } from './fixtures/run-cucumber.ts';

const work = mkdtempSync(join(tmpdir(), 'cph-events-denied-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the acceptance suite with EventBridge denied', () => {
  it('passes on polling and says so in the summary, naming the denied action', async () => {
    const reports = join(work, 'reports');
    const temp = join(work, 'tmp');
    mkdirSync(temp);
    const faults = JSON.stringify({ rules: [{ type: 'deny', service: 'events', operation: 'PutRule' }] });
    const run = await runCucumber(work, {
      features: ['approval.feature'],
      format: ['summary'],
      env: {
        CI: 'true',
        HARNESS_REPORTS_DIR: reports,
        HARNESS_SANDBOX_FAULTS: faults,
        HARNESS_EVENTS: 'auto',
        TMPDIR: temp,
        HARNESS_RUN_ID: '',
      },
    });
    expect(run.stdout).toMatch(/1 scenario \(1 passed\)/);
    const summary = readFileSync(join(reports, 'summary.md'), 'utf8');
    expect(summary).toMatch(
      /How changes were noticed: polling: setting up EventBridge rule and SQS queue cph-\S+-events failed: access denied, .*events:PutRule.* \(1 scenario\)\./,
    );
  }, 300_000);
});
