/**
 * The harness following blue/green as AWS runs it (issue 13), on the sample stack through the pipeline: a stop
 * with autoRollbackEnabled is proven although the group does not roll back on DEPLOYMENT_STOP_ON_REQUEST and the
 * rollback link comes late; a release is live at the traffic shift while blue is still terminating; a deployment
 * waiting in Ready is continued when the run is told to.
 */
import {
  ContinueDeploymentCommand,
  GetDeploymentCommand,
  UpdateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

let sandbox: Sandbox;
let harness: Harness;
const log: string[] = [];
/** The harness's own deadlines fire first, naming what they last saw. */
const timeouts = { deploy: '2m', rollback: '2m', live: '1m', stage: '2m', build: '2m', approval: '2m' };
const TEST_TIMEOUT = 5 * 60_000; // ms

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  harness = await Harness.start({
    sandbox,
    config: { runId: `ph${Date.now().toString(36).slice(-6)}`, timeouts, deploy: { continueReady: true } },
    log: (line) => log.push(line),
  });
  await harness.ready();
}, 120_000);
afterAll(async () => {
  const closed = await harness?.close();
  expect(closed?.leaks.clean).toBe(true);
  await sandbox?.stop();
});

/** Changes the sample stack's deployment group the way a team's own stack may differ from it. */
async function updateGroup(settings: {
  rollbackEvents?: ('DEPLOYMENT_FAILURE' | 'DEPLOYMENT_STOP_ON_REQUEST')[];
  terminationWaitMinutes?: number;
  readyWaitMinutes?: number;
}) {
  await harness.clients.codedeploy.send(
    new UpdateDeploymentGroupCommand({
      applicationName: harness.names!.applicationName,
      currentDeploymentGroupName: harness.names!.deploymentGroupName,
      autoRollbackConfiguration: {
        enabled: true,
        events: settings.rollbackEvents ?? ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      },
      blueGreenDeploymentConfiguration: {
        terminateBlueInstancesOnDeploymentSuccess: {
          action: 'TERMINATE',
          terminationWaitTimeInMinutes: settings.terminationWaitMinutes ?? 1,
        },
        deploymentReadyOption:
          settings.readyWaitMinutes === undefined
            ? { actionOnTimeout: 'CONTINUE_DEPLOYMENT' }
            : { actionOnTimeout: 'STOP_DEPLOYMENT', waitTimeInMinutes: settings.readyWaitMinutes },
        greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
      },
    }),
  );
}

describe('the harness on blue/green as AWS runs it', () => {
  it(
    'proves the rollback of a deployment it stopped with autoRollbackEnabled, on a group that rolls back on DEPLOYMENT_FAILURE only, with a late link',
    async () => {
      await updateGroup({ rollbackEvents: ['DEPLOYMENT_FAILURE'] });
      const settings = sandbox.services.codedeploy.settings;
      const delay = settings.rollbackLinkDelayMs;
      settings.rollbackLinkDelayMs = 100_000; // 2 s here: every read of the Stopped status comes before the link
      try {
        const previous = harness.currentVersion;
        const forced = await harness.forceFailedDeploy('stop-deployment');
        expect(forced.outcome).toMatchObject({
          status: 'Stopped',
          rollbackExpected: 'stopped with autoRollbackEnabled',
        });
        expect(forced.outcome.rollbackDeploymentId).toMatch(/^d-[A-Z0-9]{9}$/);
        const proof = await harness.expectRollback(forced);
        expect(proof.checks.filter((c) => !c.ok)).toEqual([]);
        expect(proof.live?.version).toBe(previous);
      } finally {
        settings.rollbackLinkDelayMs = delay;
        await updateGroup({});
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'is live at the traffic shift while blue is still terminating, with the shift on the timeline',
    async () => {
      await updateGroup({ terminationWaitMinutes: 60 }); // 72 s here: the release does not wait for it
      const push = await harness.push();
      const execution = await harness.findExecution(push);
      await harness.waitForStage(execution, harness.config.stages.build);
      await harness.approve(execution);
      const followed = await harness.followDeployment(execution, { liveAtTrafficShift: true });
      expect(followed.outcome).toMatchObject({ status: 'InProgress', phase: 'traffic-shifted' });
      expect(followed.stage.stageStatus).toBe('InProgress');
      const live = await harness.expectLive(push.version);
      expect(live.live).toBe(true);
      const row = harness.timeline
        .of(execution.pipelineExecutionId)
        .filter((e) => e.action === `deployment ${followed.deploymentId}`)
        .map((e) => e.status);
      expect(row.at(-1)).toBe('TrafficShifted');
      expect(
        log.some((l) => l.includes(`deployment ${followed.deploymentId}: traffic shifted, blue terminating`)),
      ).toBe(true);
      // CodeDeploy itself still says InProgress until blue is gone; skip the rest of the wait and see the end.
      const info = (
        await harness.clients.codedeploy.send(
          new GetDeploymentCommand({ deploymentId: followed.deploymentId }),
        )
      ).deploymentInfo!;
      expect(info).toMatchObject({ status: 'InProgress', instanceTerminationWaitTimeStarted: true });
      await harness.clients.codedeploy.send(
        new ContinueDeploymentCommand({
          deploymentId: followed.deploymentId,
          deploymentWaitType: 'TERMINATION_WAIT',
        }),
      );
      const end = await harness.followDeployment(execution);
      expect(end.outcome).toMatchObject({ status: 'Succeeded', phase: 'ended' });
      expect(end.stage.stageStatus).toBe('Succeeded');
      await updateGroup({});
    },
    TEST_TIMEOUT,
  );

  it(
    'continues a deployment waiting in Ready when told to (deploy.continueReady), and says so',
    async () => {
      await updateGroup({ readyWaitMinutes: 60 });
      try {
        const release = await harness.release({ probe: false });
        expect(release.outcome.status).toBe('Succeeded');
        const row = harness.timeline
          .of(release.execution.pipelineExecutionId)
          .filter((e) => e.action === `deployment ${release.deploymentId}`)
          .map((e) => e.status);
        expect(row).toContain('Ready');
        expect(row.at(-1)).toBe('Succeeded');
        expect(log).toContain(
          `deployment ${release.deploymentId} Ready: sent ContinueDeployment (READY_WAIT), deploy.continueReady`,
        );
      } finally {
        await updateGroup({});
      }
    },
    TEST_TIMEOUT,
  );
});
