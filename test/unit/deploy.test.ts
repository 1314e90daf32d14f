import {
  BatchGetDeploymentInstancesCommand,
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  GetDeploymentCommand,
  ListDeploymentInstancesCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  deploymentOf,
  waitForDeploymentEnd,
  rollbackOf,
  waitForDeployment,
} from '../../src/deploy/deployment.ts';
import { lifecycleEvents } from '../../src/deploy/targets.ts';
import {
  AccessDeniedError,
  DeploymentFailedError,
  DeploymentReadyError,
  DeploymentRolledBackError,
  WaitTimeoutError,
} from '../../src/errors.ts';

const cd = mockClient(new CodeDeployClient({ region: 'us-east-1' }));
const cp = mockClient(new CodePipelineClient({ region: 'us-east-1' }));
const codedeploy = cd as unknown as CodeDeployClient;
const fast = { interval: { min: 5, max: 20 } };
const ID = 'd-ABCDEF123';

function deployment(status: string, extra: Record<string, unknown> = {}): any {
  return { deploymentInfo: { deploymentId: ID, status, ...extra } };
}

beforeEach(() => {
  cd.reset();
  cp.reset();
});

describe('waitForDeploymentEnd / waitForDeployment', () => {
  it('does not take Ready or Baking for final, and continues a Ready deployment when told to', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('Created'))
      .resolvesOnce(deployment('InProgress'))
      .resolvesOnce(deployment('Ready'))
      .resolvesOnce(deployment('Baking'))
      .resolves(deployment('Succeeded'));
    cd.on(ContinueDeploymentCommand).resolves({});
    const seen: string[] = [];
    const outcome = await waitForDeployment(codedeploy, ID, {
      ...fast,
      timeout: 5000,
      continueReady: true,
      onChange: (s) => seen.push(s),
    });
    expect(outcome.status).toBe('Succeeded');
    expect(seen).toEqual(['Created', 'InProgress', 'Ready', 'Baking', 'Succeeded']);
    expect(cd.commandCalls(ContinueDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { deploymentId: ID, deploymentWaitType: 'READY_WAIT' },
    ]);
  });

  it('stops at a Ready deployment it was not told to continue, naming the setting', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('InProgress'))
      .resolves(
        deployment('Ready', {
          blueGreenDeploymentConfiguration: {
            deploymentReadyOption: { actionOnTimeout: 'STOP_DEPLOYMENT', waitTimeInMinutes: 60 },
          },
        }),
      );
    const error = (await waitForDeploymentEnd(codedeploy, ID, { ...fast, timeout: 5000 }).catch(
      (e: unknown) => e,
    )) as DeploymentReadyError;
    expect(error).toBeInstanceOf(DeploymentReadyError);
    expect(error.setting).toBe('deploy.continueReady');
    expect(error.message).toMatchInlineSnapshot(
      `"deployment d-ABCDEF123 is Ready: green is installed and CodeDeploy waits for ContinueDeployment (deploymentReadyOption STOP_DEPLOYMENT, stopping it after 60m) before it reroutes traffic; set HARNESS_CONTINUE_READY=true (deploy.continueReady) to have the harness continue it, or continue it yourself (aws deploy continue-deployment --deployment-id d-ABCDEF123 --deployment-wait-type READY_WAIT) and wait again"`,
    );
    expect(cd.commandCalls(ContinueDeploymentCommand)).toHaveLength(0);
  });

  it('sends ContinueDeployment once, and takes a Ready that someone else continued for done', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('Ready'))
      .resolvesOnce(deployment('Ready'))
      .resolves(deployment('Succeeded'));
    cd.on(ContinueDeploymentCommand).rejects(
      Object.assign(new Error('not ready'), { name: 'DeploymentIsNotInReadyStateException' }),
    );
    const observed: string[] = [];
    const outcome = await waitForDeploymentEnd(codedeploy, ID, {
      ...fast,
      continueReady: true,
      onChange: (_, o) => observed.push(o.summary),
    });
    expect(outcome.status).toBe('Succeeded');
    expect(cd.commandCalls(ContinueDeploymentCommand)).toHaveLength(1);
    expect(observed).toEqual([
      'Ready, green installed, waiting for ContinueDeployment, ContinueDeployment sent',
      'Succeeded',
    ]);
  });

  it('reports the traffic shift (blue terminating) as its own observation and waits for the end', async () => {
    const shifted = deployment('InProgress', { instanceTerminationWaitTimeStarted: true });
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('InProgress', { instanceTerminationWaitTimeStarted: false }))
      .resolvesOnce(shifted)
      .resolvesOnce(shifted)
      .resolves(deployment('Succeeded', { instanceTerminationWaitTimeStarted: true }));
    const phases: string[] = [];
    const outcome = await waitForDeployment(codedeploy, ID, {
      ...fast,
      onChange: (status, o) => phases.push(`${status} ${o.phase}`),
    });
    expect(phases).toEqual(['InProgress deploying', 'InProgress traffic-shifted', 'Succeeded ended']);
    expect(outcome).toMatchObject({ status: 'Succeeded', phase: 'ended' });
  });

  it('with liveAtTrafficShift, a deployment whose blue is terminating counts as done', async () => {
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('InProgress'))
      .resolves(deployment('InProgress', { instanceTerminationWaitTimeStarted: true }));
    const outcome = await waitForDeployment(codedeploy, ID, { ...fast, liveAtTrafficShift: true });
    expect(outcome).toMatchObject({ status: 'InProgress', phase: 'traffic-shifted' });
  });

  it('times out in the termination wait naming the setting that calls a release live at the shift', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('InProgress', {
        instanceTerminationWaitTimeStarted: true,
        deploymentOverview: { Succeeded: 4 },
        blueGreenDeploymentConfiguration: {
          terminateBlueInstancesOnDeploymentSuccess: {
            action: 'TERMINATE',
            terminationWaitTimeInMinutes: 60,
          },
        },
      }),
    );
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });
    const error = await waitForDeployment(codedeploy, ID, { ...fast, timeout: 60 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"deployment d-ABCDEF123 still InProgress [Succeeded 4], traffic shifted, blue terminating after 60ms; traffic has shifted and blue is in its termination wait (blue is terminated 60m after the traffic shift): set HARNESS_LIVE_AT_TRAFFIC_SHIFT=true (deploy.liveAtTrafficShift) to call a release live once traffic has shifted, or a deploy timeout above the wait"`,
    );
  });

  it('treats a rolled-back deployment as a failure, naming the rollback and the failing instance', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('Failed', {
        errorInformation: {
          code: 'HEALTH_CONSTRAINTS',
          message: 'too many individual instances failed deployment',
        },
        rollbackInfo: { rollbackDeploymentId: 'd-ROLLBACK1' },
      }),
    );
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['i-1'] });
    cd.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          instanceTarget: {
            targetId: 'i-1',
            status: 'Failed',
            lifecycleEvents: [
              {
                lifecycleEventName: 'ValidateService',
                status: 'Failed',
                diagnostics: {
                  errorCode: 'ScriptFailed',
                  message:
                    'Script at specified location: scripts/validate_service.sh failed with exit code 1',
                },
              },
              { lifecycleEventName: 'BeforeAllowTraffic', status: 'Skipped' },
            ],
          },
        },
      ],
    });
    const error = (await waitForDeployment(codedeploy, ID, fast).catch(
      (e: unknown) => e,
    )) as DeploymentRolledBackError;
    expect(error).toBeInstanceOf(DeploymentRolledBackError);
    expect(error).toBeInstanceOf(DeploymentFailedError);
    expect(error.rollbackDeploymentId).toBe('d-ROLLBACK1');
    expect(error.message).toMatchInlineSnapshot(
      `"deployment d-ABCDEF123 Failed (HEALTH_CONSTRAINTS: too many individual instances failed deployment); instance i-1 at ValidateService (Failed: ScriptFailed Script at specified location: scripts/validate_service.sh failed with exit code 1); CodeDeploy rolled it back with deployment d-ROLLBACK1"`,
    );
  });

  it('waits for the rollback link when auto-rollback applies to the failure', async () => {
    const auto = { autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } };
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('Failed', auto))
      .resolves(deployment('Failed', { ...auto, rollbackInfo: { rollbackDeploymentId: 'd-ROLLBACK2' } }));
    const outcome = await waitForDeploymentEnd(codedeploy, ID, fast);
    expect(outcome.rollbackDeploymentId).toBe('d-ROLLBACK2');
  });

  it('reports a stopped deployment without rollback as DeploymentFailedError', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('Stopped', { errorInformation: { code: 'MANUAL_STOP', message: 'stopped by user' } }),
    );
    cd.on(ListDeploymentTargetsCommand).rejects(
      Object.assign(new Error('not started'), { name: 'DeploymentNotStartedException' }),
    );
    const error = await waitForDeployment(codedeploy, ID, fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentFailedError);
    expect(error).not.toBeInstanceOf(DeploymentRolledBackError);
    expect((error as Error).message).toBe('deployment d-ABCDEF123 Stopped (MANUAL_STOP: stopped by user)');
  });

  it('waits for the late rollback link of a deployment it stopped with autoRollbackEnabled, whatever the group events', async () => {
    // The group rolls back on DEPLOYMENT_FAILURE only; StopDeployment(autoRollbackEnabled) rolls back anyway.
    const stopped = {
      errorInformation: { code: 'MANUAL_STOP', message: 'stopped by user' },
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
    };
    cd.on(GetDeploymentCommand)
      .resolvesOnce(deployment('Stopped', stopped))
      .resolvesOnce(deployment('Stopped', stopped))
      .resolves(deployment('Stopped', { ...stopped, rollbackInfo: { rollbackDeploymentId: 'd-ROLLBACK3' } }));
    const phases: string[] = [];
    const outcome = await waitForDeploymentEnd(codedeploy, ID, {
      ...fast,
      rollbackExpected: true,
      onChange: (_, o) => phases.push(o.phase),
    });
    expect(outcome).toMatchObject({
      status: 'Stopped',
      phase: 'ended',
      rollbackDeploymentId: 'd-ROLLBACK3',
      rollbackExpected: 'stopped with autoRollbackEnabled',
    });
    expect(phases).toEqual(['rollback-pending', 'ended']);
    // Without knowing it stopped the deployment itself, the group's events say no rollback: final at once.
    cd.reset();
    cd.on(GetDeploymentCommand).resolves(deployment('Stopped', stopped));
    expect(await waitForDeploymentEnd(codedeploy, ID, fast)).toMatchObject({ rollbackExpected: undefined });
    expect(cd.commandCalls(GetDeploymentCommand)).toHaveLength(1);
  });

  it('is final without the link once rollbackLinkTimeout has passed, and says so', async () => {
    const auto = { autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } };
    cd.on(GetDeploymentCommand).resolves(deployment('Failed', auto));
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });
    const error = await waitForDeployment(codedeploy, ID, { ...fast, rollbackLinkTimeout: 50 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeploymentFailedError);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"deployment d-ABCDEF123 Failed; a rollback was expected (auto-rollback on DEPLOYMENT_FAILURE) but none was linked within 50ms of the Failed status"`,
    );
  });

  it('does not wait for a rollback after a Ready wait that expired (TIMEOUT is no stop on request)', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('Stopped', {
        errorInformation: { code: 'TIMEOUT', message: 'no ContinueDeployment in time' },
        autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_STOP_ON_REQUEST'] },
      }),
    );
    const outcome = await waitForDeploymentEnd(codedeploy, ID, fast);
    expect(outcome).toMatchObject({ status: 'Stopped', phase: 'ended', rollbackExpected: undefined });
    expect(cd.commandCalls(GetDeploymentCommand)).toHaveLength(1);
  });

  it('times out naming the last status and where the instances are', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('InProgress', { deploymentOverview: { InProgress: 1, Pending: 1 } }),
    );
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['i-1'] });
    cd.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          instanceTarget: {
            targetId: 'i-1',
            status: 'InProgress',
            instanceLabel: 'Green',
            lifecycleEvents: [{ lifecycleEventName: 'AllowTraffic', status: 'InProgress' }],
          },
        },
      ],
    });
    const error = await waitForDeployment(codedeploy, ID, { ...fast, timeout: 60 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"deployment d-ABCDEF123 still InProgress [Pending 1, InProgress 1] after 60ms; instance i-1 [Green] at AllowTraffic (InProgress)"`,
    );
  });

  it('stops at once on AccessDenied: GetDeployment called once', async () => {
    cd.on(GetDeploymentCommand).rejects(
      Object.assign(new Error('not authorized to perform codedeploy:GetDeployment'), {
        name: 'AccessDeniedException',
      }),
    );
    await expect(waitForDeployment(codedeploy, ID, { ...fast, timeout: 5000 })).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
    expect(cd.commandCalls(GetDeploymentCommand)).toHaveLength(1);
  });
});

describe('lifecycleEvents', () => {
  it('falls back to ListDeploymentInstances when the target APIs are not available', async () => {
    cd.on(ListDeploymentTargetsCommand).rejects(
      Object.assign(new Error('x'), { name: 'UnknownOperationException' }),
    );
    cd.on(ListDeploymentInstancesCommand).resolves({ instancesList: ['i-2'] });
    cd.on(BatchGetDeploymentInstancesCommand).resolves({
      instancesSummary: [
        {
          instanceId: 'arn:aws:ec2:us-east-1:000000000000:instance/i-2',
          status: 'Succeeded',
          lifecycleEvents: [{ lifecycleEventName: 'Install', status: 'Succeeded' }],
        },
      ],
    });
    const targets = await lifecycleEvents(codedeploy, ID);
    expect(targets).toEqual([
      expect.objectContaining({
        targetId: 'i-2',
        status: 'Succeeded',
        events: [expect.objectContaining({ name: 'Install', status: 'Succeeded' })],
      }),
    ]);
  });

  it('reads targets in batches of 25', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `i-${i}`);
    cd.on(ListDeploymentTargetsCommand).resolves({ targetIds: ids });
    cd.on(BatchGetDeploymentTargetsCommand).callsFake((input: { targetIds: string[] }) => ({
      deploymentTargets: input.targetIds.map((targetId) => ({
        instanceTarget: { targetId, status: 'Succeeded' },
      })),
    }));
    expect(await lifecycleEvents(codedeploy, ID)).toHaveLength(30);
    expect(
      cd.commandCalls(BatchGetDeploymentTargetsCommand).map((c) => c.args[0].input.targetIds?.length),
    ).toEqual([25, 5]);
  });
});

describe('deploymentOf / rollbackOf', () => {
  const ctx = {
    codepipeline: cp as unknown as CodePipelineClient,
    pipelineName: 'demo',
    interval: { min: 5, max: 20 },
  };
  const execution = { pipelineName: 'demo', pipelineExecutionId: 'e1' };

  it("reads the Deploy action's deployment id of our execution from ListActionExecutions", async () => {
    cp.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { status: 'InProgress' } });
    cp.on(GetPipelineStateCommand).resolves({
      stageStates: [
        { stageName: 'Deploy', latestExecution: { pipelineExecutionId: 'e0', status: 'InProgress' } },
      ],
    });
    cp.on(ListActionExecutionsCommand)
      .resolvesOnce({ actionExecutionDetails: [] })
      .resolves({
        actionExecutionDetails: [
          {
            stageName: 'Deploy',
            actionName: 'Deploy',
            output: { executionResult: { externalExecutionId: ID } },
          },
        ],
      });
    expect(await deploymentOf(ctx, execution, { timeout: 2000 })).toBe(ID);
  });

  it('returns the rollback link of a deployment', async () => {
    cd.on(GetDeploymentCommand).resolves(
      deployment('Failed', { rollbackInfo: { rollbackDeploymentId: 'd-R', rollbackMessage: 'in progress' } }),
    );
    expect(await rollbackOf(codedeploy, ID)).toEqual({
      rollbackDeploymentId: 'd-R',
      rollbackMessage: 'in progress',
    });
  });
});
