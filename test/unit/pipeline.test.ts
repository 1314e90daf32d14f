import {
  CodeDeployClient,
  GetDeploymentCommand,
  ListDeploymentTargetsCommand,
  BatchGetDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PutApprovalResultCommand,
  type StageState,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ApprovalNotOursError,
  ExecutionFailedError,
  ExecutionNotFoundError,
  ExecutionSupersededError,
  StageTimeoutError,
  outcome,
} from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';

const OURS = '4f2e9a10-0000-4000-8000-000000000001';
const OTHER = '9b7c0d22-0000-4000-8000-000000000002';
const TOKEN = '0b3f1c2d-aaaa-4bbb-8ccc-123456789abc';
const COMMIT = 'a'.repeat(40);

const cp = mockClient(new CodePipelineClient({ region: 'us-east-1' }));
const cd = mockClient(new CodeDeployClient({ region: 'us-east-1' }));

function pipeline(): Pipeline {
  return new Pipeline({
    codepipeline: cp as unknown as CodePipelineClient,
    codedeploy: cd as unknown as CodeDeployClient,
    pipelineName: 'demo',
    interval: { min: 5, max: 20 },
  });
}
const execution = { pipelineName: 'demo', pipelineExecutionId: OURS };

function stage(
  name: string,
  executionId: string,
  status: string,
  actions: StageState['actionStates'] = [],
): StageState {
  return {
    stageName: name,
    latestExecution: { pipelineExecutionId: executionId, status },
    actionStates: actions,
  } as StageState;
}
function state(...stages: StageState[]) {
  return { pipelineName: 'demo', stageStates: stages };
}
function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: {},
  });
}

beforeEach(() => {
  cp.reset();
  cd.reset();
});

describe('findExecution', () => {
  it('returns the execution carrying our commit, not the latest one', async () => {
    cp.on(ListPipelineExecutionsCommand)
      .resolvesOnce({ pipelineExecutionSummaries: [] })
      .resolves({
        pipelineExecutionSummaries: [
          {
            pipelineExecutionId: OTHER,
            status: 'InProgress',
            startTime: new Date(2000),
            sourceRevisions: [{ actionName: 'Source', revisionId: 'b'.repeat(40) }],
          },
          {
            pipelineExecutionId: OURS,
            status: 'InProgress',
            startTime: new Date(1000),
            sourceRevisions: [{ actionName: 'Source', revisionId: COMMIT }],
          },
        ],
      });
    const found = await pipeline().findExecution({ commitId: COMMIT, timeout: 2000 });
    expect(found.pipelineExecutionId).toBe(OURS);
    expect(found.commitId).toBe(COMMIT);
  });

  it('says which executions it saw when none carries the commit', async () => {
    cp.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [
        {
          pipelineExecutionId: OTHER,
          status: 'Succeeded',
          sourceRevisions: [{ actionName: 'Source', revisionId: 'b'.repeat(40) }],
        },
      ],
    });
    const error = await pipeline()
      .findExecution({ commitId: COMMIT, timeout: 60 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionNotFoundError);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"no execution of pipeline demo carries commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa after 60ms (latest executions: 9b7c0d22-0000-4000-8000-000000000002 [bbbbbbbbbbbb] Succeeded); check that the push went to the branch the source action watches and that change detection is on"`,
    );
  });
});

describe('waitForStage', () => {
  it('survives a throttling storm while the stage progresses', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolvesOnce(state(stage('BuildAndTest', OURS, 'InProgress')))
      .rejectsOnce(throttled())
      .resolves(state(stage('BuildAndTest', OURS, 'Succeeded')));
    const p = pipeline();
    const o = await p.waitForStage(execution, 'BuildAndTest', 'Succeeded', { timeout: 5000 });
    expect(o.stageStatus).toBe('Succeeded');
    // A one-stage pipeline: while its stage shows ours InProgress the execution is too, and once that last stage
    // shows ours Succeeded so has the execution; GetPipelineState told both, GetPipelineExecution was not read.
    expect(p.timeline.of(OURS).map((e) => `${e.stage ?? 'execution'} ${e.status}`)).toEqual([
      'execution InProgress',
      'BuildAndTest InProgress',
      'execution Succeeded',
      'BuildAndTest Succeeded',
    ]);
    expect(cp.commandCalls(GetPipelineExecutionCommand)).toHaveLength(0);
  });

  it('sees our stage succeeded after a newer execution entered it (regression: waited until the deadline)', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(stage('Approval', OTHER, 'InProgress'), stage('Deploy', OURS, 'InProgress')),
    );
    cp.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          pipelineExecutionId: OURS,
          stageName: 'Approval',
          actionName: 'ManualApproval',
          status: 'Succeeded',
        },
        { pipelineExecutionId: OURS, stageName: 'Deploy', actionName: 'Deploy', status: 'InProgress' },
      ],
    });
    const o = await pipeline().waitForStage(execution, 'Approval', 'Succeeded', { timeout: 2000 });
    expect(o).toMatchObject({ ours: false, ourStageStatus: 'Succeeded', stageExecutionId: OTHER });
  });

  it('reports a superseded execution with a clear error naming the newer one', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'Superseded' },
    });
    cp.on(GetPipelineStateCommand).resolves(state(stage('Approval', OTHER, 'InProgress')));
    cp.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [
        {
          pipelineExecutionId: OTHER,
          status: 'InProgress',
          startTime: new Date(2000),
          sourceRevisions: [{ actionName: 'Source', revisionId: 'c0ffee1' }],
        },
        { pipelineExecutionId: OURS, status: 'Superseded', startTime: new Date(1000) },
      ],
    });
    const error = await pipeline()
      .waitForStage(execution, 'Approval', 'InProgress')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionSupersededError);
    expect((error as ExecutionSupersededError).supersededBy).toBe(OTHER);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"execution 4f2e9a10-0000-4000-8000-000000000001 of pipeline demo was superseded by execution 9b7c0d22-0000-4000-8000-000000000002 (revision c0ffee1) while waiting in front of a locked stage (Approval: execution Superseded, not in Approval yet; Approval shows execution 9b7c0d22-0000-4000-8000-000000000002: InProgress); a newer push replaced it: do not push to the branch while a run is in progress, or use a QUEUED pipeline"`,
    );
  });

  it('fails fast naming the failed stage, action and errorDetails', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'Failed' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(
        stage('BuildAndTest', OURS, 'Failed', [
          {
            actionName: 'Build',
            latestExecution: {
              status: 'Failed',
              errorDetails: { code: 'JobFailed', message: 'npm test exited 1' },
            },
          },
        ]),
        stage('Deploy', OTHER, 'Succeeded'),
      ),
    );
    cp.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          stageName: 'BuildAndTest',
          actionName: 'Build',
          status: 'Failed',
          output: { executionResult: { errorDetails: { code: 'JobFailed', message: 'npm test exited 1' } } },
        },
      ],
    });
    const error = (await pipeline()
      .waitForStage(execution, 'Deploy', 'Succeeded')
      .catch((e: unknown) => e)) as ExecutionFailedError;
    expect(error).toBeInstanceOf(ExecutionFailedError);
    expect(error.failed).toMatchObject({ stage: 'BuildAndTest', action: 'Build', errorCode: 'JobFailed' });
    expect(error.message).toMatchInlineSnapshot(
      `"execution 4f2e9a10-0000-4000-8000-000000000001 of pipeline demo failed at stage BuildAndTest, action Build: JobFailed: npm test exited 1"`,
    );
  });

  it('times out naming the stage, the action, its deployment and where each instance is', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(
        stage('Deploy', OURS, 'InProgress', [
          {
            actionName: 'DeployBlueGreen',
            latestExecution: { status: 'InProgress', externalExecutionId: 'd-7QABCDEF1' },
          },
        ]),
      ),
    );
    cd.on(GetDeploymentCommand).resolves({
      deploymentInfo: { deploymentId: 'd-7QABCDEF1', status: 'InProgress' },
    });
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['i-0a1b2c3d4e5f60718'] });
    cd.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          deploymentTargetType: 'InstanceTarget',
          instanceTarget: {
            targetId: 'i-0a1b2c3d4e5f60718',
            status: 'InProgress',
            lifecycleEvents: [
              { lifecycleEventName: 'ValidateService', status: 'Succeeded' },
              { lifecycleEventName: 'BeforeAllowTraffic', status: 'Pending' },
            ],
          },
        },
      ],
    });
    const error = (await pipeline()
      .waitForStage(execution, 'Deploy', 'Succeeded', { timeout: 80 })
      .catch((e: unknown) => e)) as StageTimeoutError;
    expect(error).toBeInstanceOf(StageTimeoutError);
    expect(error.message).toMatchInlineSnapshot(
      `"stage Deploy of execution 4f2e9a10-0000-4000-8000-000000000001 still InProgress after 80ms (wanted Succeeded); action DeployBlueGreen → deployment d-7QABCDEF1: InProgress, instance i-0a1b2c3d4e5f60718 at BeforeAllowTraffic (Pending)"`,
    );
    expect(error.history.length).toBeGreaterThan(0);
    expect(error.lastState).toMatchObject({ stage: 'Deploy', stageStatus: 'InProgress' });
  });
});

describe('Pipeline.fromConfig', () => {
  it("gives each stage wait its own phase's deadline, and any other stage timeouts.stage", async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        endpoint: 'http://127.0.0.1:9',
        pipelineName: 'demo',
        poll: { minIntervalMs: 5, maxIntervalMs: 20 },
        timeouts: { source: 31, build: 42, approval: 53, deploy: 64, stage: 75 },
      },
    });
    const clients = {
      codepipeline: cp as unknown as CodePipelineClient,
      codedeploy: cd as unknown as CodeDeployClient,
    };
    const running = (name: string) => stage(name, OURS, 'InProgress');
    cp.on(GetPipelineStateCommand).resolves(
      state(...['Source', 'BuildAndTest', 'Approval', 'Deploy', 'Smoke'].map(running)),
    );
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    const deadlines: Record<string, string> = {};
    for (const name of ['Source', 'BuildAndTest', 'Approval', 'Deploy', 'Smoke']) {
      const error = await Pipeline.fromConfig(config, clients)
        .waitForStage(execution, name, 'Succeeded')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StageTimeoutError);
      deadlines[name] = /after (\S+)/.exec((error as Error).message)?.[1] ?? '?';
    }
    expect(deadlines).toEqual({
      Source: '31ms',
      BuildAndTest: '42ms',
      Approval: '53ms',
      Deploy: '64ms',
      Smoke: '75ms',
    });
  });
});

describe('approve', () => {
  const approvalAction = (status: string, token?: string): any[] => [
    { actionName: 'ManualApproval', latestExecution: { status, ...(token ? { token } : {}) } },
  ];

  it('refuses an approval that belongs to another execution, never sending its token', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(stage('Approval', OTHER, 'InProgress', approvalAction('InProgress', TOKEN))),
    );
    const error = (await pipeline()
      .approve(execution, { summary: 'ok', timeout: 60 })
      .catch((e: unknown) => e)) as ApprovalNotOursError;
    expect(error).toBeInstanceOf(ApprovalNotOursError);
    expect(error.openFor).toBe(OTHER);
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(0);
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error.lastState)).not.toContain(TOKEN);
    expect(error.message).toMatchInlineSnapshot(
      `"no open approval Approval/ManualApproval for execution 4f2e9a10-0000-4000-8000-000000000001 after 60ms; the open approval belongs to execution 9b7c0d22-0000-4000-8000-000000000002, not ours: refusing to answer it (execution InProgress, not in Approval yet; Approval shows execution 9b7c0d22-0000-4000-8000-000000000002: InProgress)"`,
    );
  });

  it('approves our open approval with its token once our execution reaches it', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(state(stage('Approval', OTHER, 'Succeeded', approvalAction('Succeeded'))))
      .resolves(state(stage('Approval', OURS, 'InProgress', approvalAction('InProgress', TOKEN))));
    cp.on(PutApprovalResultCommand).resolves({ approvedAt: new Date(5000) });
    const p = pipeline();
    const result = await p.approve(execution, { summary: 'tests green', timeout: 2000 });
    expect(result.status).toBe('Approved');
    const calls = cp.commandCalls(PutApprovalResultCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toMatchObject({
      pipelineName: 'demo',
      stageName: 'Approval',
      actionName: 'ManualApproval',
      token: TOKEN,
      result: { status: 'Approved', summary: 'tests green' },
    });
    expect(JSON.stringify(p.timeline.entries)).not.toContain(TOKEN);
  });

  it('turns a token that went stale between read and answer into ApprovalNotOursError', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(stage('Approval', OURS, 'InProgress', approvalAction('InProgress', TOKEN))),
    );
    cp.on(PutApprovalResultCommand).rejects(
      Object.assign(new Error('The approval request already received a response or has expired.'), {
        name: 'InvalidApprovalTokenException',
      }),
    );
    const error = await pipeline()
      .reject(execution, { summary: 'no', timeout: 500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApprovalNotOursError);
    expect((error as Error).message).toContain('InvalidApprovalTokenException');
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('has a result form that returns the refusal instead of throwing it', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(stage('Approval', OTHER, 'InProgress', approvalAction('InProgress', TOKEN))),
    );
    const result = await outcome(pipeline().approve(execution, { summary: 'ok', timeout: 0 }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(ApprovalNotOursError);
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(0);
  });

  it('refuses to answer our approval twice', async () => {
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand).resolves(
      state(stage('Approval', OURS, 'Succeeded', approvalAction('Succeeded'))),
    );
    await expect(pipeline().approve(execution, { summary: 'again', timeout: 500 })).rejects.toThrow(
      /already Succeeded/,
    );
    expect(cp.commandCalls(PutApprovalResultCommand)).toHaveLength(0);
  });
});
