/**
 * Approvals and supersession on the sandbox (aws-semantics §2.3, §2.9): the harness answers only its own
 * execution's approval, reports a superseded execution with the one that replaced it, and a rejection fails
 * the execution at the approval stage.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { ApprovalNotOursError, ExecutionSupersededError } from '../../src/errors.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { pushVersionBump } from '../../src/source/push.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { approvalStage, declarePipeline, sourceStage } from '../sandbox/helpers/pipeline.ts';
import { SANDBOX_GIT_AUTH, withGitCredentials } from '../sandbox/helpers/signed.ts';

const exec = promisify(execFile);

describe('approvals and supersession on the sandbox', () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof createClients>;
  let pipeline: Pipeline;
  let repoUrl: string;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'harness-approvals-'));
    sandbox = await startSandbox({ timeScale: 0.01 });
    clients = createClients(loadConfig({ env: {}, overrides: { endpoint: sandbox.endpoint } }));
    repoUrl = (await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'gate' })))
      .repositoryMetadata!.cloneUrlHttp!;
    // Async git only: the sandbox serves git from this very process.
    const seed = join(work, 'seed');
    await exec('git', ['clone', '-q', withGitCredentials(repoUrl), seed], { timeout: 30_000 });
    const git = (...args: string[]) =>
      exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: seed, timeout: 30_000 });
    await exec('sh', ['-c', 'echo v0 > VERSION'], { cwd: seed });
    await git('checkout', '-q', '-B', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'seed');
    await git('push', '-q', 'origin', 'HEAD:main');
    const seedCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
    await clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline('gate-pipeline', [
          sourceStage('gate', { outputArtifact: 'Src' }),
          approvalStage(),
        ]),
      }),
    );
    pipeline = new Pipeline({ ...clients, pipelineName: 'gate-pipeline', interval: { min: 25, max: 250 } });
    // CreatePipeline starts an execution of the branch head, as on AWS: let it through first.
    const first = await pipeline.findExecution({ commitId: seedCommit, timeout: 20_000 });
    await pipeline.approve(first, { summary: 'seed', timeout: 20_000 });
    await pipeline.waitForStage(first, 'Approval', 'Succeeded', { timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    if (clients) destroyClients(clients);
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('answers only its own approval, reports supersession, and a rejection fails the execution', async () => {
    const push = () => pushVersionBump({ repoUrl, runId: 'run-gate', auth: SANDBOX_GIT_AUTH });
    const a = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    await pipeline.waitForStage(a, 'Approval', 'InProgress', { timeout: 20_000 });

    // B waits in front of the locked approval stage: the open approval is A's, never B's.
    const b = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    await pipeline.waitForStage(b, 'Source', 'Succeeded', { timeout: 20_000 });
    const refused = (await pipeline
      .approve(b, { summary: 'b', timeout: 500 })
      .catch((e: unknown) => e)) as ApprovalNotOursError;
    expect(refused).toBeInstanceOf(ApprovalNotOursError);
    expect(refused.openFor).toBe(a.pipelineExecutionId);

    // C replaces B in front of the stage: B is superseded, and says by whom.
    const c = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    const superseded = (await pipeline
      .waitForStage(b, 'Approval', 'Succeeded', { timeout: 20_000 })
      .catch((e: unknown) => e)) as ExecutionSupersededError;
    expect(superseded).toBeInstanceOf(ExecutionSupersededError);
    expect(superseded.supersededBy).toBe(c.pipelineExecutionId);

    // Rejecting A fails it at the approval; C then gets its own approval, which the harness answers.
    await pipeline.reject(a, { summary: 'not this one' });
    await pipeline.waitForStage(a, 'Approval', 'Failed', { timeout: 20_000 });
    await pipeline.approve(c, { summary: 'ship it', timeout: 20_000 });
    await pipeline.waitForStage(c, 'Approval', 'Succeeded', { timeout: 20_000 });
    const entries = pipeline.timeline
      .of(c.pipelineExecutionId)
      .map((e) => `${e.stage ?? '-'}/${e.action ?? '-'} ${e.status}`);
    expect(entries).toContain('Approval/ManualApproval Approved');
    expect(entries).toContain('Approval/- Succeeded');
  }, 120_000);
});
