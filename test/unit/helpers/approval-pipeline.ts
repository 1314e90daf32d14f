/**
 * A sandbox with a two-stage pipeline (Source → Approval) on a seeded CodeCommit repository: what the approval
 * tests share. CreatePipeline starts an execution of the branch head, as on AWS: it is approved through (or
 * rejected) before this resolves, so the approval stage is free for the test's own executions.
 *
 * @example
 * const gate = await startApprovalPipeline('gate');
 * const { commitId } = await pushVersionBump({ repoUrl: gate.repoUrl, runId: 'r1', auth: SANDBOX_GIT_AUTH });
 * await gate.stop();
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import { type CreateClientsOptions, createClients, destroyClients } from '../../../src/aws/clients.ts';
import { type HarnessConfigInput, loadConfig } from '../../../src/config.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';
import { type Sandbox, startSandbox } from '../../../src/sandbox/index.ts';
import { approvalStage, declarePipeline, sourceStage } from '../../sandbox/helpers/pipeline.ts';
import { withGitCredentials } from '../../sandbox/helpers/signed.ts';

const exec = promisify(execFile);

export interface ApprovalPipeline {
  readonly sandbox: Sandbox;
  readonly clients: ReturnType<typeof createClients>;
  readonly pipeline: Pipeline;
  /** The pipeline's name: `<name>-pipeline`. */
  readonly pipelineName: string;
  readonly repoUrl: string;
  /** The branch head CreatePipeline's own execution runs. */
  readonly seedCommit: string;
  /** Closes the clients, stops the sandbox, removes the work dir. */
  stop(): Promise<void>;
}

export interface ApprovalPipelineOptions {
  /** Config over the sandbox endpoint (e.g. `stack: 'existing'`). */
  config?: HarnessConfigInput;
  /** Retry policy of the clients. */
  clients?: CreateClientsOptions;
  /**
   * What to do with CreatePipeline's own execution of the branch head, so it does not hold the approval stage:
   * approve it through (and wait for the stage to succeed), or reject it out of the way. @default 'approve'
   */
  first?: 'approve' | 'reject';
}

export async function startApprovalPipeline(
  name: string,
  options: ApprovalPipelineOptions = {},
): Promise<ApprovalPipeline> {
  const work = await mkdtemp(join(tmpdir(), `harness-${name}-`));
  const sandbox = await startSandbox({ timeScale: 0.01, faults: [] });
  const clients = createClients(
    loadConfig({ env: {}, overrides: { ...options.config, endpoint: sandbox.endpoint } }),
    {},
    options.clients,
  );
  const stop = async () => {
    destroyClients(clients);
    await sandbox.stop();
    await rm(work, { recursive: true, force: true });
  };
  try {
    const repoUrl = (await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: name })))
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
    const pipelineName = `${name}-pipeline`;
    await clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(pipelineName, [
          sourceStage(name, { outputArtifact: 'Src' }),
          approvalStage(),
        ]),
      }),
    );
    const pipeline = new Pipeline({ ...clients, pipelineName, interval: { min: 25, max: 250 } });
    const first = await pipeline.findExecution({ commitId: seedCommit, timeout: 20_000 });
    if (options.first === 'reject') {
      await pipeline.reject(first, { summary: 'out of the way', timeout: 20_000 });
    } else {
      await pipeline.approve(first, { summary: 'seed', timeout: 20_000 });
      await pipeline.waitForStage(first, 'Approval', 'Succeeded', { timeout: 20_000 });
    }
    return { sandbox, clients, pipeline, pipelineName, repoUrl, seedCommit, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
