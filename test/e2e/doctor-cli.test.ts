/**
 * `codepipeline-harness doctor`: exit 0 when no check failed, 1 when one did, 2 for usage errors; text or JSON.
 * Each run gets only the environment the test gives it (no HARNESS_* or AWS_* of this machine).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/doctor/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const home = mkdtempSync(join(tmpdir(), 'harness-doctor-'));
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
});
afterAll(async () => {
  await sandbox?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** Runs the CLI with `env` only (plus PATH), as a machine with nothing configured would. */
function doctor(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'doctor', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          // The SDK's default chain finds nothing here: no files, no instance role.
          AWS_CONFIG_FILE: join(home, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('codepipeline-harness doctor', () => {
  it('documents its checks and exit codes with --help (exit 0)', async () => {
    const { code, stdout } = await doctor(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: codepipeline-harness doctor \[--json\] \[--destructive\]/);
    expect(stdout).toContain('Exit status: 0 no check failed, 1 a check failed, 2 usage error.');
  });

  it('exits 2 on an option it does not know, saying which', async () => {
    const { code, stderr } = await doctor(['--destructiv']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^codepipeline-harness doctor: Unknown option '--destructiv'/);
  });

  it('exits 0 and prints the report as JSON when nothing failed', async () => {
    const { code, stdout } = await doctor(['--json'], { HARNESS_ENDPOINT: sandbox.endpoint });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report).toMatchObject({ ok: true, target: 'sandbox', stack: 'ephemeral', region: 'us-east-1' });
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['config', true],
      ['sandbox', true],
      ['credentials', true],
      ['pipeline', 'skipped'],
      ['source', 'skipped'],
      ['deployment-group', 'skipped'],
      ['load-balancer', 'skipped'],
      ['app-version', 'skipped'],
    ]);
    for (const check of report.checks) {
      expect(Object.keys(check).sort()).toEqual(['detail', 'durationMs', 'name', 'ok']);
    }
  });

  it('exits 1 with the ✗ and its fix when the pipeline is not there', async () => {
    const { code, stdout } = await doctor([], {
      HARNESS_ENDPOINT: sandbox.endpoint,
      HARNESS_STACK: 'existing',
      HARNESS_PIPELINE_NAME: 'team-pipeline',
    });
    expect(code).toBe(1);
    expect(stdout).toContain('✗ pipeline          no pipeline team-pipeline in us-east-1\n');
    expect(stdout).toContain(
      '    fix: set HARNESS_PIPELINE_NAME to your pipeline (pipelines in us-east-1: none), and HARNESS_REGION if ' +
        'it is in another region\n',
    );
    // The load balancer is named wrong too (the default): the same pass says so.
    expect(stdout).toContain('✗ load-balancer     no load balancer awscicd-cap-alb in us-east-1\n');
    expect(stdout).toMatch(/\n2 failed, 3 passed, 3 skipped \(.*\)\n$/);
  });

  it('answers "no credentials" once on AWS with none, instead of a stack trace per scenario (exit 1)', async () => {
    const { code, stdout, stderr } = await doctor([], { HARNESS_TARGET: 'aws', HARNESS_REGION: 'eu-west-1' });
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(stdout).toContain(
      '✗ credentials       no AWS credentials (CredentialsProviderError: Could not load credentials from any providers)\n' +
        '    fix: no credentials: set AWS_PROFILE or run `aws sso login` (or export AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY; on CI give the job a role)\n',
    );
    expect(stdout.match(/✗/g)).toHaveLength(1);
  });

  it('exits 1 on a config that does not load, with the ConfigError as the fix', async () => {
    const { code, stdout } = await doctor(['--json'], { HARNESS_TIMEOUT_DEPLOY: 'soon' });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.checks[0]).toMatchObject({
      name: 'config',
      ok: false,
      detail: 'the configuration does not load (timeouts.deploy from HARNESS_TIMEOUT_DEPLOY)',
      fix: expect.stringMatching(/^HARNESS_TIMEOUT_DEPLOY \(timeouts.deploy\): expected a duration/),
    });
  });
});
