/**
 * The CodePipeline execution engine through its handlers, with a fake CodeCommit (commits are directories
 * of files) and real buildspecs run by bash. Covers stage order, approvals, SUPERSEDED / QUEUED /
 * PARALLEL locking, stop, retry and transitions. The same flows through the SDK and git are in
 * codepipeline-flow.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/sandbox/clock.ts';
import type { CodeCommitService } from '../../src/sandbox/codecommit/index.ts';
import type { CodeDeployService } from '../../src/sandbox/codedeploy/index.ts';
import { CodePipelineService } from '../../src/sandbox/codepipeline/index.ts';
import { EventLog } from '../../src/sandbox/events.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import type { RequestContext, SandboxRuntime } from '../../src/sandbox/types.ts';
import { approvalStage, buildStage, declarePipeline, deployStage, sourceStage } from './helpers/pipeline.ts';
import { until as untilReached } from './helpers/until.ts';

const ctx: RequestContext = { requestId: 'r', region: 'us-east-1', accountId: '000000000000' };

/** A CodeCommit stand-in: each commit is a set of files; push() notifies listeners as git push would. */
class FakeRepos {
  readonly commits = new Map<string, { files: Record<string, string>; message: string; date: Date }>();
  readonly heads = new Map<string, string>();
  readonly listeners: ((p: {
    repositoryName: string;
    ref: string;
    after: string;
    message: string;
  }) => void)[] = [];
  onPush(listener: (typeof this.listeners)[number]): void {
    this.listeners.push(listener);
  }
  resolveRef(repo: string, branch: string): string | undefined {
    return this.heads.get(`${repo}/${branch}`);
  }
  readCommit(_repo: string, commitId: string) {
    const c = this.commits.get(commitId);
    if (!c) throw new Error(`no commit ${commitId}`);
    return { commitId, message: c.message, author: { name: 'dev', date: c.date }, date: c.date };
  }
  async exportTree(_repo: string, commitId: string, dest: string): Promise<void> {
    const c = this.commits.get(commitId)!;
    for (const [name, text] of Object.entries(c.files)) {
      await mkdir(path.dirname(path.join(dest, name)), { recursive: true });
      await writeFile(path.join(dest, name), text);
    }
  }
  commit(repo: string, branch: string, files: Record<string, string>, message: string): string {
    const id = randomBytes(20).toString('hex');
    this.commits.set(id, { files, message, date: new Date() });
    this.heads.set(`${repo}/${branch}`, id);
    return id;
  }
  push(repo: string, branch: string, files: Record<string, string>, message: string): string {
    const id = this.commit(repo, branch, files, message);
    for (const l of this.listeners)
      l({ repositoryName: repo, ref: `refs/heads/${branch}`, after: id, message });
    return id;
  }
}

const OK_BUILDSPEC = `version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    runtime-versions:
      nodejs: 22
  build:
    commands:
      - echo "building $GREETING $CODEBUILD_RESOLVED_SOURCE_VERSION"
      - mkdir -p out && echo built > out/result.txt
      - cp app.txt out/
artifacts:
  files:
    - '**/*'
  base-directory: out
`;

const FAILING_BUILDSPEC = `version: 0.2
phases:
  build:
    commands:
      - echo "running the unit tests"
      - echo "not ok 1 - version matches (expected 3, got 2)" && exit 1
artifacts:
  files: ['**/*']
`;

function pipeline(name: string, extra: Record<string, unknown> = {}, withDeploy = false) {
  const stages: any[] = [
    sourceStage('app', { pollForSourceChanges: false }),
    buildStage('app-build', { actionName: 'Build' }),
    approvalStage(),
  ];
  if (withDeploy) stages.push(deployStage('app', 'app-dg', { actionName: 'DeployBlueGreen' }));
  return {
    ...declarePipeline(name, stages, { artifactBucket: 'artifacts-bucket' }),
    stages,
    ...extra,
  };
}

/** The shared `until` (helpers/until.ts) at this suite's pace: every 20 ms, 20 s by default. */
const until = <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
) => untilReached(what, probe, { everyMs: 20, timeoutMs });

describe('CodePipeline execution engine', () => {
  let dataDir: string;
  let runtime: SandboxRuntime;
  let repos: FakeRepos;
  let deployments: { applicationName: string; artifactDir: string; files: string[] }[];
  let deployOutcome: { status: string; errorInformation?: { code: string; message: string } };
  let service: CodePipelineService;
  let h: any;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'cp-engine-'));
    runtime = {
      accountId: '000000000000',
      region: 'us-east-1',
      clock: new Clock(0.001),
      events: new EventLog(),
      processes: new ProcessTracker(),
      dataDir,
      edgeUrl: () => 'http://127.0.0.1:4566',
      edgePort: () => 4566,
    };
    repos = new FakeRepos();
    deployments = [];
    deployOutcome = { status: 'Succeeded' };
    const codedeploy = {
      createDeployment: async (args: { applicationName: string; artifactDir: string }) => {
        deployments.push({ ...args, files: (await readdir(args.artifactDir)).sort() });
        return { deploymentId: 'd-ABCDEF123' };
      },
      getDeploymentStatus: () => deployOutcome,
    };
    service = new CodePipelineService(runtime, {
      codecommit: repos as unknown as CodeCommitService,
      codedeploy: codedeploy as unknown as CodeDeployService,
    });
    h = service.handlers as any;
  });

  afterEach(async () => {
    await service.stop();
    runtime.clock.stop();
    expect(runtime.processes.groups().filter((g) => ProcessTracker.alive(g.pgid))).toEqual([]);
    await rm(dataDir, { recursive: true, force: true });
  });

  const state = (name: string) => h.GetPipelineState({ name }, ctx);
  const stageStatus = (name: string, stage: string) =>
    state(name).stageStates.find((s: any) => s.stageName === stage)?.latestExecution;
  const execution = (name: string, id: string) =>
    h.GetPipelineExecution({ pipelineName: name, pipelineExecutionId: id }, ctx).pipelineExecution;
  /** The newest execution (ListPipelineExecutions lists newest first). */
  const latestExecutionId = (name: string) =>
    h.ListPipelineExecutions({ pipelineName: name }, ctx).pipelineExecutionSummaries[0].pipelineExecutionId;
  const approvalToken = (name: string) =>
    state(name).stageStates.find((s: any) => s.stageName === 'Approval')?.actionStates[0]?.latestExecution
      ?.token as string | undefined;

  it('fails the Source action of the execution CreatePipeline starts when the branch does not exist yet', async () => {
    h.CreatePipeline({ pipeline: pipeline('p-empty') }, ctx);
    const [summary] = h.ListPipelineExecutions({ pipelineName: 'p-empty' }, ctx).pipelineExecutionSummaries;
    expect(summary.trigger).toEqual({
      triggerType: 'CreatePipeline',
      triggerDetail: 'arn:aws:iam::000000000000:root',
    });
    await until('Failed', () => execution('p-empty', summary.pipelineExecutionId).status === 'Failed');
    const source = state('p-empty').stageStates[0];
    expect(source.latestExecution.status).toBe('Failed');
    expect(source.actionStates[0].latestExecution.errorDetails.message).toContain('no branch named main');
  });

  it('runs a pushed commit through Source and BuildAndTest and waits at Approval with a token, then approves', async () => {
    h.CreatePipeline({ pipeline: pipeline('p1') }, ctx);
    await until(
      'first execution ends',
      () =>
        h.ListPipelineExecutions({ pipelineName: 'p1' }, ctx).pipelineExecutionSummaries[0].status ===
        'Failed',
    );
    const commit = repos.push(
      'app',
      'main',
      { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' },
      'Bump app to v1',
    );
    const summary = await until('execution of the commit', () =>
      h
        .ListPipelineExecutions({ pipelineName: 'p1' }, ctx)
        .pipelineExecutionSummaries.find((s: any) => s.sourceRevisions[0]?.revisionId === commit),
    );
    expect(summary.trigger.triggerType).toBe('CloudWatchEvent');
    expect(summary.sourceRevisions[0]).toMatchObject({
      actionName: 'Source',
      revisionSummary: 'Bump app to v1',
    });
    const token = await until('approval token', () => approvalToken('p1'));
    const s = state('p1');
    expect(s.stageStates.map((x: any) => [x.stageName, x.latestExecution?.status])).toEqual([
      ['Source', 'Succeeded'],
      ['BuildAndTest', 'Succeeded'],
      ['Approval', 'InProgress'],
    ]);
    expect(s.stageStates[0].actionStates[0].latestExecution).toMatchObject({
      externalExecutionId: commit,
      summary: 'Bump app to v1',
    });
    expect(s.stageStates[0].actionStates[0].currentRevision.revisionId).toBe(commit);
    const build = s.stageStates[1].actionStates[0].latestExecution;
    expect(build.externalExecutionUrl).toMatch(
      /^http:\/\/127\.0\.0\.1:4566\/_sandbox\/builds\/app-build%3A[0-9a-f-]+\/log$/,
    );
    const log = await readFile(service.buildLog(build.externalExecutionId)!, 'utf8');
    expect(log).toContain(`building hello ${commit}`);
    expect(log).toContain('runtime-versions {"nodejs":"22"} cannot be installed');

    const exec = execution('p1', summary.pipelineExecutionId);
    expect(exec.artifactRevisions[0]).toMatchObject({
      name: 'SourceArtifact',
      revisionId: commit,
      revisionSummary: 'Bump app to v1',
    });
    const actions = h.ListActionExecutions(
      { pipelineName: 'p1', filter: { pipelineExecutionId: exec.pipelineExecutionId } },
      ctx,
    ).actionExecutionDetails;
    const source = actions.find((a: any) => a.actionName === 'Source');
    expect(source.output.outputVariables).toMatchObject({
      CommitId: commit,
      CommitMessage: 'Bump app to v1',
      BranchName: 'main',
      RepositoryName: 'app',
    });
    expect(source.output.outputVariables.AuthorDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const artifactDir = path.join(
      dataDir,
      'codepipeline',
      'artifacts',
      exec.pipelineExecutionId,
      'BuildArtifact',
    );
    expect((await readdir(artifactDir)).sort()).toEqual(['app.txt', 'result.txt']);

    const out = h.PutApprovalResult(
      {
        pipelineName: 'p1',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        result: { summary: 'looks good', status: 'Approved' },
        token,
      },
      ctx,
    );
    expect(out.approvedAt).toBeInstanceOf(Date);
    await until('Succeeded', () => execution('p1', exec.pipelineExecutionId).status === 'Succeeded');
    const approval = state('p1').stageStates[2].actionStates[0].latestExecution;
    expect(approval).toMatchObject({ status: 'Succeeded', summary: 'looks good' });
    expect(approval.token).toBeUndefined();
    // A second answer with the same token.
    expect(() =>
      h.PutApprovalResult(
        {
          pipelineName: 'p1',
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'again', status: 'Approved' },
          token,
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'ApprovalAlreadyCompletedException' }));
    const kinds = runtime.events
      .since()
      .filter((e) => e.executionId === exec.pipelineExecutionId)
      .map((e) => `${e.kind}:${e.stage ?? ''}:${e.status}`);
    expect(kinds).toContain('stage:Approval:InProgress');
    expect(kinds.at(-1)).toBe('pipelineExecution::Succeeded');
  });

  it('refuses a wrong token, unknown stages and actions, and fails the execution on Rejected', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'first');
    h.CreatePipeline({ pipeline: pipeline('p2') }, ctx);
    const token = await until('approval token', () => approvalToken('p2'));
    const base = {
      pipelineName: 'p2',
      stageName: 'Approval',
      actionName: 'ManualApproval',
      result: { summary: 'no', status: 'Rejected' },
    };
    expect(() =>
      h.PutApprovalResult({ ...base, token: '11111111-2222-3333-4444-555555555555' }, ctx),
    ).toThrow(expect.objectContaining({ code: 'InvalidApprovalTokenException' }));
    expect(() => h.PutApprovalResult({ ...base, stageName: 'Nope', token }, ctx)).toThrow(
      expect.objectContaining({ code: 'StageNotFoundException' }),
    );
    expect(() => h.PutApprovalResult({ ...base, actionName: 'Nope', token }, ctx)).toThrow(
      expect.objectContaining({ code: 'ActionNotFoundException' }),
    );
    expect(() => h.PutApprovalResult({ ...base, pipelineName: 'nope', token }, ctx)).toThrow(
      expect.objectContaining({ code: 'PipelineNotFoundException' }),
    );
    h.PutApprovalResult({ ...base, token }, ctx);
    const [summary] = h.ListPipelineExecutions({ pipelineName: 'p2' }, ctx).pipelineExecutionSummaries;
    await until('Failed', () => execution('p2', summary.pipelineExecutionId).status === 'Failed');
    const approval = state('p2').stageStates[2];
    expect(approval.latestExecution.status).toBe('Failed');
    expect(approval.actionStates[0].latestExecution).toMatchObject({ status: 'Failed', summary: 'no' });
  });

  it('fails BuildAndTest with the summary CodeBuild gives in errorDetails and the failing output in the log', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': FAILING_BUILDSPEC }, 'break the test');
    h.CreatePipeline({ pipeline: pipeline('p3') }, ctx);
    const [summary] = h.ListPipelineExecutions({ pipelineName: 'p3' }, ctx).pipelineExecutionSummaries;
    await until('Failed', () => execution('p3', summary.pipelineExecutionId).status === 'Failed');
    const build = state('p3').stageStates[1];
    expect(build.latestExecution.status).toBe('Failed');
    const details = build.actionStates[0].latestExecution.errorDetails;
    expect(details).toEqual({
      code: 'JobFailed',
      message:
        'Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: echo "not ok 1 - version matches (expected 3, got 2)" && exit 1. Reason: exit status 1',
    });
    const buildId = build.actionStates[0].latestExecution.externalExecutionId;
    expect(buildId).toMatch(/^app-build:[0-9a-f-]{36}$/);
    const log = await readFile(service.buildLog(buildId)!, 'utf8');
    expect(log).toContain('not ok 1 - version matches (expected 3, got 2)');
    expect(state('p3').stageStates[2].latestExecution).toBeUndefined();
    expect(execution('p3', summary.pipelineExecutionId).statusSummary).toContain('BuildAndTest');
  });

  it('supersedes an execution waiting in front of a locked stage with a newer one (SUPERSEDED)', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p4') }, ctx);
    const first = latestExecutionId('p4');
    const firstToken = await until('approval of the first', () => approvalToken('p4'));
    const c2 = repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v2' }, 'v2');
    const second = await until(
      'second waits at Approval',
      () => state('p4').stageStates[2].inboundExecution?.pipelineExecutionId,
    );
    const c3 = repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v3' }, 'v3');
    const third = await until('third replaces it', () => {
      const id = state('p4').stageStates[2].inboundExecution?.pipelineExecutionId;
      return id !== second && id;
    });
    expect(execution('p4', second).status).toBe('Superseded');
    expect(execution('p4', second).artifactRevisions[0].revisionId).toBe(c2);
    expect(execution('p4', third).artifactRevisions[0].revisionId).toBe(c3);
    // The approval stage is never interrupted: the first still holds it with its token.
    expect(state('p4').stageStates[2].latestExecution).toMatchObject({
      pipelineExecutionId: first,
      status: 'InProgress',
    });
    h.PutApprovalResult(
      {
        pipelineName: 'p4',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        result: { summary: 'ok', status: 'Approved' },
        token: firstToken,
      },
      ctx,
    );
    await until('first Succeeded', () => execution('p4', first).status === 'Succeeded');
    const thirdToken = await until('a new token for the third', () => {
      const t = approvalToken('p4');
      return t !== firstToken && t;
    });
    expect(state('p4').stageStates[2].latestExecution.pipelineExecutionId).toBe(third);
    expect(() =>
      h.PutApprovalResult(
        {
          pipelineName: 'p4',
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'ok', status: 'Approved' },
          token: firstToken,
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'InvalidApprovalTokenException' }));
    expect(thirdToken).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('runs every execution in arrival order without superseding any (QUEUED)', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p5', { pipelineType: 'V2', executionMode: 'QUEUED' }) }, ctx);
    const first = latestExecutionId('p5');
    await until('first at approval', () => approvalToken('p5'));
    const c2 = repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v2' }, 'v2');
    const c3 = repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v3' }, 'v3');
    const ids = h
      .ListPipelineExecutions({ pipelineName: 'p5' }, ctx)
      .pipelineExecutionSummaries.map((s: any) => s.pipelineExecutionId);
    const [third, second] = ids as [string, string];
    await until('both wait at Approval', () => state('p5').stageStates[2].inboundExecutions?.length === 2);
    expect(state('p5').stageStates[2].inboundExecutions.map((e: any) => e.pipelineExecutionId)).toEqual([
      second,
      third,
    ]);
    const order: string[] = [];
    for (const id of [first, second, third]) {
      const token = await until(
        `approval of ${id}`,
        () => state('p5').stageStates[2].latestExecution?.pipelineExecutionId === id && approvalToken('p5'),
      );
      order.push(id);
      h.PutApprovalResult(
        {
          pipelineName: 'p5',
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'ok', status: 'Approved' },
          token,
        },
        ctx,
      );
      await until(`${id} Succeeded`, () => execution('p5', id).status === 'Succeeded');
    }
    expect(order).toEqual([first, second, third]);
    expect(execution('p5', second).artifactRevisions[0].revisionId).toBe(c2);
    expect(execution('p5', third).artifactRevisions[0].revisionId).toBe(c3);
  });

  it('lets executions pass each other in PARALLEL mode', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p6', { pipelineType: 'V2', executionMode: 'PARALLEL' }) }, ctx);
    repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v2' }, 'v2');
    const ids = h
      .ListPipelineExecutions({ pipelineName: 'p6' }, ctx)
      .pipelineExecutionSummaries.map((s: any) => s.pipelineExecutionId);
    await until(
      'both in Approval',
      () =>
        h
          .ListActionExecutions({ pipelineName: 'p6' }, ctx)
          .actionExecutionDetails.filter(
            (a: any) => a.actionName === 'ManualApproval' && a.status === 'InProgress',
          ).length === 2,
    );
    for (const id of ids) expect(execution('p6', id).status).toBe('InProgress');
  });

  it('stops an execution waiting at an approval (abandon) and invalidates its token', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p7') }, ctx);
    const id = latestExecutionId('p7');
    const token = await until('token', () => approvalToken('p7'));
    h.StopPipelineExecution(
      { pipelineName: 'p7', pipelineExecutionId: id, abandon: true, reason: 'changed my mind' },
      ctx,
    );
    await until('Stopped', () => execution('p7', id).status === 'Stopped');
    const approval = state('p7').stageStates[2];
    expect(approval.latestExecution.status).toBe('Stopped');
    expect(approval.actionStates[0].latestExecution.status).toBe('Abandoned');
    expect(
      h.ListPipelineExecutions({ pipelineName: 'p7' }, ctx).pipelineExecutionSummaries[0].stopTrigger,
    ).toEqual({ reason: 'changed my mind' });
    expect(() =>
      h.PutApprovalResult(
        {
          pipelineName: 'p7',
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'ok', status: 'Approved' },
          token,
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'InvalidApprovalTokenException' }));
    expect(() => h.StopPipelineExecution({ pipelineName: 'p7', pipelineExecutionId: id }, ctx)).toThrow(
      expect.objectContaining({ code: 'PipelineExecutionNotStoppableException' }),
    );
    // A stopped stage can be retried: the approval runs again with a new token.
    h.RetryStageExecution(
      { pipelineName: 'p7', stageName: 'Approval', pipelineExecutionId: id, retryMode: 'FAILED_ACTIONS' },
      ctx,
    );
    const again = await until('new token', () => {
      const t = approvalToken('p7');
      return t !== token && t;
    });
    expect(execution('p7', id).status).toBe('InProgress');
    expect(state('p7').stageStates[2].retryStageMetadata.manualStageRetryAttempt).toBe(1);
    h.PutApprovalResult(
      {
        pipelineName: 'p7',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        result: { summary: 'ok', status: 'Approved' },
        token: again,
      },
      ctx,
    );
    await until('Succeeded', () => execution('p7', id).status === 'Succeeded');
  });

  it('stop without abandon waits for the running action, then ends Stopped; a second stop is a duplicate', async () => {
    const slow = OK_BUILDSPEC.replace('- echo "building', '- sleep 0.6\n      - echo "building');
    repos.commit('app', 'main', { 'buildspec.yml': slow, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p8') }, ctx);
    const id = latestExecutionId('p8');
    await until('build running', () => stageStatus('p8', 'BuildAndTest')?.status === 'InProgress');
    h.StopPipelineExecution({ pipelineName: 'p8', pipelineExecutionId: id, abandon: false }, ctx);
    expect(execution('p8', id).status).toBe('Stopping');
    expect(stageStatus('p8', 'BuildAndTest').status).toBe('Stopping');
    expect(() => h.StopPipelineExecution({ pipelineName: 'p8', pipelineExecutionId: id }, ctx)).toThrow(
      expect.objectContaining({ code: 'DuplicatedStopRequestException' }),
    );
    await until('Stopped', () => execution('p8', id).status === 'Stopped');
    expect(state('p8').stageStates[1].actionStates[0].latestExecution.status).toBe('Succeeded');
    expect(stageStatus('p8', 'Approval')).toBeUndefined();
  });

  it('holds executions at a disabled transition and lets the latest in when it is enabled', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p9') }, ctx);
    h.DisableStageTransition(
      { pipelineName: 'p9', stageName: 'Approval', transitionType: 'Inbound', reason: 'freeze' },
      ctx,
    );
    const first = latestExecutionId('p9');
    await until(
      'first held',
      () => state('p9').stageStates[2].inboundExecution?.pipelineExecutionId === first,
    );
    const transition = state('p9').stageStates[2].inboundTransitionState;
    expect(transition).toMatchObject({
      enabled: false,
      disabledReason: 'freeze',
      lastChangedBy: 'arn:aws:iam::000000000000:root',
    });
    repos.push('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v2' }, 'v2');
    const second = await until('second held', () => {
      const id = state('p9').stageStates[2].inboundExecution?.pipelineExecutionId;
      return id !== first && id;
    });
    expect(execution('p9', first).status).toBe('Superseded');
    h.EnableStageTransition({ pipelineName: 'p9', stageName: 'Approval', transitionType: 'Inbound' }, ctx);
    await until(
      'second at approval',
      () => state('p9').stageStates[2].latestExecution?.pipelineExecutionId === second,
    );
    expect(() =>
      h.DisableStageTransition(
        { pipelineName: 'p9', stageName: 'Nope', transitionType: 'Inbound', reason: 'x' },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'StageNotFoundException' }));
  });

  it('retries only a failed stage of the latest execution', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': FAILING_BUILDSPEC }, 'broken');
    h.CreatePipeline({ pipeline: pipeline('p10') }, ctx);
    const id = latestExecutionId('p10');
    await until('Failed', () => execution('p10', id).status === 'Failed');
    expect(() =>
      h.RetryStageExecution(
        { pipelineName: 'p10', stageName: 'Source', pipelineExecutionId: id, retryMode: 'FAILED_ACTIONS' },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'StageNotRetryableException' }));
    expect(() =>
      h.RetryStageExecution(
        { pipelineName: 'p10', stageName: 'Nope', pipelineExecutionId: id, retryMode: 'FAILED_ACTIONS' },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'StageNotFoundException' }));
    h.RetryStageExecution(
      {
        pipelineName: 'p10',
        stageName: 'BuildAndTest',
        pipelineExecutionId: id,
        retryMode: 'FAILED_ACTIONS',
      },
      ctx,
    );
    await until('Failed again', () => execution('p10', id).status === 'Failed');
    const builds = h
      .ListActionExecutions({ pipelineName: 'p10', filter: { pipelineExecutionId: id } }, ctx)
      .actionExecutionDetails.filter((a: any) => a.actionName === 'Build');
    expect(builds.map((b: any) => b.status)).toEqual(['Failed', 'Failed']);
    // A newer execution enters the stage: the older one is no longer retryable.
    const newer = h.StartPipelineExecution({ name: 'p10' }, ctx).pipelineExecutionId;
    await until('newer Failed', () => execution('p10', newer).status === 'Failed');
    expect(() =>
      h.RetryStageExecution(
        {
          pipelineName: 'p10',
          stageName: 'BuildAndTest',
          pipelineExecutionId: id,
          retryMode: 'FAILED_ACTIONS',
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'NotLatestPipelineExecutionException' }));
  });

  it('hands the build artifact to CodeDeploy and records the deployment id', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p11', {}, true) }, ctx);
    const id = latestExecutionId('p11');
    const token = await until('token', () => approvalToken('p11'));
    deployOutcome = {
      status: 'Failed',
      errorInformation: { code: 'SCRIPT_FAILED', message: 'ValidateService failed' },
    };
    h.PutApprovalResult(
      {
        pipelineName: 'p11',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        result: { summary: 'ok', status: 'Approved' },
        token,
      },
      ctx,
    );
    await until('Failed', () => execution('p11', id).status === 'Failed');
    expect(deployments).toEqual([
      expect.objectContaining({ applicationName: 'app', files: ['app.txt', 'result.txt'] }),
    ]);
    const deploy = state('p11').stageStates[3].actionStates[0].latestExecution;
    expect(deploy).toMatchObject({ status: 'Failed', externalExecutionId: 'd-ABCDEF123' });
    expect(deploy.errorDetails.message).toContain('SCRIPT_FAILED: ValidateService failed');
  });

  it('fails an action of a provider the sandbox cannot run with a clear message', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    const decl = pipeline('p12');
    decl.stages[1] = {
      name: 'Invoke',
      actions: [
        {
          name: 'Fn',
          actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' },
          configuration: { FunctionName: 'f' },
        },
      ],
    };
    h.CreatePipeline({ pipeline: decl }, ctx);
    const id = latestExecutionId('p12');
    await until('Failed', () => execution('p12', id).status === 'Failed');
    expect(state('p12').stageStates[1].actionStates[0].latestExecution.errorDetails.message).toContain(
      'The sandbox cannot run Invoke/AWS/Lambda actions',
    );
  });

  it('fails an approval nobody answers within its timeout (scaled)', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    const decl = pipeline('p13');
    (decl.stages[2].actions[0] as any).timeoutInMinutes = 5; // 300 s * 0.001 = 0.3 s
    h.CreatePipeline({ pipeline: decl }, ctx);
    const id = latestExecutionId('p13');
    await until('Failed', () => execution('p13', id).status === 'Failed');
    expect(state('p13').stageStates[2].actionStates[0].latestExecution.errorDetails.message).toContain(
      'timed out',
    );
  });

  it('cancels a running execution when the pipeline is updated, ending its open approval', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p14') }, ctx);
    const id = latestExecutionId('p14');
    const token = await until('token', () => approvalToken('p14'));
    const updated = h.UpdatePipeline({ pipeline: pipeline('p14') }, ctx);
    expect(updated.pipeline.version).toBe(2);
    await until('Cancelled', () => execution('p14', id).status === 'Cancelled');
    expect(state('p14').stageStates[2].latestExecution.status).toBe('Cancelled');
    expect(() =>
      h.PutApprovalResult(
        {
          pipelineName: 'p14',
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'late', status: 'Approved' },
          token,
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'InvalidApprovalTokenException' }));
    // The next execution runs version 2.
    const next = h.StartPipelineExecution({ name: 'p14' }, ctx).pipelineExecutionId;
    expect(execution('p14', next).pipelineVersion).toBe(2);
  });

  it('ends a running build when its pipeline is deleted', async () => {
    const slow = OK_BUILDSPEC.replace('- echo "building', '- sleep 20\n      - echo "building');
    repos.commit('app', 'main', { 'buildspec.yml': slow, 'app.txt': 'v1' }, 'v1');
    h.CreatePipeline({ pipeline: pipeline('p15') }, ctx);
    await until('build running', () => stageStatus('p15', 'BuildAndTest')?.status === 'InProgress');
    await until('build process', () => runtime.processes.groups().some((g) => ProcessTracker.alive(g.pgid)));
    h.DeletePipeline({ name: 'p15' }, ctx);
    await until(
      'no build process',
      () => !runtime.processes.groups().some((g) => ProcessTracker.alive(g.pgid)),
      5000,
    );
    expect(() => state('p15')).toThrow(expect.objectContaining({ code: 'PipelineNotFoundException' }));
  });

  it('starts from a pinned commit (sourceRevisions COMMIT_ID) and validates the override', async () => {
    const old = repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'old' }, 'old');
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'new' }, 'new');
    h.CreatePipeline({ pipeline: pipeline('p16') }, ctx);
    const id = h.StartPipelineExecution(
      {
        name: 'p16',
        sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: old }],
      },
      ctx,
    ).pipelineExecutionId;
    expect(execution('p16', id).trigger.triggerType).toBe('StartPipelineExecution');
    await until('source done', () => execution('p16', id).artifactRevisions.length > 0);
    expect(execution('p16', id).artifactRevisions[0]).toMatchObject({
      revisionId: old,
      revisionSummary: 'old',
    });
    expect(() =>
      h.StartPipelineExecution(
        {
          name: 'p16',
          sourceRevisions: [{ actionName: 'Nope', revisionType: 'COMMIT_ID', revisionValue: old }],
        },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'ValidationException' }));
    expect(() => h.StartPipelineExecution({ name: 'nope' }, ctx)).toThrow(
      expect.objectContaining({ code: 'PipelineNotFoundException' }),
    );
  });

  it('pages executions and action executions and refuses a foreign next token', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': FAILING_BUILDSPEC }, 'broken');
    h.CreatePipeline({ pipeline: pipeline('p17', { pipelineType: 'V2', executionMode: 'PARALLEL' }) }, ctx);
    h.StartPipelineExecution({ name: 'p17' }, ctx);
    h.StartPipelineExecution({ name: 'p17' }, ctx);
    const all = h.ListPipelineExecutions({ pipelineName: 'p17' }, ctx).pipelineExecutionSummaries;
    expect(all).toHaveLength(3);
    const page1 = h.ListPipelineExecutions({ pipelineName: 'p17', maxResults: 2 }, ctx);
    expect(page1.pipelineExecutionSummaries).toHaveLength(2);
    const page2 = h.ListPipelineExecutions(
      { pipelineName: 'p17', maxResults: 2, nextToken: page1.nextToken },
      ctx,
    );
    expect(page2.pipelineExecutionSummaries.map((s: any) => s.pipelineExecutionId)).toEqual([
      all[2].pipelineExecutionId,
    ]);
    expect(page2.nextToken).toBeUndefined();
    expect(() => h.ListPipelineExecutions({ pipelineName: 'p17', nextToken: 'bogus' }, ctx)).toThrow(
      expect.objectContaining({ code: 'InvalidNextTokenException' }),
    );
    for (const s of all)
      await until('Failed', () => execution('p17', s.pipelineExecutionId).status === 'Failed');
    const actions = h.ListActionExecutions({ pipelineName: 'p17', maxResults: 4 }, ctx);
    expect(actions.actionExecutionDetails).toHaveLength(4);
    expect(actions.nextToken).toBeDefined();
    expect(() =>
      h.ListActionExecutions(
        { pipelineName: 'p17', filter: { pipelineExecutionId: '00000000-0000-0000-0000-000000000000' } },
        ctx,
      ),
    ).toThrow(expect.objectContaining({ code: 'PipelineExecutionNotFoundException' }));
    const succeeded = h.ListPipelineExecutions(
      { pipelineName: 'p17', filter: { succeededInStage: { stageName: 'Source' } } },
      ctx,
    );
    expect(succeeded.pipelineExecutionSummaries).toHaveLength(3);
    const built = h.ListPipelineExecutions(
      { pipelineName: 'p17', filter: { succeededInStage: { stageName: 'BuildAndTest' } } },
      ctx,
    );
    expect(built.pipelineExecutionSummaries).toHaveLength(0);
  });

  it('fails the Deploy action at once, with a clear message, when CodeDeploy cannot deploy or refuses', async () => {
    repos.commit('app', 'main', { 'buildspec.yml': OK_BUILDSPEC, 'app.txt': 'v1' }, 'v1');
    const approveAndFail = async (name: string) => {
      h.CreatePipeline({ pipeline: pipeline(name, {}, true) }, ctx);
      const id = latestExecutionId(name);
      const token = await until('token', () => approvalToken(name));
      h.PutApprovalResult(
        {
          pipelineName: name,
          stageName: 'Approval',
          actionName: 'ManualApproval',
          result: { summary: 'ok', status: 'Approved' },
          token,
        },
        ctx,
      );
      await until('Failed', () => execution(name, id).status === 'Failed', 5000);
      return state(name).stageStates[3].actionStates[0].latestExecution;
    };
    // No deploy API at all (the CodeDeploy service of an older sandbox).
    const bare = new CodePipelineService(runtime, {
      codecommit: repos as unknown as CodeCommitService,
      codedeploy: {} as unknown as CodeDeployService,
    });
    const saved = h;
    h = bare.handlers;
    try {
      const action = await approveAndFail('p18');
      expect(action.errorDetails.message).toContain(
        'The sandbox CodeDeploy service cannot create deployments yet',
      );
      expect(action.errorDetails.message).toContain('app/app-dg');
    } finally {
      await bare.stop();
      h = saved;
    }
    // A refusal of CreateDeployment names the AWS error.
    const refusing = new CodePipelineService(runtime, {
      codecommit: repos as unknown as CodeCommitService,
      codedeploy: {
        createDeployment: () => {
          throw Object.assign(new Error("The deployment group 'app-dg' does not exist"), {
            code: 'DeploymentGroupDoesNotExistException',
          });
        },
        getDeploymentStatus: () => ({ status: 'Succeeded' }),
      } as unknown as CodeDeployService,
    });
    h = refusing.handlers;
    try {
      const action = await approveAndFail('p19');
      expect(action.errorDetails.message).toBe(
        "DeploymentGroupDoesNotExistException: The deployment group 'app-dg' does not exist",
      );
    } finally {
      await refusing.stop();
      h = saved;
    }
  });

  it('resolves #{namespace.variable} references in action configuration from earlier output variables', async () => {
    const commit = repos.commit(
      'app',
      'main',
      {
        'buildspec.yml': OK_BUILDSPEC.replace(
          '- cp app.txt out/',
          '- cp app.txt out/\n      - echo "commit from variables=$COMMIT"',
        ),
        'app.txt': 'v1',
      },
      'v1',
    );
    const decl = pipeline('p20');
    (decl.stages[0].actions[0] as any).namespace = 'SourceVariables';
    decl.stages[1].actions[0].configuration.EnvironmentVariables = JSON.stringify([
      { name: 'COMMIT', value: '#{SourceVariables.CommitId}', type: 'PLAINTEXT' },
    ]);
    h.CreatePipeline({ pipeline: decl }, ctx);
    const id = latestExecutionId('p20');
    await until('approval', () => approvalToken('p20'));
    const build = h
      .ListActionExecutions({ pipelineName: 'p20', filter: { pipelineExecutionId: id } }, ctx)
      .actionExecutionDetails.find((a: any) => a.actionName === 'Build');
    expect(build.input.configuration.EnvironmentVariables).toContain('#{SourceVariables.CommitId}');
    expect(JSON.parse(build.input.resolvedConfiguration.EnvironmentVariables)[0].value).toBe(commit);
    const log = await readFile(service.buildLog(build.output.executionResult.externalExecutionId)!, 'utf8');
    expect(log).toContain(`commit from variables=${commit}`);
    const bad = pipeline('p21');
    bad.stages[1].actions[0].configuration.EnvironmentVariables = '#{Nope.CommitId}';
    expect(() => h.CreatePipeline({ pipeline: bad }, ctx)).toThrow(
      expect.objectContaining({
        code: 'InvalidActionDeclarationException',
        message: expect.stringContaining("namespace 'Nope'"),
      }),
    );
  });
});
