/**
 * Non-idempotent calls made safe to retry, with the exact shapes AWS answers (aws-sdk-client-mock): a refused or
 * failed PutApprovalResult / StopDeployment counts as done only when the state read afterwards shows it done.
 */
import { CodeDeployClient, GetDeploymentCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  type GetPipelineStateOutput,
  ListActionExecutionsCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopDeployment } from '../../src/deploy/stop.ts';
import { ApprovalNotOursError } from '../../src/errors.ts';
import { approve, reject } from '../../src/pipeline/approval.ts';

const OURS = '4f2e9a10-0000-4000-8000-000000000001';
const OTHER = '9b7c0d22-0000-4000-8000-000000000002';
const TOKEN = '0b3f1c2d-aaaa-4bbb-8ccc-123456789abc';
const ACTION_EXECUTION = 'ae-0001';

const cp = mockClient(new CodePipelineClient({ region: 'us-east-1' }));
const cd = mockClient(new CodeDeployClient({ region: 'us-east-1' }));
const ctx = {
  codepipeline: cp as unknown as CodePipelineClient,
  pipelineName: 'demo',
  interval: { min: 5, max: 20 },
};
const execution = { pipelineName: 'demo', pipelineExecutionId: OURS };

function approvalState(stageExecution: string, latest: Record<string, unknown>): GetPipelineStateOutput {
  return {
    pipelineName: 'demo',
    stageStates: [
      {
        stageName: 'Approval',
        latestExecution: { pipelineExecutionId: stageExecution, status: latest.status },
        actionStates: [{ actionName: 'ManualApproval', latestExecution: latest }],
      },
    ],
  } as GetPipelineStateOutput;
}
const open = approvalState(OURS, { status: 'InProgress', token: TOKEN, actionExecutionId: ACTION_EXECUTION });
function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(name), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 10 },
  });
}

beforeEach(() => {
  cp.reset();
  cd.reset();
  cp.on(GetPipelineExecutionCommand).resolves({
    pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
  });
});

describe('PutApprovalResult retried after a lost response', () => {
  it('counts ApprovalAlreadyCompletedException as ours once the state shows our status and summary', async () => {
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(open) // the wait sees it open
      .resolvesOnce(open) // the token read
      .resolvesOnce(open) // not visible yet: the status follows the answer
      .resolves(
        approvalState(OURS, {
          status: 'Succeeded',
          summary: 'run r1: green',
          actionExecutionId: ACTION_EXECUTION,
          lastStatusChange: new Date(7000),
        }),
      );
    cp.on(PutApprovalResultCommand).rejects(awsError('ApprovalAlreadyCompletedException'));
    const result = await approve(ctx, execution, { summary: 'run r1: green', timeout: 2000 });
    expect(result).toEqual({
      pipelineExecutionId: OURS,
      stage: 'Approval',
      action: 'ManualApproval',
      status: 'Approved',
      approvedAt: new Date(7000),
      confirmedFromState: true,
    });
  });

  it('reads our own action execution once a newer execution shows in the stage', async () => {
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(open)
      .resolvesOnce(open)
      .resolves(approvalState(OTHER, { status: 'InProgress', token: 'x', actionExecutionId: 'ae-0002' }));
    cp.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        {
          pipelineExecutionId: OURS,
          actionExecutionId: ACTION_EXECUTION,
          stageName: 'Approval',
          actionName: 'ManualApproval',
          status: 'Failed',
          updatedBy: 'arn:aws:iam::000000000000:user/harness',
          output: { executionResult: { externalExecutionSummary: 'run r2: no' } },
        },
      ],
    });
    cp.on(PutApprovalResultCommand).rejects(awsError('InvalidApprovalTokenException'));
    const result = await reject(ctx, execution, { summary: 'run r2: no', timeout: 2000 });
    expect(result).toMatchObject({ status: 'Rejected', confirmedFromState: true });
  });

  it('is not ours when the state shows another summary, or no answer', async () => {
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(open)
      .resolvesOnce(open)
      .resolves(
        approvalState(OURS, {
          status: 'Succeeded',
          summary: 'approved by hand',
          actionExecutionId: ACTION_EXECUTION,
        }),
      );
    cp.on(PutApprovalResultCommand).rejects(awsError('ApprovalAlreadyCompletedException'));
    const error = await approve(ctx, execution, { summary: 'run r3', timeout: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApprovalNotOursError);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"CodePipeline refused our answer to Approval/ManualApproval of execution 4f2e9a10-0000-4000-8000-000000000001 (ApprovalAlreadyCompletedException): the approval was answered, expired or replaced in the meantime; it shows Succeeded with summary "approved by hand", not our Approved"`,
    );
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('keeps the 5xx when out of retries and the state shows nothing of ours, and counts it when it does', async () => {
    cp.on(GetPipelineStateCommand).resolves(open);
    cp.on(PutApprovalResultCommand).rejects(awsError('ServiceUnavailable', 503));
    await expect(approve(ctx, execution, { summary: 'run r4', timeout: 2000 })).rejects.toMatchObject({
      name: 'ServiceUnavailable',
    });

    cp.reset();
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { pipelineExecutionId: OURS, status: 'InProgress' },
    });
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(open)
      .resolvesOnce(open)
      .resolves(
        approvalState(OURS, { status: 'Succeeded', summary: 'run r5', actionExecutionId: ACTION_EXECUTION }),
      );
    cp.on(PutApprovalResultCommand).rejects(awsError('ServiceUnavailable', 503));
    const result = await approve(ctx, execution, { summary: 'run r5', timeout: 2000 });
    expect(result).toMatchObject({ status: 'Approved', confirmedFromState: true });
  });

  it('never takes a timed-out approval for an empty-summary rejection', async () => {
    cp.on(GetPipelineStateCommand)
      .resolvesOnce(open)
      .resolvesOnce(open)
      .resolves(approvalState(OURS, { status: 'Failed', actionExecutionId: ACTION_EXECUTION }));
    cp.on(PutApprovalResultCommand).rejects(awsError('InvalidApprovalTokenException'));
    await expect(reject(ctx, execution, { summary: '', timeout: 2000 })).rejects.toBeInstanceOf(
      ApprovalNotOursError,
    );
  });
});

describe('StopDeployment retried after a lost response', () => {
  const codedeploy = cd as unknown as CodeDeployClient;

  it('counts DeploymentAlreadyCompletedException as stopped when the deployment shows Stopped', async () => {
    cd.on(StopDeploymentCommand).rejects(awsError('DeploymentAlreadyCompletedException'));
    cd.on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId: 'd-ABC', status: 'InProgress' } }) // still winding down
      .resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Stopped' } });
    await expect(stopDeployment(codedeploy, 'd-ABC')).resolves.toMatchObject({
      deploymentId: 'd-ABC',
      alreadyStopped: true,
    });
  });

  it('rethrows when the deployment ended otherwise: no stop happened', async () => {
    cd.on(StopDeploymentCommand).rejects(awsError('DeploymentAlreadyCompletedException'));
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'Succeeded' } });
    await expect(stopDeployment(codedeploy, 'd-ABC')).rejects.toMatchObject({
      name: 'DeploymentAlreadyCompletedException',
    });
  });

  it('keeps the 5xx when out of retries and the deployment is still running', async () => {
    cd.on(StopDeploymentCommand).rejects(awsError('ServiceUnavailable', 503));
    cd.on(GetDeploymentCommand).resolves({ deploymentInfo: { deploymentId: 'd-ABC', status: 'InProgress' } });
    await expect(stopDeployment(codedeploy, 'd-ABC')).rejects.toMatchObject({ name: 'ServiceUnavailable' });
    expect(cd.commandCalls(GetDeploymentCommand)).toHaveLength(1);
  });
});
