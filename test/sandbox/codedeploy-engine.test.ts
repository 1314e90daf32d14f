/**
 * The deployment engine's rules: in-place with a load balancer (13 events, BlockTraffic/AllowTraffic really
 * deregister and re-register, OneAtATime keeps serving), batch sizes of the deployment configs, hook timeouts,
 * the internal API CodePipeline uses (artifactDir, change listener), and a sandbox stop that leaves nothing behind.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateApplicationCommand,
  CreateDeploymentConfigCommand,
  CreateDeploymentGroupCommand,
  GetDeploymentTargetCommand,
  ListApplicationsCommand,
} from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { acceptsConnections } from '../../src/sandbox/fleet/ports.ts';
import { sdkClients } from './helpers/clients.ts';
import { createLoadBalancer, viaLb } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';
import { signedFetch } from './helpers/signed.ts';

const ROLE = 'arn:aws:iam::000000000000:role/CodeDeployServiceRole';

/** A revision whose ApplicationStart serves VERSION on $PORT; `extra` adds hook scripts (event → bash body, timeout). */
async function writeRevision(
  dir: string,
  version: string,
  extra: Record<string, { body: string; timeout?: number }> = {},
) {
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), version);
  const scripts: Record<string, { body: string; timeout?: number }> = {
    ApplicationStop: {
      body: '[ -f "$DEPLOY_ROOT/app.pid" ] && kill "$(cat "$DEPLOY_ROOT/app.pid")" 2>/dev/null; rm -f "$DEPLOY_ROOT/app.pid"; sleep 0.2; exit 0',
    },
    ApplicationStart: {
      body: `VERSION=$(cat "$DEPLOY_ROOT/opt/app/VERSION") nohup node -e "require('http').createServer((q,s)=>s.end(process.env.VERSION)).listen(process.env.PORT,'127.0.0.1')" >/dev/null 2>&1 &\necho $! > "$DEPLOY_ROOT/app.pid"`,
    },
    ValidateService: {
      body: "for i in $(seq 1 100); do node -e \"fetch('http://127.0.0.1:'+process.env.PORT+'/').then(()=>process.exit(0),()=>process.exit(1))\" && exit 0; sleep 0.1; done; exit 1",
    },
    ...extra,
  };
  const hooks = Object.entries(scripts)
    .map(([e, s]) => `  ${e}:\n    - location: scripts/${e}.sh\n      timeout: ${s.timeout ?? 30}\n`)
    .join('');
  await writeFile(
    join(dir, 'appspec.yml'),
    `version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/app\nhooks:\n${hooks}`,
  );
  for (const [e, s] of Object.entries(scripts))
    await writeFile(join(dir, 'scripts', `${e}.sh`), `#!/usr/bin/env bash\n${s.body}\n`);
}

describe('deployment engine', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  let dns: string;
  const cd = () => sb.sandbox.services.codedeploy;

  async function group(name: string, size: number, extra: Record<string, unknown> = {}) {
    await sb.clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `${name}-asg`,
        MinSize: size,
        MaxSize: size,
        DesiredCapacity: size,
        LaunchConfigurationName: 'lc',
      }),
    );
    await sb.clients.codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'eng',
        deploymentGroupName: name,
        serviceRoleArn: ROLE,
        autoScalingGroups: [`${name}-asg`],
        ...extra,
      }),
    );
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cd-engine-'));
    await sb.clients.codedeploy.send(new CreateApplicationCommand({ applicationName: 'eng' }));
    dns = (
      await createLoadBalancer(sb.clients.elbv2, {
        name: 'eng-alb',
        targetGroupName: 'eng-tg',
        healthCheckPath: '/',
      })
    ).dnsName;
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('in-place with a load balancer: 13 events per instance, traffic blocked and allowed, OneAtATime always serves', async () => {
    await group('lb', 3, {
      deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      loadBalancerInfo: { targetGroupInfoList: [{ name: 'eng-tg' }] },
    });
    for (const v of ['v1', 'v2']) await writeRevision(join(work, `lb-${v}`), v);
    const first = await cd().createDeployment({
      applicationName: 'eng',
      deploymentGroupName: 'lb',
      artifactDir: join(work, 'lb-v1'),
    });
    expect((await cd().waitForDeployment(first.deploymentId, AbortSignal.timeout(60_000))).status).toBe(
      'Succeeded',
    );
    expect((await viaLb(sb.sandbox.port, dns)).body).toBe('v1');

    const answers: { status: number; body: string }[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        answers.push(await viaLb(sb.sandbox.port, dns).catch((e: Error) => ({ status: 0, body: e.message })));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const second = await cd().createDeployment({
      applicationName: 'eng',
      deploymentGroupName: 'lb',
      artifactDir: join(work, 'lb-v2'),
    });
    const info = await cd().waitForDeployment(second.deploymentId, AbortSignal.timeout(60_000));
    running = false;
    await loop;
    expect(info.status).toBe('Succeeded');
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.body))).toEqual(new Set(['v1', 'v2']));

    const id = sb.sandbox.services.autoscaling.instancesOf('lb-asg')[0]!;
    const target = await sb.clients.codedeploy.send(
      new GetDeploymentTargetCommand({ deploymentId: second.deploymentId, targetId: id }),
    );
    expect(
      target.deploymentTarget?.instanceTarget?.lifecycleEvents?.map((e) => e.lifecycleEventName),
    ).toEqual([
      'BeforeBlockTraffic',
      'BlockTraffic',
      'AfterBlockTraffic',
      'ApplicationStop',
      'DownloadBundle',
      'BeforeInstall',
      'Install',
      'AfterInstall',
      'ApplicationStart',
      'ValidateService',
      'BeforeAllowTraffic',
      'AllowTraffic',
      'AfterAllowTraffic',
    ]);
    const health = sb.sandbox.runtime.events
      .since(0)
      .filter((e) => e.kind === 'targetHealth' && e.targetId === id)
      .map((e) => e.status);
    expect(health).toEqual(expect.arrayContaining(['draining', 'healthy']));
  });

  it('sizes batches by the deployment config: AllAtOnce overlaps every instance, HalfAtATime two of four', async () => {
    await writeRevision(join(work, 'batch'), 'b1', { BeforeInstall: { body: 'sleep 0.5' } });
    const overlap = async (name: string, size: number, config: string) => {
      await group(name, size, { deploymentConfigName: config });
      const { deploymentId } = await cd().createDeployment({
        applicationName: 'eng',
        deploymentGroupName: name,
        artifactDir: join(work, 'batch'),
      });
      expect((await cd().waitForDeployment(deploymentId, AbortSignal.timeout(60_000))).status).toBe(
        'Succeeded',
      );
      const d = cd().store.deployments.get(deploymentId)!;
      const spans = [...d.targets.values()].map((t) => {
        const e = t.lifecycleEvents.find((x) => x.lifecycleEventName === 'BeforeInstall')!;
        return [e.startTime!.getTime(), e.endTime!.getTime()] as const;
      });
      // The most BeforeInstall hooks running at one moment.
      return Math.max(...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
    };
    expect(await overlap('all', 2, 'CodeDeployDefault.AllAtOnce')).toBe(2);
    expect(await overlap('half', 4, 'CodeDeployDefault.HalfAtATime')).toBe(2);
    expect(await overlap('one', 2, 'CodeDeployDefault.OneAtATime')).toBe(1);
  });

  it("applies the configs' success rules: AllAtOnce succeeds with one healthy instance, a too-strict custom config is invalid", async () => {
    await writeRevision(join(work, 'picky'), 'p1', {
      ValidateService: {
        body: '[ -f "$DEPLOY_ROOT/fail-me" ] && { echo "told to fail" >&2; exit 1; }; exit 0',
      },
    });
    const run = async (name: string, config: string) => {
      await group(name, 2, { deploymentConfigName: config });
      const first = sb.sandbox.services.autoscaling.instancesOf(`${name}-asg`)[0]!;
      await writeFile(join(sb.sandbox.services.fleet.get(first)!.root, 'fail-me'), '');
      const { deploymentId } = await cd().createDeployment({
        applicationName: 'eng',
        deploymentGroupName: name,
        artifactDir: join(work, 'picky'),
      });
      return cd().waitForDeployment(deploymentId, AbortSignal.timeout(60_000));
    };
    const all = await run('picky-all', 'CodeDeployDefault.AllAtOnce');
    expect(all.status).toBe('Succeeded');
    expect(all.deploymentOverview).toMatchObject({ Succeeded: 1, Failed: 1 });
    const half = await run('picky-half', 'CodeDeployDefault.HalfAtATime');
    expect(half.status).toBe('Succeeded');
    expect(half.deploymentOverview).toMatchObject({ Succeeded: 1, Failed: 1 });
    const one = await run('picky-one', 'CodeDeployDefault.OneAtATime');
    expect(one).toMatchObject({ status: 'Failed', errorInformation: { code: 'HEALTH_CONSTRAINTS' } });
    expect(one.deploymentOverview).toMatchObject({ Failed: 1, Skipped: 1 });
    await sb.clients.codedeploy.send(
      new CreateDeploymentConfigCommand({
        deploymentConfigName: 'AllHealthy',
        minimumHealthyHosts: { type: 'HOST_COUNT', value: 2 },
      }),
    );
    const strict = await run('picky-strict', 'AllHealthy');
    expect(strict).toMatchObject({
      status: 'Failed',
      errorInformation: { code: 'HEALTH_CONSTRAINTS_INVALID' },
    });
  });

  it('kills a hook that outlives its timeout (ScriptTimedOut) and reports changes to listeners', async () => {
    await group('slow', 1);
    await writeRevision(join(work, 'slow'), 's1', {
      BeforeInstall: {
        body: 'echo "$$" > "$DEPLOY_ROOT/sleeper.pid"; echo going to sleep; sleep 30',
        timeout: 1,
      },
    });
    const seen: string[] = [];
    const off = cd().onDeploymentChange((info) => {
      if (seen.at(-1) !== info.status) seen.push(info.status!);
    });
    // Two creates racing for one group: exactly one deployment starts (only one may be active, aws-semantics 3.3).
    const both = await Promise.allSettled(
      [1, 2].map(() =>
        cd().createDeployment({
          applicationName: 'eng',
          deploymentGroupName: 'slow',
          artifactDir: join(work, 'slow'),
        }),
      ),
    );
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code).toBe(
      'DeploymentLimitExceededException',
    );
    const { deploymentId } = (
      both.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ deploymentId: string }>
    ).value;
    const info = await cd().waitForDeployment(deploymentId, AbortSignal.timeout(30_000));
    off();
    expect(info.status).toBe('Failed');
    expect(seen).toEqual(['InProgress', 'Failed']);
    const target = [...cd().store.deployments.get(deploymentId)!.targets.values()][0]!;
    const event = target.lifecycleEvents.find((e) => e.lifecycleEventName === 'BeforeInstall')!;
    expect(event.status).toBe('Failed');
    expect(event.diagnostics).toMatchObject({
      errorCode: 'ScriptTimedOut',
      scriptName: 'scripts/BeforeInstall.sh',
      message: 'Script at specified location: scripts/BeforeInstall.sh failed to complete in 1 seconds',
    });
    expect(event.diagnostics?.logTail).toContain('[stdout]going to sleep');
    expect(
      target.lifecycleEvents.filter((e) => e.status === 'Skipped').map((e) => e.lifecycleEventName),
    ).toEqual(['Install', 'AfterInstall', 'ApplicationStart', 'ValidateService']);
    const instance = sb.sandbox.services.fleet.get(target.targetId)!;
    const pid = Number((await import('node:fs')).readFileSync(join(instance.root, 'sleeper.pid'), 'utf8'));
    expect(ProcessTracker.alive(pid)).toBe(false); // the agent waited for the killed group to end
  });

  it('POST /_sandbox/reset ends a running deployment, its scripts and every instance', async () => {
    await group('reset', 1);
    await writeRevision(join(work, 'reset'), 'r1', { BeforeInstall: { body: 'sleep 20', timeout: 60 } });
    const { deploymentId } = await cd().createDeployment({
      applicationName: 'eng',
      deploymentGroupName: 'reset',
      artifactDir: join(work, 'reset'),
    });
    const id = sb.sandbox.services.autoscaling.instancesOf('reset-asg')[0]!;
    await poll(() => sb.sandbox.runtime.processes.groups(`instance:${id}`).length, {
      timeout: 10_000,
      isDone: (groups) => groups > 0,
      what: `the BeforeInstall script's process group on ${id}`,
      interval: { min: 25, max: 25 },
    });
    const pgids = sb.sandbox.runtime.processes.groups().map((g) => g.pgid);
    expect(pgids.some((g) => ProcessTracker.alive(g))).toBe(true);
    const started = Date.now();
    const res = await signedFetch(`${sb.sandbox.endpoint}/_sandbox/reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000); // the 20 s script did not have to finish
    expect(pgids.filter((g) => ProcessTracker.alive(g))).toEqual([]);
    expect(sb.sandbox.services.fleet.list()).toEqual([]);
    expect(cd().getDeploymentInfo(deploymentId)).toBeUndefined();
    const apps = await sb.clients.codedeploy.send(new ListApplicationsCommand({}));
    expect(apps.applications).toEqual([]);
  });

  it('a stopped sandbox leaves no process group alive and no instance port open', async () => {
    const other = await startSandbox({ timeScale: 0.01 });
    const clients = sdkClients(other.endpoint);
    try {
      await clients.autoscaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'x',
          MinSize: 2,
          MaxSize: 2,
          LaunchConfigurationName: 'lc',
        }),
      );
      await clients.codedeploy.send(new CreateApplicationCommand({ applicationName: 'x' }));
      await clients.codedeploy.send(
        new CreateDeploymentGroupCommand({
          applicationName: 'x',
          deploymentGroupName: 'x',
          serviceRoleArn: ROLE,
          autoScalingGroups: ['x'],
        }),
      );
      await writeRevision(join(work, 'stop'), 'st');
      const { deploymentId } = await other.services.codedeploy.createDeployment({
        applicationName: 'x',
        deploymentGroupName: 'x',
        artifactDir: join(work, 'stop'),
      });
      expect(
        (await other.services.codedeploy.waitForDeployment(deploymentId, AbortSignal.timeout(60_000))).status,
      ).toBe('Succeeded');
    } finally {
      clients.destroy();
    }
    const ports = other.services.fleet.list().map((i) => i.port);
    const pgids = other.runtime.processes.groups().map((g) => g.pgid);
    expect(ports).toHaveLength(2);
    for (const port of ports) expect(await acceptsConnections(port)).toBe(true);
    expect(pgids.some((g) => ProcessTracker.alive(g))).toBe(true);
    await other.stop();
    expect(pgids.filter((g) => ProcessTracker.alive(g))).toEqual([]);
    for (const port of ports) expect(await acceptsConnections(port)).toBe(false);
  });
});
