/**
 * Blue/green as AWS runs it (issue 13), through the real SDK (and the AWS CLI once): the deployment stays
 * `InProgress` through the blue termination wait with `instanceTerminationWaitTimeStarted`, a STOP_DEPLOYMENT group
 * waits in `Ready` for ContinueDeployment (validated as AWS validates it) and stops at the end of its wait, and the
 * rollback link (`rollbackInfo`) comes after the final status. The harness's waits read all of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  StopDeploymentCommand,
  UpdateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeploymentObservation,
  waitForDeployment,
  waitForDeploymentEnd,
} from '../../src/deploy/deployment.ts';
import { checkRollback } from '../../src/deploy/rollback.ts';
import { DeploymentReadyError } from '../../src/errors.ts';
import { poll } from '../../src/poll.ts';
import {
  blueGreenConfiguration,
  continueDeploymentCli,
  createBlueGreenGroup,
  s3Revision,
  webAppScripts,
  writeRevision,
} from './helpers/blue-green.ts';
import { viaLb } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

const APP = 'timing';
const GROUP = 'timing-bg';
/** The harness's waits, polling fast. */
const fast = { interval: { min: 20, max: 50 }, timeout: 60_000 };

/** A revision of the web app; `slow` sleeps in BeforeInstall, `broken` fails ValidateService. */
async function writeTimingRevision(dir: string, version: string, kind: 'ok' | 'slow' | 'broken') {
  await writeRevision(dir, version, {
    ...webAppScripts(),
    BeforeInstall: kind === 'slow' ? 'sleep 3' : 'true',
    ...(kind === 'broken' ? { ValidateService: 'echo "health check says unhealthy" >&2; exit 1' } : {}),
  });
}

describe('CodeDeploy blue/green as AWS runs it', () => {
  // 0.01: a minute of AWS time is 600 ms; the rollback link comes 150 ms (15 s of AWS time) after the status.
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  let dns: string;
  let targetGroupArn: string;
  const cd = () => sb.clients.codedeploy;
  const configure = (settings: {
    terminationWait: number;
    ready?: { wait: number };
    rollbackEvents?: ('DEPLOYMENT_FAILURE' | 'DEPLOYMENT_STOP_ON_REQUEST')[];
  }) =>
    cd().send(
      new UpdateDeploymentGroupCommand({
        applicationName: APP,
        currentDeploymentGroupName: GROUP,
        blueGreenDeploymentConfiguration: blueGreenConfiguration(settings),
        autoRollbackConfiguration: {
          enabled: true,
          events: settings.rollbackEvents ?? ['DEPLOYMENT_FAILURE'],
        },
      }),
    );
  const deploy = async (key: string) =>
    (
      await cd().send(
        new CreateDeploymentCommand({
          applicationName: APP,
          deploymentGroupName: GROUP,
          revision: s3Revision(key),
        }),
      )
    ).deploymentId!;
  const get = async (id: string): Promise<DeploymentInfo> =>
    (await cd().send(new GetDeploymentCommand({ deploymentId: id }))).deploymentInfo!;
  /**
   * Every change of status, termination flag and rollback link seen through GetDeployment until `isDone`, and
   * whether an instance of `blue` still ran then.
   */
  const watch = async (id: string, isDone: (d: DeploymentInfo) => boolean, blue: string[] = []) => {
    const seen: { at: number; d: DeploymentInfo; blueAlive: boolean }[] = [];
    await poll(async () => get(id), {
      timeout: 60_000,
      interval: { min: 10, max: 20 },
      describe: (d) =>
        `${d.status} terminating=${d.instanceTerminationWaitTimeStarted} link=${d.rollbackInfo?.rollbackDeploymentId ?? d.rollbackInfo?.rollbackMessage ?? '-'}`,
      onChange: (c) =>
        seen.push({
          at: Date.now(),
          d: c.state,
          blueAlive: blue.some((i) => sb.sandbox.services.fleet.get(i) !== undefined),
        }),
      isDone,
      what: `deployment ${id}`,
    });
    return seen;
  };
  const currentGroup = async () =>
    (await cd().send(new GetDeploymentGroupCommand({ applicationName: APP, deploymentGroupName: GROUP })))
      .deploymentGroupInfo!.autoScalingGroups![0]!.name!;
  const registered = async () =>
    (await sb.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })))
      .TargetHealthDescriptions!.map((t) => t.Target!.Id!)
      .sort();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cd-timing-'));
    for (const [key, kind] of [
      ['v1', 'ok'],
      ['v2', 'ok'],
      ['v3', 'ok'],
      ['v4', 'ok'],
      ['v5', 'ok'],
      ['broken', 'broken'],
      ['slow', 'slow'],
    ] as const) {
      await writeTimingRevision(join(work, key), key, kind);
      await sb.sandbox.services.codedeploy.registerRevision(s3Revision(key), join(work, key));
    }
    const lb = await createBlueGreenGroup(sb.clients, {
      application: APP,
      group: GROUP,
      name: 'timing',
      capacity: 1,
      blueGreen: blueGreenConfiguration({ terminationWait: 0 }),
    });
    dns = lb.dnsName;
    targetGroupArn = lb.targetGroupArn;
    const first = await deploy('v1');
    expect((await waitForDeployment(cd(), first, fast)).status).toBe('Succeeded');
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('stays InProgress through the termination wait: traffic rerouted, then instanceTerminationWaitTimeStarted, blue terminated after the wait, then Succeeded', async () => {
    await configure({ terminationWait: 5 }); // 3 s here
    const blue = sb.sandbox.services.autoscaling.instancesOf(await currentGroup());
    const id = await deploy('v2');
    const phases: string[] = [];
    const harnessWait = waitForDeploymentEnd(cd(), id, {
      ...fast,
      onChange: (_, o: DeploymentObservation) => {
        if (phases.at(-1) !== o.phase) phases.push(o.phase);
      },
    });
    // The first read with the flag: traffic is on green already, blue is deregistered but still running.
    await poll(() => get(id), {
      timeout: 30_000,
      interval: { min: 10, max: 20 },
      isDone: (d) => d.instanceTerminationWaitTimeStarted === true,
    });
    const shiftedAt = Date.now();
    const green = sb.sandbox.services.autoscaling.instancesOf(`CodeDeploy_${GROUP}_${id}`);
    expect(await registered()).toEqual([...green].sort());
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v2');
    expect(blue.every((i) => sb.sandbox.services.fleet.get(i) !== undefined)).toBe(true);
    const during = await watch(id, (d) => d.status !== 'InProgress', blue);
    const inWait = during.filter((s) => s.d.status === 'InProgress');
    expect(inWait.length).toBeGreaterThan(0);
    expect(inWait.every((s) => s.d.instanceTerminationWaitTimeStarted && s.blueAlive)).toBe(true);
    const end = during.at(-1)!;
    expect(end.d).toMatchObject({ status: 'Succeeded', instanceTerminationWaitTimeStarted: true });
    expect(end.blueAlive).toBe(false);
    // Blue went only after the (scaled) wait: 5 minutes at 0.01 is 3 s.
    expect(end.at - shiftedAt).toBeGreaterThanOrEqual(2500);
    expect(await harnessWait).toMatchObject({ status: 'Succeeded', phase: 'ended' });
    expect(phases).toEqual(['deploying', 'traffic-shifted', 'ended']);
  });

  it('with liveAtTrafficShift the harness ends its wait at the shift, while CodeDeploy still says InProgress', async () => {
    await configure({ terminationWait: 60 }); // 36 s here: never waited for
    const id = await deploy('v3');
    const outcome = await waitForDeployment(cd(), id, { ...fast, liveAtTrafficShift: true });
    expect(outcome).toMatchObject({ status: 'InProgress', phase: 'traffic-shifted' });
    expect(outcome.info.instanceTerminationWaitTimeStarted).toBe(true);
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v3');
    // What an operator does to end the wait early: ContinueDeployment(TERMINATION_WAIT).
    await cd().send(
      new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'TERMINATION_WAIT' }),
    );
    expect(await waitForDeploymentEnd(cd(), id, fast)).toMatchObject({ status: 'Succeeded', phase: 'ended' });
  });

  it('waits in Ready for ContinueDeployment: READY_WAIT refused before Ready, TERMINATION_WAIT while Ready (AWS CLI); the harness names HARNESS_CONTINUE_READY, then continues it when told to', async () => {
    await configure({ terminationWait: 0, ready: { wait: 60 } });
    const id = await deploy('v4');
    // Green is still being provisioned and installed: nothing waits for a reroute yet.
    await expect(
      cd().send(new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'READY_WAIT' })),
    ).rejects.toMatchObject({ name: 'DeploymentIsNotInReadyStateException' });
    const error = await waitForDeploymentEnd(cd(), id, fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentReadyError);
    expect((error as Error).message).toContain('HARNESS_CONTINUE_READY=true (deploy.continueReady)');
    const ready = await get(id);
    expect(ready.status).toBe('Ready');
    expect(ready.deploymentOverview).toMatchObject({ Ready: 1 });
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v3'); // not rerouted
    // Blue is not in a termination wait yet: nothing to skip.
    const skip = await continueDeploymentCli(sb.sandbox.endpoint, id, 'TERMINATION_WAIT');
    expect(skip.code).not.toBe(0);
    expect(skip.errorCode).toBe('DeploymentIsNotInReadyStateException');
    expect((await get(id)).status).toBe('Ready');

    const observed: DeploymentObservation[] = [];
    const outcome = await waitForDeployment(cd(), id, {
      ...fast,
      continueReady: true,
      onChange: (_, o) => observed.push(o),
    });
    expect(outcome.status).toBe('Succeeded');
    expect(observed.some((o) => o.status === 'Ready' && o.continued)).toBe(true);
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v4');
    await expect(
      cd().send(new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'READY_WAIT' })),
    ).rejects.toMatchObject({ name: 'DeploymentAlreadyCompletedException' });
  });

  it('stops a Ready deployment nobody continued at the end of waitTimeInMinutes (TIMEOUT), with no rollback to wait for', async () => {
    // Even with DEPLOYMENT_STOP_ON_REQUEST: an expired Ready wait is no stop on request.
    await configure({
      terminationWait: 0,
      ready: { wait: 2 }, // 1.2 s here
      rollbackEvents: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
    });
    const before = await currentGroup();
    const id = await deploy('v5');
    const seen = await watch(id, (d) => d.status === 'Stopped' || d.status === 'Succeeded');
    const readyAt = seen.find((s) => s.d.status === 'Ready')!.at;
    const stopped = seen.at(-1)!;
    expect(stopped.d).toMatchObject({ status: 'Stopped', errorInformation: { code: 'TIMEOUT' } });
    expect(stopped.at - readyAt).toBeGreaterThanOrEqual(1000);
    const outcome = await waitForDeploymentEnd(cd(), id, fast);
    expect(outcome).toMatchObject({ status: 'Stopped', phase: 'ended', rollbackExpected: undefined });
    expect(await currentGroup()).toBe(before);
    expect(sb.sandbox.services.autoscaling.group(`CodeDeploy_${GROUP}_${id}`)).toBeUndefined();
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v4');
  });

  it('links the rollback of a failed deployment after its Failed status, and the harness waits for the link', async () => {
    await configure({ terminationWait: 0 });
    const id = await deploy('broken');
    const harnessWait = waitForDeploymentEnd(cd(), id, fast);
    const seen = await watch(id, (d) => Boolean(d.rollbackInfo));
    const firstFailed = seen.find((s) => s.d.status === 'Failed')!;
    expect(firstFailed.d.rollbackInfo).toBeUndefined(); // the status first ...
    const linked = seen.at(-1)!;
    expect(linked.d.rollbackInfo?.rollbackDeploymentId).toMatch(/^d-[A-Z0-9]{9}$/); // ... the link after
    const outcome = await harnessWait;
    expect(outcome).toMatchObject({
      status: 'Failed',
      rollbackDeploymentId: linked.d.rollbackInfo!.rollbackDeploymentId,
      rollbackExpected: 'auto-rollback on DEPLOYMENT_FAILURE',
    });
    expect((await checkRollback(cd(), id, fast)).proven).toBe(true);
  });

  it('proves the rollback of a deployment stopped with autoRollbackEnabled on a group whose events lack DEPLOYMENT_STOP_ON_REQUEST', async () => {
    await configure({ terminationWait: 0, rollbackEvents: ['DEPLOYMENT_FAILURE'] });
    const settings = sb.sandbox.services.codedeploy.settings;
    const delay = settings.rollbackLinkDelayMs;
    settings.rollbackLinkDelayMs = 100_000; // 1 s here: well after any read of the Stopped status
    try {
      const id = await deploy('slow');
      await poll(() => get(id), {
        timeout: 30_000,
        interval: { min: 20, max: 50 },
        isDone: (d) => (d.deploymentOverview?.InProgress ?? 0) > 0,
      });
      const stop = await cd().send(
        new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }),
      );
      expect(stop.status).toBe('Pending');
      // Read as the group's events say (no rollback on a stop), the Stopped status looks final without a link ...
      const naive = await checkRollback(cd(), id, fast);
      expect(naive.checks.find((c) => c.name === 'rollback deployment created')).toMatchObject({ ok: false });
      // ... but the stop asked for one: it comes, and is proven.
      const proof = await checkRollback(cd(), id, { ...fast, rollbackExpected: true });
      expect(proof.checks.filter((c) => !c.ok)).toEqual([]);
      expect(proof).toMatchObject({ proven: true, status: 'Stopped', rollbackStatus: 'Succeeded' });
      expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v4');
    } finally {
      settings.rollbackLinkDelayMs = delay;
    }
  });
});
