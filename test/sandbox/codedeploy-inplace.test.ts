/**
 * In-place deployments on the sandbox fleet through the real SDK: hooks run in lifecycle order with the agent's
 * environment, a failing ValidateService fails the deployment with diagnostics, automatic rollback creates a
 * linked deployment, StopDeployment works mid-deployment, and the CLI reads it all back.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  BatchGetDeploymentTargetsCommand,
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentGroupCommand,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
  waitUntilDeploymentSuccessful,
} from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { lifecycleEventRunning } from './helpers/lifecycle.ts';
import { useSandbox } from './helpers/sandbox.ts';

const ROLE = 'arn:aws:iam::000000000000:role/CodeDeployServiceRole';

/**
 * A tiny revision: every hook appends "<event> <env...>" to $DEPLOY_ROOT/hooks.log; ApplicationStart starts a
 * `node -e` server on $PORT answering the VERSION; ValidateService checks it (and fails when asked to).
 */
async function writeRevision(
  dir: string,
  options: { version: string; failValidate?: boolean; slowInstallSeconds?: number },
) {
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), options.version);
  const events = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
  const hooks = events.map((e) => `  ${e}:\n    - location: scripts/${e}.sh\n      timeout: 30\n`).join('');
  await writeFile(
    join(dir, 'appspec.yml'),
    `version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/app\nfile_exists_behavior: OVERWRITE\nhooks:\n${hooks}`,
  );
  const log =
    'echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID $PORT $INSTANCE_ID $(cat "$(dirname "$0")/../VERSION")" >> "$DEPLOY_ROOT/hooks.log"';
  const body: Record<string, string> = {
    ApplicationStop: `${log}\nif [ -f "$DEPLOY_ROOT/app.pid" ]; then kill "$(cat "$DEPLOY_ROOT/app.pid")" 2>/dev/null || true; rm -f "$DEPLOY_ROOT/app.pid"; sleep 0.2; fi`,
    BeforeInstall: `${log}${options.slowInstallSeconds ? `\nsleep ${options.slowInstallSeconds}` : ''}`,
    AfterInstall: log,
    ApplicationStart: `${log}\nVERSION=$(cat "$DEPLOY_ROOT/opt/app/VERSION") nohup node -e "require('http').createServer((q,s)=>s.end(process.env.VERSION)).listen(process.env.PORT,'127.0.0.1')" >/dev/null 2>&1 &\necho $! > "$DEPLOY_ROOT/app.pid"`,
    ValidateService: `${log}\necho "validating version $(cat "$DEPLOY_ROOT/opt/app/VERSION") on port $PORT"\n${
      options.failValidate
        ? 'echo "health check says unhealthy" >&2\nexit 3'
        : `for i in $(seq 1 100); do\n  got=$(node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/').then(r=>r.text()).then(t=>console.log(t),()=>{})")\n  [ "$got" = "$(cat "$DEPLOY_ROOT/opt/app/VERSION")" ] && exit 0\n  sleep 0.1\ndone\nexit 1`
    }`,
  };
  for (const e of events)
    await writeFile(join(dir, 'scripts', `${e}.sh`), `#!/usr/bin/env bash\nset -eu\n${body[e]}\n`);
}

async function fetchText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.text();
}

describe('CodeDeploy in-place deployments', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  const revision = (key: string) => ({
    revisionType: 'S3' as const,
    s3Location: { bucket: 'releases', key, bundleType: 'zip' as const },
  });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cd-inplace-'));
    const { codedeploy } = sb.sandbox.services;
    for (const [key, opts] of [
      ['v1.zip', { version: 'v1' }],
      ['v2.zip', { version: 'v2' }],
      ['bad.zip', { version: 'bad', failValidate: true }],
      ['slow.zip', { version: 'slow', slowInstallSeconds: 2 }],
    ] as const) {
      const dir = join(work, key);
      await writeRevision(dir, opts);
      await codedeploy.registerRevision(revision(key), dir);
    }
    await sb.clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'web-asg',
        MinSize: 2,
        MaxSize: 2,
        DesiredCapacity: 2,
        LaunchTemplate: { LaunchTemplateName: 'web', Version: '$Latest' },
      }),
    );
    await sb.clients.codedeploy.send(new CreateApplicationCommand({ applicationName: 'web' }));
    await sb.clients.codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'web',
        deploymentGroupName: 'web-inplace',
        serviceRoleArn: ROLE,
        autoScalingGroups: ['web-asg'],
        deploymentConfigName: 'CodeDeployDefault.OneAtATime',
        autoRollbackConfiguration: {
          enabled: true,
          events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
        },
      }),
    );
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const instances = () =>
    sb.sandbox.services.autoscaling.instancesOf('web-asg').map((id) => sb.sandbox.services.fleet.get(id)!);

  async function deploy(key: string) {
    const out = await sb.clients.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: 'web',
        deploymentGroupName: 'web-inplace',
        revision: revision(key),
      }),
    );
    return out.deploymentId!;
  }

  it('runs the hooks of every instance in lifecycle order with the agent environment, and the app serves', async () => {
    const id = await deploy('v1.zip');
    expect(id).toMatch(/^d-[A-Z0-9]{9}$/);
    const created = await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id }));
    expect(['Created', 'InProgress']).toContain(created.deploymentInfo?.status);
    await waitUntilDeploymentSuccessful(
      { client: sb.clients.codedeploy, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { deploymentId: id },
    );
    const info = (await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id })))
      .deploymentInfo!;
    expect(info).toMatchObject({
      status: 'Succeeded',
      creator: 'user',
      deploymentConfigName: 'CodeDeployDefault.OneAtATime',
      deploymentOverview: { Pending: 0, InProgress: 0, Succeeded: 2, Failed: 0, Skipped: 0, Ready: 0 },
      deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
      computePlatform: 'Server',
    });
    const dgId = sb.sandbox.services.codedeploy.store.group('web', 'web-inplace')!.deploymentGroupId;
    for (const i of instances()) {
      const lines = (await readFile(join(i.root, 'hooks.log'), 'utf8')).trim().split('\n');
      // First deployment: ApplicationStop has no earlier revision on the instance, so no script runs.
      expect(lines).toEqual(
        ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'].map(
          (e) => `${e} ${id} web web-inplace ${dgId} ${i.port} ${i.instanceId} v1`,
        ),
      );
      expect(await fetchText(i.port)).toBe('v1');
    }
    const targets = await sb.clients.codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId: id }));
    expect(targets.targetIds?.sort()).toEqual(
      instances()
        .map((i) => i.instanceId)
        .sort(),
    );
    const t = await sb.clients.codedeploy.send(
      new GetDeploymentTargetCommand({ deploymentId: id, targetId: targets.targetIds![0] }),
    );
    expect(t.deploymentTarget?.deploymentTargetType).toBe('InstanceTarget');
    expect(t.deploymentTarget?.instanceTarget?.targetArn).toBe(
      `arn:aws:ec2:us-east-1:000000000000:instance/${targets.targetIds![0]}`,
    );
    expect(
      t.deploymentTarget?.instanceTarget?.lifecycleEvents?.map((e) => [e.lifecycleEventName, e.status]),
    ).toEqual(
      [
        'ApplicationStop',
        'DownloadBundle',
        'BeforeInstall',
        'Install',
        'AfterInstall',
        'ApplicationStart',
        'ValidateService',
      ].map((n) => [n, 'Succeeded']),
    );
  });

  it('runs ApplicationStop from the last successful revision on the next deployment', async () => {
    const id = await deploy('v2.zip');
    await waitUntilDeploymentSuccessful(
      { client: sb.clients.codedeploy, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { deploymentId: id },
    );
    for (const i of instances()) {
      const lines = (await readFile(join(i.root, 'hooks.log'), 'utf8'))
        .trim()
        .split('\n')
        .filter((l) => l.includes(id));
      expect(lines.map((l) => `${l.split(' ')[0]} ${l.split(' ').at(-1)}`)).toEqual([
        'ApplicationStop v1', // the old revision's script stops the old app
        'BeforeInstall v2',
        'AfterInstall v2',
        'ApplicationStart v2',
        'ValidateService v2',
      ]);
      expect(await fetchText(i.port)).toBe('v2');
    }
    const info = (await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id })))
      .deploymentInfo!;
    expect(info.previousRevision?.s3Location?.key).toBe('v1.zip');
  });

  it('fails on a failing ValidateService with diagnostics, and rolls back with a linked deployment', async () => {
    const id = await deploy('bad.zip');
    // The rollback link comes a moment after the Failed status, as on AWS: wait for it too.
    const failed = await sb.sandbox.services.codedeploy.waitForDeployment(id, AbortSignal.timeout(60_000), {
      settled: true,
    });
    expect(failed.status).toBe('Failed');
    expect(failed.errorInformation?.code).toBe('HEALTH_CONSTRAINTS');
    const rollbackId = failed.rollbackInfo?.rollbackDeploymentId;
    expect(rollbackId).toMatch(/^d-[A-Z0-9]{9}$/);

    const targets = await sb.clients.codedeploy.send(
      new ListDeploymentTargetsCommand({ deploymentId: id, targetFilters: { TargetStatus: ['Failed'] } }),
    );
    expect(targets.targetIds).toHaveLength(1); // OneAtATime stops after the first failure
    const batch = await sb.clients.codedeploy.send(
      new BatchGetDeploymentTargetsCommand({ deploymentId: id, targetIds: targets.targetIds }),
    );
    const events = batch.deploymentTargets![0]!.instanceTarget!.lifecycleEvents!;
    const validate = events.find((e) => e.lifecycleEventName === 'ValidateService')!;
    expect(validate.status).toBe('Failed');
    expect(validate.diagnostics).toMatchObject({
      errorCode: 'ScriptFailed',
      scriptName: 'scripts/ValidateService.sh',
      message: 'Script at specified location: scripts/ValidateService.sh failed with exit code 3',
    });
    expect(validate.diagnostics?.logTail).toContain('[stdout]validating version bad');
    expect(validate.diagnostics?.logTail).toContain('[stderr]health check says unhealthy');
    const skipped = await sb.clients.codedeploy.send(
      new ListDeploymentTargetsCommand({ deploymentId: id, targetFilters: { TargetStatus: ['Skipped'] } }),
    );
    expect(skipped.targetIds).toHaveLength(1);

    const rollback = await sb.sandbox.services.codedeploy.waitForDeployment(
      rollbackId!,
      AbortSignal.timeout(60_000),
    );
    expect(rollback).toMatchObject({
      status: 'Succeeded',
      creator: 'codeDeployRollback',
      rollbackInfo: { rollbackTriggeringDeploymentId: id },
      revision: { s3Location: { key: 'v2.zip' } },
    });
    const after = (await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id })))
      .deploymentInfo!;
    expect(after.status).toBe('Failed');
    expect(after.rollbackInfo?.rollbackDeploymentId).toBe(rollbackId);
    expect(after.rollbackInfo?.rollbackMessage).toMatch(/succeeded/);
    for (const i of instances()) expect(await fetchText(i.port)).toBe('v2');
  });

  it('stops a deployment mid-way on request and rolls back; the CLI shows the link', async () => {
    const id = await deploy('slow.zip');
    await expect(deploy('v1.zip')).rejects.toMatchObject({
      name: 'DeploymentLimitExceededException',
      message: `The Deployment Group 'web-inplace' already has an active Deployment '${id}'`,
    });
    // Mid-way: the first instance runs its slow BeforeInstall.
    await lifecycleEventRunning(sb.clients.codedeploy, id, 'BeforeInstall');
    const stop = await sb.clients.codedeploy.send(
      new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }),
    );
    expect(stop).toMatchObject({
      status: 'Pending',
      statusMessage: 'No more commands will be scheduled for execution in the deployment instances',
    });
    const stopped = await sb.sandbox.services.codedeploy.waitForDeployment(id, AbortSignal.timeout(60_000), {
      settled: true,
    });
    expect(stopped.status).toBe('Stopped');
    expect(stopped.errorInformation?.code).toBe('MANUAL_STOP');
    const rollbackId = stopped.rollbackInfo!.rollbackDeploymentId!;
    await sb.sandbox.services.codedeploy.waitForDeployment(rollbackId, AbortSignal.timeout(60_000));

    const cli = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'get-deployment',
      '--deployment-id',
      rollbackId,
    ]);
    expect(cli.code).toBe(0);
    expect(cli.json.deploymentInfo).toMatchObject({
      status: 'Succeeded',
      creator: 'codeDeployRollback',
      rollbackInfo: { rollbackTriggeringDeploymentId: id },
    });
    const list = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'list-deployments',
      '--application-name',
      'web',
      '--deployment-group-name',
      'web-inplace',
      '--include-only-statuses',
      'Stopped',
    ]);
    expect(list.json.deployments).toEqual([id]);
    const listed = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'list-deployment-instances',
      '--deployment-id',
      rollbackId,
    ]);
    expect(listed.json.instancesList.sort()).toEqual(
      instances()
        .map((i) => i.instanceId)
        .sort(),
    );
    const one = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'get-deployment-instance',
      '--deployment-id',
      rollbackId,
      '--instance-id',
      listed.json.instancesList[0],
    ]);
    expect(one.json.instanceSummary).toMatchObject({ deploymentId: rollbackId, status: 'Succeeded' });
    expect(one.json.instanceSummary.lifecycleEvents).toHaveLength(7);
    const all = await sb.clients.codedeploy.send(
      new ListDeploymentsCommand({ applicationName: 'web', deploymentGroupName: 'web-inplace' }),
    );
    expect(all.deployments?.[0]).toBe(rollbackId); // newest first
    for (const i of instances()) expect(await fetchText(i.port)).toBe('v2');
    const again = await sb.clients.codedeploy
      .send(new StopDeploymentCommand({ deploymentId: id }))
      .catch((e) => e);
    expect(again.name).toBe('DeploymentAlreadyCompletedException');
  });

  it('a scale-out gets the last successful revision before going InService (creator autoscaling)', async () => {
    const before = instances().map((i) => i.instanceId);
    await sb.clients.autoscaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'web-asg', MaxSize: 3, DesiredCapacity: 3 }),
    );
    const described = await sb.clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }),
    );
    const fresh = described.AutoScalingGroups![0]!.Instances!.filter((i) => !before.includes(i.InstanceId!));
    expect(fresh.map((i) => i.LifecycleState)).toEqual(['Pending:Wait']);
    const newId = fresh[0]!.InstanceId!;
    await poll(() => sb.sandbox.services.autoscaling.instancesOf('web-asg').includes(newId), {
      timeout: 30_000,
      isDone: (inService) => inService,
      what: `scaled-out instance ${newId} to go InService in web-asg`,
      interval: { min: 50, max: 50 },
    });
    expect(sb.sandbox.services.autoscaling.instancesOf('web-asg')).toContain(newId);
    expect(await fetchText(sb.sandbox.services.fleet.get(newId)!.port)).toBe('v2');
    const latest = (
      await sb.clients.codedeploy.send(
        new ListDeploymentsCommand({ applicationName: 'web', deploymentGroupName: 'web-inplace' }),
      )
    ).deployments![0]!;
    const info = (await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: latest })))
      .deploymentInfo!;
    expect(info).toMatchObject({
      creator: 'autoscaling',
      status: 'Succeeded',
      revision: { s3Location: { key: 'v2.zip' } },
    });
    const targets = await sb.clients.codedeploy.send(
      new ListDeploymentTargetsCommand({ deploymentId: latest }),
    );
    expect(targets.targetIds).toEqual([newId]);
  });

  it('deleting the group terminates the instances: their apps end and their ports are free', async () => {
    const before = instances();
    await sb.clients.autoscaling.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'web-asg', ForceDelete: true }),
    );
    for (const i of before) {
      await expect(fetchText(i.port)).rejects.toThrow();
      expect(sb.sandbox.runtime.processes.groups(`instance:${i.instanceId}`)).toEqual([]);
    }
  });
});
