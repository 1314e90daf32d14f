/**
 * Blue/green (COPY_AUTO_SCALING_GROUP) and in-place-with-load-balancer deployments behind a real sandbox ALB:
 * green is installed, registered and healthy before blue is deregistered, blue is terminated after the scaled
 * wait, a probe through the load balancer never fails and never sees a broken version, a failing green is rolled
 * back with blue still serving, and a STOP_DEPLOYMENT group waits in Ready until ContinueDeployment (AWS CLI).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateDeploymentCommand,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  GetDeploymentTargetCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
  UpdateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import {
  blueGreenConfiguration,
  continueDeploymentCli,
  createBlueGreenGroup,
  s3Revision,
  webAppScripts,
  writeRevision,
} from './helpers/blue-green.ts';
import { lifecycleEventRunning } from './helpers/lifecycle.ts';
import { type LbReply, viaLb } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

/** The web app's revision: `unhealthy` answers /health with 500, `slow` sleeps in BeforeInstall, `failAfterAllow` fails AfterAllowTraffic; BeforeAllowTraffic and AfterBlockTraffic log to traffic.log. */
async function writeShopRevision(
  dir: string,
  version: string,
  options: { unhealthy?: boolean; slow?: boolean; failAfterAllow?: boolean } = {},
) {
  await writeRevision(dir, version, {
    ...webAppScripts({ health: options.unhealthy ? 500 : 200, stopPause: 0.2 }),
    BeforeInstall: options.slow ? 'sleep 3' : 'true',
    BeforeAllowTraffic: 'echo "$LIFECYCLE_EVENT on $INSTANCE_ID" >> "$DEPLOY_ROOT/traffic.log"',
    AfterAllowTraffic: options.failAfterAllow ? 'echo "post-shift check failed" >&2; exit 2' : 'true',
    AfterBlockTraffic: 'echo "$LIFECYCLE_EVENT on $INSTANCE_ID" >> "$DEPLOY_ROOT/traffic.log"',
  });
}

/** Requests through the load balancer in a loop until stopped; records every answer. */
function probe(port: number, dnsName: string) {
  const answers: LbReply[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      answers.push(await viaLb(port, dnsName).catch((e: Error) => ({ status: 0, body: e.message })));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
      return answers;
    },
  };
}

describe('CodeDeploy blue/green behind a load balancer', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  let dns: string;
  const cd = () => sb.clients.codedeploy;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cd-bg-'));
    for (const [key, version, unhealthy] of [
      ['v1', 'v1', false],
      ['v2', 'v2', false],
      ['broken', 'broken', true],
      ['v3', 'v3', false],
      ['slow', 'slow', false],
      ['late', 'late', false],
    ] as const) {
      await writeShopRevision(join(work, key), version, {
        unhealthy,
        slow: key === 'slow',
        failAfterAllow: key === 'late',
      });
      await sb.sandbox.services.codedeploy.registerRevision(s3Revision(key), join(work, key));
    }
    const lb = await createBlueGreenGroup(sb.clients, {
      application: 'shop',
      group: 'shop-bg',
      name: 'web',
      capacity: 2,
      blueGreen: blueGreenConfiguration({ terminationWait: 1 }),
      healthCheck: { unhealthyThresholdCount: 2 },
    });
    dns = lb.dnsName;
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function deploy(key: string) {
    const out = await cd().send(
      new CreateDeploymentCommand({
        applicationName: 'shop',
        deploymentGroupName: 'shop-bg',
        revision: s3Revision(key),
      }),
    );
    return out.deploymentId!;
  }
  /** The deployment's end, with its rollback link: on AWS (and here) `rollbackInfo` comes after the status. */
  const wait = (id: string) =>
    sb.sandbox.services.codedeploy.waitForDeployment(id, AbortSignal.timeout(60_000), { settled: true });
  const currentGroup = async () =>
    (
      await cd().send(
        new GetDeploymentGroupCommand({ applicationName: 'shop', deploymentGroupName: 'shop-bg' }),
      )
    ).deploymentGroupInfo!.autoScalingGroups![0]!.name!;
  /** The lifecycle events of the first `label` target of a deployment. */
  const lifecycleEvents = async (deploymentId: string, label: 'Blue' | 'Green') => {
    const { targetIds } = await cd().send(
      new ListDeploymentTargetsCommand({ deploymentId, targetFilters: { ServerInstanceLabel: [label] } }),
    );
    return (await cd().send(new GetDeploymentTargetCommand({ deploymentId, targetId: targetIds![0] })))
      .deploymentTarget!.instanceTarget!.lifecycleEvents!;
  };
  /** What the automatic rollback of deployment `id` looks like once it succeeded. */
  const rollbackOf = (id: string) => ({
    status: 'Succeeded',
    creator: 'codeDeployRollback',
    rollbackInfo: { rollbackTriggeringDeploymentId: id },
  });
  /** Blue is the group's fleet again and the green group of deployment `id` is gone. */
  const expectBlueKept = async (id: string, blueGroup: string) => {
    expect(await currentGroup()).toBe(blueGroup);
    expect(sb.sandbox.services.autoscaling.group(`CodeDeploy_shop-bg_${id}`)).toBeUndefined();
  };

  it('replaces blue with green: green serves through the ALB, the group moves to green, blue is terminated', async () => {
    const first = await deploy('v1');
    const info = await wait(first);
    expect(info.status).toBe('Succeeded');
    expect(info.instanceTerminationWaitTimeStarted).toBe(true);
    const green = `CodeDeploy_shop-bg_${first}`;
    expect(await currentGroup()).toBe(green);
    const groups = await sb.clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({}));
    expect(groups.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual([green]);
    expect(groups.AutoScalingGroups?.[0]?.Instances).toHaveLength(2);
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v1');

    const blueTargets = await cd().send(
      new ListDeploymentTargetsCommand({
        deploymentId: first,
        targetFilters: { ServerInstanceLabel: ['Blue'] },
      }),
    );
    expect(blueTargets.targetIds).toHaveLength(2);
    const blue = await cd().send(
      new GetDeploymentTargetCommand({ deploymentId: first, targetId: blueTargets.targetIds![0] }),
    );
    expect(blue.deploymentTarget?.instanceTarget?.lifecycleEvents?.map((e) => e.lifecycleEventName)).toEqual([
      'BeforeBlockTraffic',
      'BlockTraffic',
      'AfterBlockTraffic',
    ]);
    for (const id of blueTargets.targetIds!) {
      expect(sb.sandbox.services.fleet.get(id)).toBeUndefined();
      expect(sb.sandbox.runtime.processes.groups(`instance:${id}`)).toEqual([]);
    }
  });

  it('shifts traffic from v1 to v2 without a failed request, and the old processes and ports are gone', async () => {
    const blueIds = sb.sandbox.services.autoscaling.instancesOf(await currentGroup());
    const blue = blueIds.map((id) => sb.sandbox.services.fleet.get(id)!);
    const pgids = blueIds.flatMap((id) =>
      sb.sandbox.runtime.processes.groups(`instance:${id}`).map((g) => g.pgid),
    );
    expect(pgids.some((g) => ProcessTracker.alive(g))).toBe(true);
    const p = probe(sb.sandbox.port, dns);
    const id = await deploy('v2');
    const info = await wait(id);
    const answers = await p.stop();
    expect(info.status).toBe('Succeeded');
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.body))).toEqual(new Set(['v1', 'v2']));
    expect(answers.at(-1)?.body).toBe('v2');
    expect(pgids.some((g) => ProcessTracker.alive(g))).toBe(false);
    for (const i of blue) await expect(fetch(`http://127.0.0.1:${i.port}/`)).rejects.toThrow();
    const health = await sb.clients.elbv2.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: sb.sandbox.services.elbv2.findTargetGroupByName('web-tg')!.arn,
      }),
    );
    expect(health.TargetHealthDescriptions?.map((t) => t.Target?.Id).sort()).toEqual(
      sb.sandbox.services.autoscaling.instancesOf(`CodeDeploy_shop-bg_${id}`).sort(),
    );
  });

  it('a green that fails ValidateService fails the deployment; the rollback keeps blue serving and never serves the broken version', async () => {
    const blueGroup = await currentGroup();
    const p = probe(sb.sandbox.port, dns);
    const id = await deploy('broken');
    const failed = await wait(id);
    expect(failed.status).toBe('Failed');
    expect(failed.errorInformation?.code).toBe('HEALTH_CONSTRAINTS');
    const rollback = await wait(failed.rollbackInfo!.rollbackDeploymentId!);
    const answers = await p.stop();
    expect(rollback).toMatchObject(rollbackOf(id));
    expect(answers.filter((a) => a.status !== 200 || a.body !== 'v2')).toEqual([]);
    await expectBlueKept(id, blueGroup);
    const blueEvents = await lifecycleEvents(rollback.deploymentId!, 'Blue');
    expect(blueEvents.map((e) => [e.lifecycleEventName, e.status])).toEqual([
      ['BeforeAllowTraffic', 'Succeeded'],
      ['AllowTraffic', 'Succeeded'],
      ['AfterAllowTraffic', 'Succeeded'],
    ]);
  });

  it('StopDeployment with autoRollbackEnabled while green installs: Stopped, rollback linked, green gone, blue still serving', async () => {
    const blueGroup = await currentGroup();
    const p = probe(sb.sandbox.port, dns);
    const id = await deploy('slow');
    // Green is copied and runs BeforeInstall (sleep 3): stop it there.
    await lifecycleEventRunning(cd(), id, 'BeforeInstall');
    const stop = await cd().send(new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }));
    expect(stop.status).toBe('Pending');
    const stopped = await wait(id);
    expect(stopped).toMatchObject({ status: 'Stopped', errorInformation: { code: 'MANUAL_STOP' } });
    // The running BeforeInstall scripts were allowed to finish; nothing after them was scheduled (aws-semantics 3.9).
    const events = await lifecycleEvents(id, 'Green');
    expect(events.find((e) => e.lifecycleEventName === 'BeforeInstall')?.status).toBe('Succeeded');
    expect(events.find((e) => e.lifecycleEventName === 'Install')?.status).toBe('Skipped');
    const rollback = await wait(stopped.rollbackInfo!.rollbackDeploymentId!);
    const answers = await p.stop();
    expect(rollback).toMatchObject(rollbackOf(id));
    expect(answers.filter((a) => a.status !== 200 || a.body !== 'v2')).toEqual([]);
    await expectBlueKept(id, blueGroup);
    const group = (
      await cd().send(
        new GetDeploymentGroupCommand({ applicationName: 'shop', deploymentGroupName: 'shop-bg' }),
      )
    ).deploymentGroupInfo!;
    expect(group.lastAttemptedDeployment).toMatchObject({
      deploymentId: rollback.deploymentId,
      status: 'Succeeded',
    });
    expect(group.lastSuccessfulDeployment?.deploymentId).toBe(rollback.deploymentId);
  });

  it('a failure after the traffic shift routes traffic back to blue and deletes green', async () => {
    const blueGroup = await currentGroup();
    const p = probe(sb.sandbox.port, dns);
    const id = await deploy('late');
    const failed = await wait(id);
    expect(failed).toMatchObject({ status: 'Failed', errorInformation: { code: 'HEALTH_CONSTRAINTS' } });
    const rollback = await wait(failed.rollbackInfo!.rollbackDeploymentId!);
    const answers = await p.stop();
    expect(rollback.status).toBe('Succeeded');
    // Green served while it was registered (as on AWS); no request failed, and blue serves again.
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.at(-1)?.body).toBe('v2');
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v2');
    await expectBlueKept(id, blueGroup);
    const events = await lifecycleEvents(id, 'Green');
    expect(events.find((e) => e.lifecycleEventName === 'AllowTraffic')?.status).toBe('Succeeded');
    expect(events.find((e) => e.lifecycleEventName === 'AfterAllowTraffic')?.diagnostics).toMatchObject({
      errorCode: 'ScriptFailed',
      scriptName: 'scripts/AfterAllowTraffic.sh',
    });
  });

  it('waits in Ready with STOP_DEPLOYMENT until ContinueDeployment (AWS CLI) reroutes', async () => {
    await cd().send(
      new UpdateDeploymentGroupCommand({
        applicationName: 'shop',
        currentDeploymentGroupName: 'shop-bg',
        blueGreenDeploymentConfiguration: blueGreenConfiguration({
          terminationWait: 60,
          ready: { wait: 60 },
        }),
      }),
    );
    const id = await deploy('v3');
    const info = await poll(
      async () => (await cd().send(new GetDeploymentCommand({ deploymentId: id }))).deploymentInfo!,
      {
        timeout: 30_000,
        interval: { min: 50, max: 100 },
        what: `deployment ${id} to wait in Ready`,
        describe: (d) => d.status ?? 'no status',
        isDone: (d) => d.status === 'Ready',
      },
    );
    expect(info.deploymentOverview).toMatchObject({ Ready: 2, Pending: 2 });
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v2'); // not rerouted yet
    const go = await continueDeploymentCli(sb.sandbox.endpoint, id, 'READY_WAIT');
    expect(go.code).toBe(0);
    // Traffic moves; then the 60 (scaled) minute termination wait is skipped.
    await poll(() => sb.sandbox.services.codedeploy.getDeploymentInfo(id), {
      timeout: 30_000,
      interval: { min: 25, max: 50 },
      what: `deployment ${id} to start the termination wait`,
      isDone: (d) => d?.instanceTerminationWaitTimeStarted === true,
    });
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v3');
    const skip = await continueDeploymentCli(sb.sandbox.endpoint, id, 'TERMINATION_WAIT');
    expect(skip.code).toBe(0);
    expect((await wait(id)).status).toBe('Succeeded');
    const again = await continueDeploymentCli(sb.sandbox.endpoint, id);
    expect(again.errorCode).toBe('DeploymentAlreadyCompletedException');
  });

  it('with STOP_DEPLOYMENT and no ContinueDeployment in time, the deployment is Stopped and green removed', async () => {
    const before = await currentGroup();
    await cd().send(
      new UpdateDeploymentGroupCommand({
        applicationName: 'shop',
        currentDeploymentGroupName: 'shop-bg',
        blueGreenDeploymentConfiguration: blueGreenConfiguration({ terminationWait: 1, ready: { wait: 1 } }),
      }),
    );
    const id = await deploy('v2');
    const info = await wait(id);
    expect(info).toMatchObject({ status: 'Stopped', errorInformation: { code: 'TIMEOUT' } });
    expect(info.rollbackInfo).toBeUndefined();
    await expectBlueKept(id, before);
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v3');
  });
});
