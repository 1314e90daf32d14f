/**
 * A failed build explained the way it must be on AWS (issue 13): the CodeBuild action's `errorDetails` only
 * name the command that failed, so the harness reads the build (BatchGetBuilds, the action's
 * `externalExecutionId`) and its CloudWatch Logs stream (GetLogEvents) and names the failing test. End to end on
 * the sandbox, through the harness's own clients: git push → pipeline → real `node --test` build → the error.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { ExecutionFailedError } from '../../src/errors.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { buildStage, declarePipeline, sourceStage } from '../sandbox/helpers/pipeline.ts';
import { withGitCredentials } from '../sandbox/helpers/signed.ts';

const exec = promisify(execFile);

const BUILDSPEC = `version: 0.2
phases:
  build:
    commands:
      - node --test
`;

const PASSING = `import { test } from 'node:test';
import assert from 'node:assert/strict';
test('adds', () => assert.equal(1 + 1, 2));
`;

/**
 * The unit tests of a commit pushed to the sandbox's repository (test data, not tests of this suite): one failing
 * test, one failing case in a suite, and a TODO case, which the log reader must NOT report as failing.
 */
const FAILING = `import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
test('release gate: this commit breaks a unit test on purpose', () => {
  assert.equal(1 + 1, 3, 'codepipeline-harness pushed a failing test to prove BuildAndTest stops the release');
});
describe('version', () => {
  it('matches the # of the release', () => assert.equal('v3', 'v4'));
  it('reads the VERSION file', { todo: true });
});
`;

describe('a failed build on the sandbox, explained from its log', () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof createClients>;
  let pipeline: Pipeline;
  let work: string;
  let git: (...args: string[]) => Promise<{ stdout: string }>;

  /** Commits `files` and pushes; resolves the commit id. */
  async function push(files: Record<string, string>, message: string): Promise<string> {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(work, 'tree', name), text);
    await git('add', '-A');
    await git('commit', '-q', '-m', message);
    await git('push', '-q', 'origin', 'HEAD:main');
    return (await git('rev-parse', 'HEAD')).stdout.trim();
  }

  /** The error waiting for BuildAndTest of the commit's execution ends with. */
  async function buildFailure(commitId: string): Promise<ExecutionFailedError> {
    const execution = await pipeline.findExecution({ commitId, timeout: 30_000 });
    const result = await pipeline.tryWaitForStage(execution, 'BuildAndTest', 'Succeeded', {
      timeout: 60_000,
    });
    if (result.ok) throw new Error(`BuildAndTest of ${commitId} succeeded`);
    expect(result.error).toBeInstanceOf(ExecutionFailedError);
    return result.error as ExecutionFailedError;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'harness-build-log-'));
    sandbox = await startSandbox({ timeScale: 0.01 });
    clients = createClients(loadConfig({ env: {}, overrides: { endpoint: sandbox.endpoint } }));
    const repo = (await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'gate-app' })))
      .repositoryMetadata!;
    // Async git only: the sandbox serves git from this very process.
    await exec('git', ['clone', '-q', withGitCredentials(repo.cloneUrlHttp!), join(work, 'tree')], {
      timeout: 30_000,
    });
    git = (...args: string[]) =>
      exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: join(work, 'tree'),
        timeout: 30_000,
      });
    await git('checkout', '-q', '-B', 'main');
    await push({ 'buildspec.yml': BUILDSPEC, 'app.test.mjs': PASSING }, 'seed');
    await clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline('gate-pipeline', [sourceStage('gate-app'), buildStage('gate-build')]),
      }),
    );
    pipeline = new Pipeline({ ...clients, pipelineName: 'gate-pipeline', interval: { min: 25, max: 250 } });
  }, 60_000);

  afterAll(async () => {
    destroyClients(clients);
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('names the failing tests from the build log; errorDetails stay what AWS says', async () => {
    const commitId = await push({ 'gate.test.mjs': FAILING }, 'Break a unit test on purpose');
    const error = await buildFailure(commitId);
    const failed = error.failed!;
    expect(failed).toMatchObject({
      stage: 'BuildAndTest',
      action: 'BuildAndTest',
      errorCode: 'JobFailed',
      errorMessage:
        'Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1',
    });
    expect(failed.externalExecutionId).toMatch(/^gate-build:[0-9a-f-]{36}$/);
    const log = failed.buildLog!;
    expect(log).toMatchObject({
      buildId: failed.externalExecutionId,
      buildStatus: 'FAILED',
      groupName: '/aws/codebuild/gate-build',
      streamName: failed.externalExecutionId!.split(':')[1],
    });
    expect(log.unreadable).toBeUndefined();
    // The leaf tests, not the suite that failed through one of them, nor the TODO.
    expect(log.failingTests).toEqual([
      'release gate: this commit breaks a unit test on purpose',
      'matches the # of the release',
    ]);
    // The end of what `node --test` printed: the last failure's assertion.
    expect(log.tail).toContain("'v3' !== 'v4'");
    expect(error.message).toContain(
      `failed at stage BuildAndTest, action BuildAndTest: JobFailed: Build terminated with state: FAILED. Phase: BUILD, ` +
        'Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1; ' +
        'failing tests: "release gate: this commit breaks a unit test on purpose", "matches the # of the release" ' +
        `(log /aws/codebuild/gate-build ${log.streamName})`,
    );
  }, 90_000);

  it('keeps the end of the log when no test is named (a command that is not a test run)', async () => {
    const commitId = await push(
      {
        'buildspec.yml':
          'version: 0.2\nphases:\n  build:\n    commands:\n      - \'echo "npm error Missing script: lint" >&2; exit 2\'\n',
        'gate.test.mjs': PASSING,
      },
      'A build step that fails',
    );
    const error = await buildFailure(commitId);
    const log = error.failed!.buildLog!;
    expect(log.failingTests).toEqual([]);
    expect(log.tail).toBe('npm error Missing script: lint');
    expect(error.message).toContain(
      '; the build log ends: npm error Missing script: lint (log /aws/codebuild/gate-build',
    );
  }, 90_000);
});
