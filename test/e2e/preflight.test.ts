/**
 * The preflight: a run that cannot work stops before the first scenario with one answer naming the fix, in the
 * console and in reports/summary.md, and the cucumber report has no half-run scenario. Here: AWS with no
 * credentials anywhere (no env keys, no profile files, no instance metadata).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const cwd = mkdtempSync(join(tmpdir(), 'harness-preflight-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('the preflight of a run', () => {
  it('stops a run on AWS without credentials before any scenario, with one message naming the fix', async () => {
    const env: Record<string, string | undefined> = { ...process.env, CI: 'true', HARNESS_TARGET: 'aws' };
    for (const key of Object.keys(env)) if (/^(AWS_|HARNESS_ENDPOINT)/.test(key)) delete env[key];
    Object.assign(env, {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(cwd, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'no-credentials'),
    });
    const result = await promisify(execFile)(process.execPath, [cli, 'run'], { cwd, env, timeout: 60_000 }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    const output = `${result.stdout}${result.stderr}`;
    expect(result.code).toBe(1);
    expect(output.match(/no AWS credentials/g)).toHaveLength(1);
    expect(output).toMatch(/fix: no credentials: set AWS_PROFILE or run `aws sso login`/);
    expect(output).toMatch(/0 scenarios/);
    const summary = readFileSync(join(cwd, 'reports', 'summary.md'), 'utf8');
    expect(summary).toMatch(/The preflight failed, so no scenario was run/);
    expect(summary).toMatch(/✗ credentials/);
    const messages = join(cwd, 'reports', 'cucumber-messages.ndjson');
    expect(existsSync(messages)).toBe(true);
    expect(readFileSync(messages, 'utf8')).not.toMatch(/"testCaseStarted"/);
  }, 90_000);
});
