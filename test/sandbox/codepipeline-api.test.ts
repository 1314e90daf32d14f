/**
 * CodePipeline control plane through the real SDK v3 client and the AWS CLI against startSandbox():
 * create/get/update/delete/list, structure validation errors, tags, and the runbook pipeline created
 * from a JSON file with `create-pipeline --cli-input-json`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  ListTagsForResourceCommand,
  type PipelineDeclaration,
  TagResourceCommand,
  UntagResourceCommand,
  UpdatePipelineCommand,
} from '@aws-sdk/client-codepipeline';
import { describe, expect, it } from 'vitest';
import { awsCli } from './helpers/aws-cli.ts';
import { approvalStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'pipeline-runbook.json');

function twoStage(name: string): PipelineDeclaration {
  return declarePipeline(
    name,
    [sourceStage('repo', { outputArtifact: 'Src' }), approvalStage('Approve', 'Approve')],
    { artifactBucket: 'bucket-artifacts' },
  );
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return {
      name: e.name,
      message: e.message,
      ...(e.$metadata?.httpStatusCode ? { status: e.$metadata.httpStatusCode } : {}),
    };
  }
  throw new Error('expected the call to fail');
}

describe('CodePipeline API through the SDK', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });

  it('creates, reads (with metadata and versions), updates, lists and deletes a pipeline', async () => {
    const cp = sb.clients.codepipeline;
    const created = await cp.send(
      new CreatePipelineCommand({ pipeline: twoStage('sdk-one'), tags: [{ key: 'team', value: 'a' }] }),
    );
    expect(created.pipeline?.version).toBe(1);
    expect(created.tags).toEqual([{ key: 'team', value: 'a' }]);
    expect(created.pipeline?.stages?.[0]?.actions?.[0]?.runOrder).toBe(1);

    const got = await cp.send(new GetPipelineCommand({ name: 'sdk-one' }));
    expect(got.metadata?.pipelineArn).toBe('arn:aws:codepipeline:us-east-1:000000000000:sdk-one');
    expect(got.metadata?.created).toBeInstanceOf(Date);

    const changed = twoStage('sdk-one');
    changed.stages![1]!.name = 'Approval';
    const updated = await cp.send(new UpdatePipelineCommand({ pipeline: changed }));
    expect(updated.pipeline?.version).toBe(2);
    expect(
      (await cp.send(new GetPipelineCommand({ name: 'sdk-one', version: 1 }))).pipeline?.stages?.[1]?.name,
    ).toBe('Approve');
    expect(await errorOf(cp.send(new GetPipelineCommand({ name: 'sdk-one', version: 7 })))).toMatchObject({
      name: 'PipelineVersionNotFoundException',
      status: 400,
    });
    const state = await cp.send(new GetPipelineStateCommand({ name: 'sdk-one' }));
    expect(state.pipelineVersion).toBe(2);
    expect(state.stageStates?.map((s) => s.stageName)).toEqual(['Source', 'Approval']);

    const list = await cp.send(new ListPipelinesCommand({}));
    expect(list.pipelines?.find((p) => p.name === 'sdk-one')).toMatchObject({
      version: 2,
      executionMode: 'SUPERSEDED',
    });

    // CreatePipeline started an execution; its repository does not exist, so Source fails.
    const execs = await cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'sdk-one' }));
    const first = execs.pipelineExecutionSummaries?.at(-1);
    expect(first?.trigger?.triggerType).toBe('CreatePipeline');
    const exec = await cp.send(
      new GetPipelineExecutionCommand({
        pipelineName: 'sdk-one',
        pipelineExecutionId: first!.pipelineExecutionId!,
      }),
    );
    expect(exec.pipelineExecution?.pipelineVersion).toBe(1);

    await cp.send(new DeletePipelineCommand({ name: 'sdk-one' }));
    await cp.send(new DeletePipelineCommand({ name: 'sdk-one' })); // no not-found error (aws-semantics 2.2)
    expect(await errorOf(cp.send(new GetPipelineCommand({ name: 'sdk-one' })))).toMatchObject({
      name: 'PipelineNotFoundException',
    });
  });

  it('refuses invalid structures with the AWS error codes', async () => {
    const cp = sb.clients.codepipeline;
    await cp.send(new CreatePipelineCommand({ pipeline: twoStage('sdk-dup') }));
    expect(
      await errorOf(cp.send(new CreatePipelineCommand({ pipeline: twoStage('sdk-dup') }))),
    ).toMatchObject({
      name: 'PipelineNameInUseException',
    });

    const cases: [string, (p: PipelineDeclaration) => void, string, RegExp][] = [
      ['one stage', (p) => p.stages!.splice(1), 'InvalidStructureException', /minimum of 2 stages/],
      [
        'a build action in the first stage',
        (p) => {
          p.stages![0]!.actions!.push({
            name: 'B',
            actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            configuration: { ProjectName: 'x' },
            inputArtifacts: [{ name: 'Src' }],
          });
        },
        'InvalidStructureException',
        /may only contain source actions/,
      ],
      [
        'a source action outside the first stage',
        (p) => {
          p.stages![1]!.actions!.push({
            ...p.stages![0]!.actions![0]!,
            name: 'Src2',
            outputArtifacts: [{ name: 'Src2' }],
          });
        },
        'InvalidStructureException',
        /may only appear in the first stage/,
      ],
      [
        'an input nobody produces',
        (p) => {
          p.stages![1]!.actions!.push({
            name: 'Build',
            actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            configuration: { ProjectName: 'x' },
            inputArtifacts: [{ name: 'Nope' }],
          });
        },
        'InvalidStructureException',
        /Input artifact 'Nope'/,
      ],
      [
        'a duplicate output artifact name',
        (p) => {
          p.stages![1]!.actions!.push({
            name: 'Build',
            actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            configuration: { ProjectName: 'x' },
            inputArtifacts: [{ name: 'Src' }],
            outputArtifacts: [{ name: 'Src' }],
          });
        },
        'InvalidStructureException',
        /must be unique/,
      ],
      [
        'a missing required configuration key',
        (p) => {
          delete p.stages![0]!.actions![0]!.configuration!.BranchName;
        },
        'InvalidActionDeclarationException',
        /missing required configuration 'BranchName'/,
      ],
      [
        'an unknown provider',
        (p) => {
          p.stages![1]!.actions![0]!.actionTypeId!.provider = 'Telepathy';
        },
        'InvalidActionDeclarationException',
        /Provider: 'Telepathy'.*not available in region 'us-east-1'/,
      ],
      [
        'a CodeDeploy action without an input artifact',
        (p) => {
          p.stages![1]!.actions!.push({
            name: 'Deploy',
            actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
            configuration: { ApplicationName: 'a', DeploymentGroupName: 'g' },
          });
        },
        'InvalidActionDeclarationException',
        /0 input artifact\(s\); Deploy\/AWS\/CodeDeploy actions take exactly 1/,
      ],
      [
        'QUEUED on a V1 pipeline',
        (p) => {
          p.executionMode = 'QUEUED';
          p.pipelineType = 'V1';
        },
        'InvalidStructureException',
        /only available for pipelineType V2/,
      ],
      [
        'duplicate action names',
        (p) => {
          p.stages![1]!.actions!.push({ ...p.stages![1]!.actions![0]! });
        },
        'InvalidStageDeclarationException',
        /used more than once in stage 'Approve'/,
      ],
    ];
    for (const [what, mutate, code, message] of cases) {
      const p = twoStage('sdk-bad');
      mutate(p);
      const error = await errorOf(cp.send(new CreatePipelineCommand({ pipeline: p })));
      expect({ what, name: error.name }).toEqual({ what, name: code });
      expect(error.message).toMatch(message);
    }
    expect(await errorOf(cp.send(new GetPipelineCommand({ name: 'sdk-bad' })))).toMatchObject({
      name: 'PipelineNotFoundException',
    });
  });

  it('tags, untags and lists tags by pipeline ARN', async () => {
    const cp = sb.clients.codepipeline;
    await cp.send(new CreatePipelineCommand({ pipeline: twoStage('sdk-tags') }));
    const resourceArn = 'arn:aws:codepipeline:us-east-1:000000000000:sdk-tags';
    await cp.send(
      new TagResourceCommand({
        resourceArn,
        tags: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
      }),
    );
    await cp.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] }));
    expect((await cp.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'b', value: '2' },
    ]);
    expect(
      await errorOf(cp.send(new TagResourceCommand({ resourceArn, tags: [{ key: 'aws:x', value: '1' }] }))),
    ).toMatchObject({
      name: 'InvalidTagsException',
    });
    expect(
      await errorOf(
        cp.send(
          new ListTagsForResourceCommand({ resourceArn: 'arn:aws:codepipeline:us-east-1:000000000000:nope' }),
        ),
      ),
    ).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('CodePipeline API through the AWS CLI', () => {
  const sb = useSandbox({ timeScale: 0.01 });

  it('creates the runbook pipeline from a JSON file and reads it back with get-pipeline and get-pipeline-state', async () => {
    const endpoint = sb.sandbox.endpoint;
    const created = await awsCli(endpoint, [
      'codepipeline',
      'create-pipeline',
      '--cli-input-json',
      `file://${FIXTURE}`,
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const fixture = JSON.parse(await readFile(FIXTURE, 'utf8'));
    expect(created.json.pipeline).toMatchObject({ ...fixture.pipeline, version: 1 });
    // As on AWS, absent artifact lists come back empty (aws-cli get-pipeline example).
    expect(created.json.pipeline.stages[0].actions[0].inputArtifacts).toEqual([]);
    expect(created.json.pipeline.stages[3].actions[0].outputArtifacts).toEqual([]);

    const got = await awsCli(endpoint, ['codepipeline', 'get-pipeline', '--name', 'awscicd-cap-pipeline']);
    expect(got.json.pipeline.stages.map((s: { name: string }) => s.name)).toEqual([
      'Source',
      'BuildAndTest',
      'Approval',
      'DeployBlueGreen',
    ]);
    expect(got.json.metadata.pipelineArn).toBe(
      'arn:aws:codepipeline:us-east-1:000000000000:awscicd-cap-pipeline',
    );

    const state = await awsCli(endpoint, [
      'codepipeline',
      'get-pipeline-state',
      '--name',
      'awscicd-cap-pipeline',
    ]);
    expect(state.json.pipelineName).toBe('awscicd-cap-pipeline');
    expect(state.json.stageStates).toHaveLength(4);

    // The runbook's query: the repository does not exist, so the execution CreatePipeline started fails at Source.
    let text = '';
    const deadline = Date.now() + 20_000;
    while (!text.includes('Failed') && Date.now() < deadline) {
      const r = await awsCli(
        endpoint,
        [
          'codepipeline',
          'get-pipeline-state',
          '--name',
          'awscicd-cap-pipeline',
          '--query',
          'stageStates[].[stageName,latestExecution.status]',
        ],
        { output: 'text' },
      );
      text = r.stdout;
    }
    expect(text.trim().split('\n')).toEqual([
      'Source\tFailed',
      'BuildAndTest\tNone',
      'Approval\tNone',
      'DeployBlueGreen\tNone',
    ]);

    const failed = await awsCli(endpoint, [
      'codepipeline',
      'get-pipeline-state',
      '--name',
      'awscicd-cap-pipeline',
      '--query',
      'stageStates[0].actionStates[0].latestExecution.errorDetails',
    ]);
    expect(failed.json).toEqual({
      code: 'JobFailed',
      message: expect.stringContaining('no repository named awscicd-cap-repo was found'),
    });
    const dup = await awsCli(endpoint, [
      'codepipeline',
      'create-pipeline',
      '--cli-input-json',
      `file://${FIXTURE}`,
    ]);
    expect(dup.errorCode).toBe('PipelineNameInUseException');
    const missing = await awsCli(endpoint, ['codepipeline', 'get-pipeline-state', '--name', 'nope']);
    expect(missing.errorCode).toBe('PipelineNotFoundException');
  });
});
