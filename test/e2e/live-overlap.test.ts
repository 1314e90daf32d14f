/**
 * The live check overlapped with the end of a blue/green deployment (issue 16): `release()` starts it when
 * traffic has shifted, while blue is still in its termination wait, and proves "every target" with the traffic
 * probe's answers where they suffice. Asserted from the order the harness observed things in (its timeline and
 * the live check's evidence), not from how long anything took.
 */
import { UpdateDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

let sandbox: Sandbox;
let harness: Harness;
const log: string[] = [];
const timeouts = { deploy: '2m', rollback: '2m', live: '1m', stage: '2m', build: '2m', approval: '2m' };

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  harness = await Harness.start({
    sandbox,
    config: { runId: `lo${Date.now().toString(36).slice(-6)}`, timeouts },
    log: (line) => log.push(line),
  });
  await harness.ready();
  // Blue stays 10 minutes after the shift (12 s at this time scale): the end comes well after the live check.
  await harness.clients.codedeploy.send(
    new UpdateDeploymentGroupCommand({
      applicationName: harness.names!.applicationName,
      currentDeploymentGroupName: harness.names!.deploymentGroupName,
      blueGreenDeploymentConfiguration: {
        terminateBlueInstancesOnDeploymentSuccess: { action: 'TERMINATE', terminationWaitTimeInMinutes: 10 },
        deploymentReadyOption: { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
        greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
      },
    }),
  );
}, 120_000);
afterAll(async () => {
  const closed = await harness?.close();
  expect(closed?.leaks.clean).toBe(true);
  await sandbox?.stop();
});

describe('a blue/green release', () => {
  it(
    "starts the live check at the traffic shift, before the deployment's end, and counts the probe's answers",
    async () => {
      const release = await harness.release();
      expect(release.outcome).toMatchObject({ status: 'Succeeded', phase: 'ended' });
      const row = harness.timeline
        .of(release.execution.pipelineExecutionId)
        .filter((e) => e.action === `deployment ${release.deploymentId}`);
      const shiftedAt = row.find((e) => e.status === 'TrafficShifted')?.at.getTime();
      const succeededAt = row.find((e) => e.status === 'Succeeded')?.at.getTime();
      expect(shiftedAt, 'the traffic shift on the timeline').toBeTypeOf('number');
      expect(succeededAt, 'the end on the timeline').toBeTypeOf('number');
      const answers = release.live.evidence.map((s) => s.at.getTime());
      // Observed order: traffic shifted, then the live check's answers (all of them), then Succeeded.
      expect(Math.min(...answers)).toBeGreaterThanOrEqual(shiftedAt!);
      expect(Math.max(...answers)).toBeLessThan(succeededAt!);
      expect(release.live.live).toBe(true);
      expect(
        log.some((l) => l.includes(`deployment ${release.deploymentId}: traffic shifted; live check`)),
      ).toBe(true);
      // The probe ran through the release: some of the live check's answers are the probe's, not new requests.
      expect(release.probe?.requests).toBeGreaterThan(0);
      expect(release.live.evidence.length - release.live.requests).toBeGreaterThan(0);
      expect(release.live.evidence.every((s) => s.version === release.push.version)).toBe(true);
    },
    5 * 60_000,
  );
});
