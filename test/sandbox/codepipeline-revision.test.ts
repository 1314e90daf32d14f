/**
 * StartPipelineExecution's `sourceRevisions[].revisionValue` for revisionType COMMIT_ID must be a full commit
 * id (issue 15, least privilege: it reaches git, and `--output=<file>` is a git option that writes a file).
 * Anything else is refused before an execution starts, in the wording of AWS's request validation, through
 * the SDK and the AWS CLI alike.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreatePipelineCommand,
  ListPipelineExecutionsCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli } from './helpers/aws-cli.ts';
import { approvalStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const PIPELINE = 'revision-checks';

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

function refusal(value: string): string {
  return `1 validation error detected: Value '${value}' at 'sourceRevisions.1.member.revisionValue' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-fA-F]{40} (revisionType COMMIT_ID takes the full 40-character id of a commit, e.g. the output of git rev-parse HEAD)`;
}

describe('StartPipelineExecution validates COMMIT_ID source revisions', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'cph-revision-'));
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(PIPELINE, [
          sourceStage('revision-repo', { pollForSourceChanges: false }),
          approvalStage('Approve', 'Approve'),
        ]),
      }),
    );
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const executions = async () =>
    (await sb.clients.codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: PIPELINE })))
      .pipelineExecutionSummaries ?? [];

  const start = (revisionValue: string) =>
    sb.clients.codepipeline.send(
      new StartPipelineExecutionCommand({
        name: PIPELINE,
        sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue }],
      }),
    );

  it('refuses a git option as the revision, starts nothing and writes no file', async () => {
    const before = (await executions()).length;
    const target = path.join(scratch, 'written-by-git');
    const value = `--output=${target}`;
    expect(await errorOf(start(value))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: refusal(value),
    });
    expect(await executions()).toHaveLength(before);
    await expect(access(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['an abbreviated commit id', 'a1b2c3d'],
    ['a branch name', 'main'],
    ['a revision expression', 'HEAD~1'],
    ['a 40-character value that is not hex', 'g'.repeat(40)],
  ])('refuses %s', async (_what, value) => {
    expect(await errorOf(start(value))).toEqual({
      name: 'ValidationException',
      status: 400,
      message: refusal(value),
    });
  });

  it('answers the AWS CLI with the same ValidationException', async () => {
    const value = `--output=${path.join(scratch, 'cli')}`;
    const r = await awsCli(sb.sandbox.endpoint, [
      'codepipeline',
      'start-pipeline-execution',
      '--name',
      PIPELINE,
      '--source-revisions',
      JSON.stringify([{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: value }]),
    ]);
    expect(r.errorCode).toBe('ValidationException');
    expect(r.stderr).toContain(refusal(value));
  });

  it('starts an execution for a full commit id', async () => {
    const commitId = 'c0ffee'.padEnd(40, '0');
    const started = await start(commitId);
    expect(started.pipelineExecutionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await executions()).map((e) => e.pipelineExecutionId)).toContain(started.pipelineExecutionId);
  });
});
