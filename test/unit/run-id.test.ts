/**
 * One rule for a run id, in the config schema: an id that breaks it is refused with the key, the value, the rule
 * and an example (never replaced behind the user's back, as provision() and the cucumber hooks did); the id in use
 * is the one printed at the start of a run and written in reports/summary.md; and a run's resources are told apart
 * from those of runs whose ids share a prefix.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { configError } from './helpers/config-error.ts';
import { Harness } from '../../src/harness.ts';
import { isRunResourceName, newRunId, RUN_ID_PATTERN, stackNames } from '../../src/stack/names.ts';
import type { Leftover } from '../../src/teardown/leaks.ts';
import { runMatcher } from '../../src/teardown/sweep-match.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'harness-run-id-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the run id rule', () => {
  it('refuses an id that cannot name resources, naming the key, the value, the rule and an example', () => {
    const error = configError(() => loadConfig({ env: { HARNESS_RUN_ID: 'Nightly-CI' } }));
    expect(error.key).toBe('runId');
    expect(error.message).toMatchInlineSnapshot(
      `"HARNESS_RUN_ID (runId): expected a run id of 1-16 lowercase letters, digits or dashes, starting with a letter or digit (it names the run's resources cph-<run id>-*), e.g. "ci-42", got "Nightly-CI" from HARNESS_RUN_ID; fix: set HARNESS_RUN_ID or runId in the config file/code to a valid value"`,
    );
  });

  it.each(['a-very-long-run-id-17', '-ci', 'ci_2', '', 'ci.2'])('refuses %j', (runId) => {
    expect(configError(() => loadConfig({ env: {}, overrides: { runId } })).key).toBe('runId');
  });

  it('takes a good id as it is, and its default is a fresh id within the rule', () => {
    expect(loadConfig({ env: { HARNESS_RUN_ID: 'ci-42' } }).runId).toBe('ci-42');
    const ids = Array.from({ length: 200 }, () => loadConfig({ env: {} }).runId);
    for (const id of [...ids, newRunId()]) {
      expect(id).toMatch(RUN_ID_PATTERN);
      expect(stackNames(id).runId).toBe(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses a bad id when the harness starts, instead of replacing it when it provisions', async () => {
    await expect(
      Harness.start({ config: { runId: 'Team-A', endpoint: 'http://127.0.0.1:1' } }),
    ).rejects.toThrow(/runId: expected a run id of 1-16 lowercase letters/);
  });
});

describe("a run's resources, exactly", () => {
  it('tells run ci from runs ci-2 and ci-nightly by name', () => {
    for (const name of Object.values(stackNames('ci')).filter((v) => v.startsWith('cph-ci-'))) {
      expect(isRunResourceName(name, 'ci')).toBe(true);
    }
    for (const run of ['ci-2', 'ci-nightly']) {
      for (const name of Object.values(stackNames(run)).filter((v) => v.startsWith('cph-'))) {
        expect(isRunResourceName(name, 'ci'), name).toBe(false);
      }
    }
  });

  it('keeps tagged leftovers, exact names, and blue/green copies of exactly the run group', () => {
    const keep = runMatcher('ci');
    const item = (kind: Leftover['kind'], id: string, reason = 'name'): Leftover => ({ kind, id, reason });
    const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
    expect(
      [
        item('pipeline', 'cph-ci-pipeline'),
        item('pipeline', 'cph-ci-2-pipeline'),
        item('deployment-group', 'cph-ci-app/cph-ci-dg'),
        item('deployment-group', 'cph-ci-nightly-app/cph-ci-nightly-dg'),
        item('load-balancer', `${arn}:loadbalancer/app/cph-ci-alb/50dc6c495c0c9188`),
        item('load-balancer', `${arn}:loadbalancer/app/cph-ci-2-alb/50dc6c495c0c9188`),
        item('load-balancer', `${arn}:loadbalancer/app/other/50dc6c495c0c9188`, 'tag'),
        item('target-group', `${arn}:targetgroup/cph-ci-tg/6d0ecf831eec9f09`),
        item('auto-scaling-group', 'CodeDeploy_cph-ci-dg_d-ABCDEFGH1', 'codedeploy-copy'),
        item('auto-scaling-group', 'CodeDeploy_cph-ci-2-dg_d-ABCDEFGH1', 'codedeploy-copy'),
        item('repository', 'cph-ci-nightly-repo'),
      ]
        .filter(keep)
        .map((l) => l.id.replace(/^arn:.*:/, '')),
    ).toEqual([
      'cph-ci-pipeline',
      'cph-ci-app/cph-ci-dg',
      'loadbalancer/app/cph-ci-alb/50dc6c495c0c9188',
      'loadbalancer/app/other/50dc6c495c0c9188',
      'targetgroup/cph-ci-tg/6d0ecf831eec9f09',
      'CodeDeploy_cph-ci-dg_d-ABCDEFGH1',
    ]);
  });
});

describe('the run id in the console and the report', () => {
  it('is printed when a cucumber run starts and written in its summary', async () => {
    const work = join(dir, 'cucumber');
    mkdirSync(join(work, 'features'), { recursive: true });
    // A feature whose one scenario the tags leave out: the run's hooks run, no stack is made.
    writeFileSync(
      join(work, 'features', 'none.feature'),
      'Feature: nothing\n  @never\n  Scenario: left out\n    Given nothing\n',
    );
    writeFileSync(join(work, 'cucumber.json'), '{ "default": {} }\n');
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        join(root, 'node_modules', '@cucumber', 'cucumber', 'bin', 'cucumber.js'),
        '--import',
        join(root, 'steps', 'support.ts'),
        '--tags',
        '@only',
        join('features', 'none.feature'),
      ],
      {
        cwd: work,
        env: {
          ...process.env,
          CI: 'true',
          HARNESS_RUN_ID: 'ci-77',
          HARNESS_REPORTS_DIR: join(work, 'reports'),
        },
        timeout: 120_000,
      },
    );
    expect(stderr).toContain(
      'codepipeline-harness: run id ci-77 (target sandbox, stack ephemeral); if it is killed, clean up with: codepipeline-harness sweep --run ci-77',
    );
    expect(readFileSync(join(work, 'reports', 'summary.md'), 'utf8')).toContain(
      'Run id: `ci-77` (a killed run is cleaned up with `codepipeline-harness sweep --run ci-77`).',
    );
  }, 120_000);
});
