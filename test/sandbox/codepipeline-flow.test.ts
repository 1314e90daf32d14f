/**
 * Pipelines that really run, driven the way the runbook does it: `git push` to a sandbox CodeCommit
 * repository, then the real CodePipeline SDK client (and the AWS CLI) against startSandbox().
 * The sample app (sample-app/) is the source: its buildspec runs its unit tests for real.
 */
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  type PipelineDeclaration,
  PutApprovalResultCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { commitFile, gitRun } from './helpers/git.ts';
import { approvalStage, buildStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';
import { signedFetch } from './helpers/signed.ts';
import { until as untilReached } from './helpers/until.ts';

const SAMPLE_APP = path.join(import.meta.dirname, '..', '..', 'sample-app');

function declaration(
  name: string,
  repositoryName: string,
  extra: Partial<PipelineDeclaration> = {},
): PipelineDeclaration {
  return {
    ...declarePipeline(
      name,
      [
        sourceStage(repositoryName, { pollForSourceChanges: false }),
        buildStage('awscicd-cap-build'),
        approvalStage(),
      ],
      {
        roleArn: 'arn:aws:iam::000000000000:role/awscicd-cap-codepipeline-role',
        artifactBucket: 'awscicd-cap-artifacts',
      },
    ),
    ...extra,
  };
}

/** The shared `until` (helpers/until.ts) at this suite's pace: every 100 ms, 45 s by default. */
const until = <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 45_000,
) => untilReached(what, probe, { everyMs: 100, timeoutMs });

describe('CodePipeline runs pushed commits (git + SDK + CLI)', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cph-cp-flow-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** A repository holding the sample app, cloned into a work tree; returns the tree. */
  async function sampleRepo(repositoryName: string): Promise<string> {
    const meta = (await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName })))
      .repositoryMetadata!;
    await gitRun(work, ['clone', '-q', meta.cloneUrlHttp!, repositoryName]);
    const tree = path.join(work, repositoryName);
    await cp(SAMPLE_APP, tree, { recursive: true, filter: (src) => !src.includes('node_modules') });
    await gitRun(tree, ['add', '-A']);
    return tree;
  }

  async function push(tree: string, file: string, content: string, message: string): Promise<string> {
    const commit = await commitFile(tree, file, content, message);
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);
    return commit;
  }

  const state = (name: string) => sb.clients.codepipeline.send(new GetPipelineStateCommand({ name }));
  const executionOf = async (name: string, commit: string) =>
    (
      await sb.clients.codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: name }))
    ).pipelineExecutionSummaries?.find((s) => s.sourceRevisions?.[0]?.revisionId === commit);
  const status = async (name: string, id: string) =>
    (
      await sb.clients.codepipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId: id }),
      )
    ).pipelineExecution?.status;
  /** The open approval's token, when the Approval stage holds execution `id`. */
  const tokenFor = async (name: string, id: string) => {
    const stage = (await state(name)).stageStates?.find((s) => s.stageName === 'Approval');
    if (stage?.latestExecution?.pipelineExecutionId !== id) return undefined;
    return stage.actionStates?.[0]?.latestExecution?.token;
  };
  const answer = (name: string, token: string, approved: boolean, summary: string) =>
    sb.clients.codepipeline.send(
      new PutApprovalResultCommand({
        pipelineName: name,
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token,
        result: { status: approved ? 'Approved' : 'Rejected', summary },
      }),
    );

  it('runs a pushed sample-app commit through Source and BuildAndTest, waits at Approval with a token, and approves', async () => {
    const tree = await sampleRepo('flow-app');
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({ pipeline: declaration('flow-approve', 'flow-app') }),
    );
    const commit = await push(tree, 'VERSION', 'v3\n', 'Bump app to v3');

    const summary = await until('the execution of the pushed commit', () =>
      executionOf('flow-approve', commit),
    );
    expect(summary.trigger?.triggerType).toBe('CloudWatchEvent');
    expect(summary.sourceRevisions?.[0]).toMatchObject({
      actionName: 'Source',
      revisionId: commit,
      revisionSummary: 'Bump app to v3',
    });
    const id = summary.pipelineExecutionId!;
    const token = await until('the approval token', () => tokenFor('flow-approve', id));

    const text = await awsCli(
      sb.sandbox.endpoint,
      [
        'codepipeline',
        'get-pipeline-state',
        '--name',
        'flow-approve',
        '--query',
        'stageStates[].[stageName,latestExecution.status]',
      ],
      { output: 'text' },
    );
    expect(text.stdout.trim().split('\n')).toEqual([
      'Source\tSucceeded',
      'BuildAndTest\tSucceeded',
      'Approval\tInProgress',
    ]);
    const cliToken = await awsCli(sb.sandbox.endpoint, [
      'codepipeline',
      'get-pipeline-state',
      '--name',
      'flow-approve',
      '--query',
      "stageStates[?stageName=='Approval'].actionStates[0].latestExecution.token | [0]",
    ]);
    expect(cliToken.json).toBe(token);

    const s = await state('flow-approve');
    const source = s.stageStates![0]!.actionStates![0]!.latestExecution!;
    expect(source).toMatchObject({
      status: 'Succeeded',
      externalExecutionId: commit,
      summary: 'Bump app to v3',
    });
    const build = s.stageStates![1]!.actionStates![0]!.latestExecution!;
    const log = await (await signedFetch(build.externalExecutionUrl!)).text();
    expect(log).toContain('Running command node --test');
    expect(log).toMatch(/pass [1-9]/);
    expect(log).toContain('runtime-versions {"nodejs":"22"} cannot be installed on this machine');

    const actions = await sb.clients.codepipeline.send(
      new ListActionExecutionsCommand({ pipelineName: 'flow-approve', filter: { pipelineExecutionId: id } }),
    );
    const sourceDetail = actions.actionExecutionDetails?.find((a) => a.actionName === 'Source');
    expect(sourceDetail?.output?.executionResult?.externalExecutionId).toBe(commit);
    expect(sourceDetail?.output?.outputVariables).toMatchObject({
      CommitId: commit,
      CommitMessage: 'Bump app to v3',
      BranchName: 'main',
      RepositoryName: 'flow-app',
    });

    const approved = await answer('flow-approve', token, true, 'release v3');
    expect(approved.approvedAt).toBeInstanceOf(Date);
    await until('Succeeded', async () => (await status('flow-approve', id)) === 'Succeeded');
    // Every state change of the execution is in the event log, in order.
    const events = (await (await signedFetch(`${sb.sandbox.endpoint}/_sandbox/events`)).json()) as {
      service: string;
      kind: string;
      status: string;
      executionId?: string;
      stage?: string;
      action?: string;
    }[];
    const mine = events.filter((e) => e.service === 'codepipeline' && e.executionId === id);
    expect(mine.map((e) => [e.kind, e.stage ?? '', e.action ?? '', e.status])).toEqual([
      ['pipelineExecution', '', '', 'InProgress'],
      ['stage', 'Source', '', 'InProgress'],
      ['action', 'Source', 'Source', 'InProgress'],
      ['action', 'Source', 'Source', 'Succeeded'],
      ['stage', 'Source', '', 'Succeeded'],
      ['stage', 'BuildAndTest', '', 'InProgress'],
      ['action', 'BuildAndTest', 'BuildAndTest', 'InProgress'],
      ['action', 'BuildAndTest', 'BuildAndTest', 'Succeeded'],
      ['stage', 'BuildAndTest', '', 'Succeeded'],
      ['stage', 'Approval', '', 'InProgress'],
      ['action', 'Approval', 'ManualApproval', 'InProgress'],
      ['action', 'Approval', 'ManualApproval', 'Succeeded'],
      ['stage', 'Approval', '', 'Succeeded'],
      ['pipelineExecution', '', '', 'Succeeded'],
    ]);
    const after = (await state('flow-approve')).stageStates![2]!.actionStates![0]!.latestExecution!;
    expect(after).toMatchObject({ status: 'Succeeded', summary: 'release v3' });
    expect(after.token).toBeUndefined();

    // A second answer, a wrong token, an unknown stage or action: the AWS errors.
    await expect(answer('flow-approve', token, true, 'again')).rejects.toMatchObject({
      name: 'ApprovalAlreadyCompletedException',
    });
    await expect(
      answer('flow-approve', '00000000-0000-4000-8000-000000000000', true, 'x'),
    ).rejects.toMatchObject({
      name: 'InvalidApprovalTokenException',
    });
    await expect(
      sb.clients.codepipeline.send(
        new PutApprovalResultCommand({
          pipelineName: 'flow-approve',
          stageName: 'Nope',
          actionName: 'ManualApproval',
          token,
          result: { status: 'Approved', summary: 'x' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'StageNotFoundException' });
    await expect(
      sb.clients.codepipeline.send(
        new PutApprovalResultCommand({
          pipelineName: 'flow-approve',
          stageName: 'Approval',
          actionName: 'Nope',
          token,
          result: { status: 'Approved', summary: 'x' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ActionNotFoundException' });
  });

  it('fails BuildAndTest with the summary CodeBuild gives (the failing test in the log), and a rejected approval fails the execution', async () => {
    const tree = await sampleRepo('flow-broken');
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({ pipeline: declaration('flow-broken', 'flow-broken') }),
    );
    const broken = await push(
      tree,
      'test/broken.test.js',
      "import assert from 'node:assert/strict';\nimport { it } from 'node:test';\nit('serves v4', () => assert.equal('v3', 'v4', 'version mismatch: deliberately broken'));\n",
      'Break a unit test',
    );
    const failed = await until('the broken execution', () => executionOf('flow-broken', broken));
    await until(
      'Failed',
      async () => (await status('flow-broken', failed.pipelineExecutionId!)) === 'Failed',
    );
    const build = (await state('flow-broken')).stageStates![1]!;
    expect(build.latestExecution?.status).toBe('Failed');
    const details = build.actionStates![0]!.latestExecution!.errorDetails!;
    expect(details).toEqual({
      code: 'JobFailed',
      message:
        'Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1',
    });
    const action = build.actionStates![0]!.latestExecution!;
    expect(action.externalExecutionId).toMatch(/^awscicd-cap-build:[0-9a-f-]{36}$/);
    const log = await (await signedFetch(action.externalExecutionUrl!)).text();
    expect(log).toContain('version mismatch: deliberately broken');

    await gitRun(tree, ['rm', '-q', 'test/broken.test.js']);
    const fixed = await push(tree, 'VERSION', 'v4\n', 'Fix the test');
    const ok = await until('the fixed execution', () => executionOf('flow-broken', fixed));
    const token = await until('the approval token', () => tokenFor('flow-broken', ok.pipelineExecutionId!));
    await answer('flow-broken', token, false, 'not today');
    await until('Failed', async () => (await status('flow-broken', ok.pipelineExecutionId!)) === 'Failed');
    const approval = (await state('flow-broken')).stageStates![2]!;
    expect(approval.latestExecution?.status).toBe('Failed');
    expect(approval.actionStates![0]!.latestExecution).toMatchObject({
      status: 'Failed',
      summary: 'not today',
    });
  });

  it('SUPERSEDED: of two quick pushes behind an open approval, the older waiting one ends Superseded', async () => {
    const tree = await sampleRepo('flow-superseded');
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({ pipeline: declaration('flow-superseded', 'flow-superseded') }),
    );
    const c1 = await push(tree, 'VERSION', 'v1\n', 'v1');
    const e1 = await until('first', () => executionOf('flow-superseded', c1));
    const t1 = await until('first at approval', () => tokenFor('flow-superseded', e1.pipelineExecutionId!));
    const c2 = await push(tree, 'VERSION', 'v2\n', 'v2');
    const c3 = await push(tree, 'VERSION', 'v3\n', 'v3');
    const e2 = await until('second', () => executionOf('flow-superseded', c2));
    const e3 = await until('third', () => executionOf('flow-superseded', c3));
    await until(
      'second Superseded',
      async () => (await status('flow-superseded', e2.pipelineExecutionId!)) === 'Superseded',
    );
    await until('third waits in front of Approval', async () => {
      const approval = (await state('flow-superseded')).stageStates![2]!;
      return approval.inboundExecution?.pipelineExecutionId === e3.pipelineExecutionId;
    });
    await answer('flow-superseded', t1, true, 'ok');
    const t3 = await until('third at approval', () => tokenFor('flow-superseded', e3.pipelineExecutionId!));
    expect(t3).not.toBe(t1);
    await expect(answer('flow-superseded', t1, true, 'old token')).rejects.toMatchObject({
      name: 'InvalidApprovalTokenException',
    });
    // The runbook's way: the AWS CLI answers with the token it read.
    const cli = await awsCli(sb.sandbox.endpoint, [
      'codepipeline',
      'put-approval-result',
      '--pipeline-name',
      'flow-superseded',
      '--stage-name',
      'Approval',
      '--action-name',
      'ManualApproval',
      '--result',
      'summary=ok,status=Approved',
      '--token',
      t3,
    ]);
    expect(cli.code).toBe(0);
    expect(cli.json.approvedAt).toBeDefined();
    const again = await awsCli(sb.sandbox.endpoint, [
      'codepipeline',
      'put-approval-result',
      '--pipeline-name',
      'flow-superseded',
      '--stage-name',
      'Approval',
      '--action-name',
      'ManualApproval',
      '--result',
      'summary=again,status=Approved',
      '--token',
      t3,
    ]);
    expect(again.errorCode).toBe('ApprovalAlreadyCompletedException');
    await until(
      'third Succeeded',
      async () => (await status('flow-superseded', e3.pipelineExecutionId!)) === 'Succeeded',
    );
    expect(await status('flow-superseded', e1.pipelineExecutionId!)).toBe('Succeeded');
  });

  it('QUEUED: two quick pushes both run, in order', async () => {
    const tree = await sampleRepo('flow-queued');
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declaration('flow-queued', 'flow-queued', { pipelineType: 'V2', executionMode: 'QUEUED' }),
      }),
    );
    const c1 = await push(tree, 'VERSION', 'v1\n', 'v1');
    const c2 = await push(tree, 'VERSION', 'v2\n', 'v2');
    const e1 = (await until('first', () => executionOf('flow-queued', c1))).pipelineExecutionId!;
    const e2 = (await until('second', () => executionOf('flow-queued', c2))).pipelineExecutionId!;
    const t1 = await until('first at approval', () => tokenFor('flow-queued', e1));
    expect(await status('flow-queued', e2)).toBe('InProgress');
    await answer('flow-queued', t1, true, 'first');
    const t2 = await until('second at approval', () => tokenFor('flow-queued', e2));
    expect(await status('flow-queued', e1)).toBe('Succeeded');
    await answer('flow-queued', t2, true, 'second');
    await until('second Succeeded', async () => (await status('flow-queued', e2)) === 'Succeeded');
    const list = await sb.clients.codepipeline.send(
      new ListPipelineExecutionsCommand({ pipelineName: 'flow-queued' }),
    );
    expect(list.pipelineExecutionSummaries!.every((s) => s.executionMode === 'QUEUED')).toBe(true);
  });

  it('stops a running build (abandon) and ends no process the build left behind once the sandbox resets', async () => {
    const tree = await sampleRepo('flow-stop');
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({ pipeline: declaration('flow-stop', 'flow-stop') }),
    );
    await writeFile(
      path.join(tree, 'buildspec.yml'),
      'version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\nartifacts:\n  files: ["**/*"]\n',
    );
    await gitRun(tree, ['add', 'buildspec.yml']);
    const commit = await push(tree, 'VERSION', 'slow\n', 'A slow build');
    const e = (await until('execution', () => executionOf('flow-stop', commit))).pipelineExecutionId!;
    const buildGroups = () =>
      sb.sandbox.runtime.processes
        .groups()
        .filter((g) => g.owner.startsWith('build:awscicd-cap-build') && ProcessTracker.alive(g.pgid));
    await until('the build process', async () => buildGroups().length === 1);
    await sb.clients.codepipeline.send(
      new StopPipelineExecutionCommand({
        pipelineName: 'flow-stop',
        pipelineExecutionId: e,
        abandon: true,
        reason: 'too slow',
      }),
    );
    await until('Stopped', async () => (await status('flow-stop', e)) === 'Stopped');
    expect((await state('flow-stop')).stageStates![1]!.actionStates![0]!.latestExecution!.status).toBe(
      'Abandoned',
    );
    await expect(
      sb.clients.codepipeline.send(
        new StopPipelineExecutionCommand({ pipelineName: 'flow-stop', pipelineExecutionId: e }),
      ),
    ).rejects.toMatchObject({ name: 'PipelineExecutionNotStoppableException' });
    // The abandoned build still runs (as CodeBuild would); stopping the service ends it.
    const builds = buildGroups();
    expect(builds).toHaveLength(1);
    await sb.sandbox.services.codepipeline.reset();
    for (const g of builds) expect(ProcessTracker.alive(g.pgid)).toBe(false);
    // Artifacts, scratch copies and logs all lived under the sandbox's data dir; reset removes them.
    await expect(stat(path.join(sb.sandbox.runtime.dataDir, 'codepipeline'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
