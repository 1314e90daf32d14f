/**
 * CodePipeline's artifact store on the sandbox: an action's output artifact lands, zipped, in the pipeline's
 * artifact bucket when that bucket exists in the sandbox's S3 (as on AWS), at the key the action execution shows;
 * the versioned bucket then needs emptying before it can be deleted, as a stack's artifact bucket does on AWS.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  CreatePipelineCommand,
  ListActionExecutionsCommand,
  type ActionExecutionDetail,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { emptyBucket } from '../../src/teardown/empty-bucket.ts';
import { gitRun } from './helpers/git.ts';
import { approvalStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const run = promisify(execFile);

describe('sandbox CodePipeline artifact store in S3', () => {
  const sb = useSandbox({ timeScale: 0.02, faults: [] });
  let s3: S3Client;
  let dir: string;
  beforeAll(async () => {
    s3 = new S3Client({
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      forcePathStyle: true,
    });
    dir = await mkdtemp(join(tmpdir(), 'cph-s3-artifacts-'));
  });
  afterAll(async () => {
    s3?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function sourceAction(pipelineName: string, executionId: string): Promise<ActionExecutionDetail> {
    return poll(
      async () => {
        const out = await sb.clients.codepipeline.send(
          new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId } }),
        );
        return out.actionExecutionDetails?.find((a) => a.actionName === 'Source');
      },
      {
        timeout: 60_000,
        what: `the Source action of ${pipelineName} to succeed`,
        isDone: (a) => a?.status === 'Succeeded' || a?.status === 'Failed',
        describe: (a) => a?.status ?? 'not started',
      },
    ) as Promise<ActionExecutionDetail>;
  }

  it('writes a source artifact as a zip into the versioned artifact bucket, at the key the action shows', async () => {
    const repo = 'artifact-app';
    const out = await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: repo }));
    const work = join(dir, 'work');
    await gitRun(dir, ['clone', '-q', out.repositoryMetadata!.cloneUrlHttp!, 'work']);
    await writeFile(join(work, 'VERSION'), '1.0.0\n');
    await writeFile(join(work, 'build.sh'), '#!/bin/sh\necho built\n');
    await chmod(join(work, 'build.sh'), 0o755);
    await gitRun(work, ['add', '.']);
    await gitRun(work, ['commit', '-q', '-m', 'first']);
    await gitRun(work, ['push', '-q', 'origin', 'HEAD:main']);

    const Bucket = 'artifact-app-store';
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const pipelineName = 'artifact-app-pipeline';
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(
          pipelineName,
          [sourceStage(repo, { pollForSourceChanges: false }), approvalStage()],
          { artifactBucket: Bucket },
        ),
      }),
    );
    const started = await sb.clients.codepipeline.send(
      new StartPipelineExecutionCommand({ name: pipelineName }),
    );
    const action = await sourceAction(pipelineName, started.pipelineExecutionId!);
    expect(action.status).toBe('Succeeded');
    const location = action.output?.outputArtifacts?.[0]?.s3location;
    expect(location?.bucket).toBe(Bucket);
    // <pipeline name cut to 20>/<artifact name cut to 10>/<7 characters>, as AWS cuts them.
    expect(location?.key).toMatch(/^artifact-app-pipelin\/SourceArti\/[0-9a-f]{7}$/);

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    expect(versions.Versions?.map((v) => v.Key)).toContain(location!.key);
    const zip = await s3.send(new GetObjectCommand({ Bucket, Key: location!.key! }));
    const zipFile = join(dir, 'source.zip');
    await writeFile(zipFile, Buffer.from(await zip.Body!.transformToByteArray()));
    // Python's zipfile (present wherever the AWS CLI is) reads it as any zip tool would.
    const listed = await run('python3', ['-m', 'zipfile', '-l', zipFile]);
    expect(listed.stdout).toContain('VERSION');
    expect(listed.stdout).toContain('build.sh');
    await run('python3', ['-m', 'zipfile', '-e', zipFile, join(dir, 'unzipped')]);
    expect(await readFile(join(dir, 'unzipped', 'VERSION'), 'utf8')).toBe('1.0.0\n');

    // The bucket now holds versions: DeleteBucket is refused until teardown empties it.
    await expect(s3.send(new DeleteBucketCommand({ Bucket }))).rejects.toMatchObject({
      name: 'BucketNotEmpty',
    });
    const emptied = await emptyBucket(s3, Bucket);
    expect(emptied.versions).toBeGreaterThanOrEqual(1);
    await s3.send(new DeleteBucketCommand({ Bucket }));
  });

  it('keeps artifacts local when the pipeline names a bucket the sandbox does not have', async () => {
    const repo = 'local-only-app';
    const out = await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: repo }));
    const work = join(dir, 'local-only');
    await gitRun(dir, ['clone', '-q', out.repositoryMetadata!.cloneUrlHttp!, 'local-only']);
    await writeFile(join(work, 'VERSION'), '2.0.0\n');
    await gitRun(work, ['add', '.']);
    await gitRun(work, ['commit', '-q', '-m', 'first']);
    await gitRun(work, ['push', '-q', 'origin', 'HEAD:main']);
    const pipelineName = 'local-only-pipeline';
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(
          pipelineName,
          [sourceStage(repo, { pollForSourceChanges: false }), approvalStage()],
          {
            artifactBucket: 'not-in-the-sandbox',
          },
        ),
      }),
    );
    const started = await sb.clients.codepipeline.send(
      new StartPipelineExecutionCommand({ name: pipelineName }),
    );
    expect((await sourceAction(pipelineName, started.pipelineExecutionId!)).status).toBe('Succeeded');
    expect(sb.sandbox.services.s3.hasBucket('not-in-the-sandbox')).toBe(false);
  });
});
