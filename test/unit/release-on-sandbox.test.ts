/**
 * The harness library end to end on the sandbox, through real SDK clients only: a blue/green stack is created
 * through the AWS APIs, then release (push → execution → build → approval → deployment → live on every
 * target, with zero failed requests while traffic shifts), a forced failure proven rolled back, and a
 * teardown that leaves nothing behind.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CodeCommitClient,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
} from '@aws-sdk/client-codecommit';
import {
  CreateApplicationCommand,
  CreateDeploymentGroupCommand,
  DeleteApplicationCommand,
} from '@aws-sdk/client-codedeploy';
import { CreatePipelineCommand, DeletePipelineCommand } from '@aws-sdk/client-codepipeline';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients, type HarnessClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { deploymentOf, waitForDeployment } from '../../src/deploy/deployment.ts';
import { lifecycleEvents } from '../../src/deploy/targets.ts';
import { expectRollback } from '../../src/deploy/rollback.ts';
import { DeploymentRolledBackError, ExecutionFailedError } from '../../src/errors.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { pushRevision, pushVersionBump } from '../../src/source/push.ts';
import { expectNoLeaks } from '../../src/teardown/leaks.ts';
import { Ledger } from '../../src/teardown/ledger.ts';
import { expectLive } from '../../src/traffic/live.ts';
import { probeTraffic } from '../../src/traffic/probe.ts';
import { healthyTargetIds } from '../../src/traffic/targets.ts';
import { loadBalancerUrl } from '../../src/traffic/url.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import {
  approvalStage,
  buildStage,
  declarePipeline,
  deployStage,
  sourceStage,
} from '../sandbox/helpers/pipeline.ts';
import { SANDBOX_GIT_AUTH, withGitCredentials } from '../sandbox/helpers/signed.ts';

const exec = promisify(execFile);
const P = 'h-e2e';
const SAMPLE_APP = join(import.meta.dirname, '..', '..', 'sample-app');
const run = 'run-e2e0001';
const runTag = { key: 'codepipeline-harness:run', value: run };
let throttled = 0;

describe('the harness library on the sandbox', () => {
  let sandbox: Sandbox;
  let clients: HarnessClients;
  let codecommit: CodeCommitClient;
  let repoUrl: string;
  let url: string;
  let pipeline: Pipeline;
  const ledger = new Ledger();
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'harness-e2e-'));
    sandbox = await startSandbox({ timeScale: 0.01 });
    const config = loadConfig({
      env: {},
      overrides: { endpoint: sandbox.endpoint, pipelineName: `${P}-pipeline`, runId: run },
    });
    clients = createClients(config);
    // Counts every throttled attempt (the SDK's own retries included) to prove the storm really happened.
    for (const client of [clients.codepipeline, clients.codedeploy] as const) {
      (client.middlewareStack as { add: (m: unknown, o: unknown) => void }).add(
        (next: (a: unknown) => Promise<unknown>) => async (args: unknown) => {
          try {
            return await next(args);
          } catch (error) {
            if ((error as { name?: string }).name === 'ThrottlingException') throttled += 1;
            throw error;
          }
        },
        { step: 'finalizeRequest', priority: 'low', name: 'countThrottles' },
      );
    }
    codecommit = new CodeCommitClient({
      region: 'us-east-1',
      endpoint: sandbox.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { codepipeline, codedeploy, elbv2, autoscaling } = clients;
    const tags = [{ Key: runTag.key, Value: runTag.value }];

    const repo = (await codecommit.send(new CreateRepositoryCommand({ repositoryName: `${P}-app` })))
      .repositoryMetadata!;
    repoUrl = repo.cloneUrlHttp!;
    ledger.add({
      kind: 'repository',
      id: `${P}-app`,
      delete: async () =>
        void (await codecommit.send(new DeleteRepositoryCommand({ repositoryName: `${P}-app` }))),
    });

    const lb = (
      await elbv2.send(
        new CreateLoadBalancerCommand({ Name: `${P}-alb`, Subnets: ['s-1', 's-2'], Tags: tags }),
      )
    ).LoadBalancers![0]!;
    ledger.add({
      kind: 'load-balancer',
      id: lb.LoadBalancerArn!,
      delete: async () =>
        void (await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }))),
    });
    const tg = (
      await elbv2.send(
        new CreateTargetGroupCommand({
          Name: `${P}-tg`,
          Protocol: 'HTTP',
          Port: 80,
          VpcId: 'vpc-1',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
          Tags: tags,
        }),
      )
    ).TargetGroups![0]!;
    ledger.add({
      kind: 'target-group',
      id: tg.TargetGroupArn!,
      delete: async () =>
        void (await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }))),
    });
    const listener = (
      await elbv2.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Protocol: 'HTTP',
          Port: 80,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
        }),
      )
    ).Listeners![0]!;
    // Recorded after the target group, so deleted before it: a listener in use keeps the group (ResourceInUse).
    ledger.add({
      kind: 'listener',
      id: listener.ListenerArn!,
      delete: async () =>
        void (await elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }))),
    });
    await autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `${P}-blue`,
        MinSize: 2,
        MaxSize: 4,
        DesiredCapacity: 2,
        LaunchTemplate: { LaunchTemplateName: 'web' },
        TargetGroupARNs: [tg.TargetGroupArn!],
        Tags: [{ Key: runTag.key, Value: runTag.value, PropagateAtLaunch: true }],
      }),
    );
    // Blue/green replaces the group with CodeDeploy_<dg>_<id> copies: delete whatever groups the run has at the end.
    ledger.add({
      kind: 'auto-scaling-groups',
      id: `${P}-*`,
      delete: async () => {
        const groups =
          (await autoscaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
        for (const g of groups.filter(
          (x) =>
            x.AutoScalingGroupName?.startsWith(`${P}-`) ||
            x.AutoScalingGroupName?.startsWith(`CodeDeploy_${P}-`),
        )) {
          await autoscaling.send(
            new DeleteAutoScalingGroupCommand({
              AutoScalingGroupName: g.AutoScalingGroupName,
              ForceDelete: true,
            }),
          );
        }
      },
    });
    await codedeploy.send(
      new CreateApplicationCommand({ applicationName: `${P}-app`, computePlatform: 'Server' }),
    );
    ledger.add({
      kind: 'application',
      id: `${P}-app`,
      delete: async () =>
        void (await codedeploy.send(new DeleteApplicationCommand({ applicationName: `${P}-app` }))),
    });
    await codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: `${P}-app`,
        deploymentGroupName: `${P}-dg`,
        serviceRoleArn: 'arn:aws:iam::000000000000:role/codedeploy',
        autoScalingGroups: [`${P}-blue`],
        deploymentConfigName: 'CodeDeployDefault.AllAtOnce',
        deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        loadBalancerInfo: { targetGroupInfoList: [{ name: `${P}-tg` }] },
        autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
        blueGreenDeploymentConfiguration: {
          terminateBlueInstancesOnDeploymentSuccess: { action: 'TERMINATE', terminationWaitTimeInMinutes: 1 },
          deploymentReadyOption: { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
          greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
        },
      }),
    );
    await codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(`${P}-pipeline`, [
          sourceStage(`${P}-app`, { outputArtifact: 'Src' }),
          buildStage(`${P}-build`, { inputArtifact: 'Src', outputArtifact: 'Built' }),
          approvalStage(),
          deployStage(`${P}-app`, `${P}-dg`, { actionName: 'DeployBlueGreen', inputArtifact: 'Built' }),
        ]),
        tags: [{ key: runTag.key, value: runTag.value }],
      }),
    );
    ledger.add({
      kind: 'pipeline',
      id: `${P}-pipeline`,
      delete: async () =>
        void (await codepipeline.send(new DeletePipelineCommand({ name: `${P}-pipeline` }))),
    });
    pipeline = new Pipeline({ ...clients, pipelineName: `${P}-pipeline`, interval: { min: 50, max: 500 } });

    // The repository root is the sample app.
    const seed = join(work, 'seed');
    // Async git only: the sandbox serves git from this very process.
    await exec('git', ['clone', '-q', withGitCredentials(repoUrl), seed], { timeout: 30_000 });
    cpSync(SAMPLE_APP, seed, { recursive: true, filter: (src) => !src.includes('node_modules') });
    const git = (...args: string[]) =>
      exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: seed, timeout: 30_000 });
    await git('checkout', '-q', '-B', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'seed');
    const seedCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
    await git('push', '-q', 'origin', 'HEAD:main');
    // The seed release: whatever it deploys, the stack serves something afterwards.
    const first = await pipeline.findExecution({ commitId: seedCommit, timeout: 30_000 });
    await pipeline.approve(first, { summary: 'seed', timeout: 120_000 });
    await pipeline.waitForStage(first, 'Deploy', 'Succeeded', { timeout: 120_000 });
    url = await loadBalancerUrl(elbv2, `${P}-alb`, { endpoint: sandbox.endpoint });
  }, 240_000);

  afterAll(async () => {
    await ledger.tryTeardown({ minDelayMs: 50 });
    destroyClients(clients);
    codecommit?.destroy();
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('releases a new version: its own execution, approval, zero failed requests, live on every target', async () => {
    // A throttling storm on every API the library polls: half the calls answer ThrottlingException.
    sandbox.faults.set({
      seed: 7,
      rules: ['GetPipelineState', 'GetPipelineExecution', 'ListPipelineExecutions', 'GetDeployment'].map(
        (operation) => ({
          operation,
          type: 'throttle' as const,
          rate: 0.5,
        }),
      ),
    });
    const probe = probeTraffic(url, { intervalMs: 25 });
    const pushed = await pushVersionBump({ repoUrl, runId: run, auth: SANDBOX_GIT_AUTH });
    const execution = await pipeline.findExecution({ commitId: pushed.commitId, timeout: 30_000 });
    await pipeline.waitForStage(execution, 'BuildAndTest', 'Succeeded', { timeout: 120_000 });
    await pipeline.approve(execution, { summary: `run ${run}: tests green` });
    const deploymentId = await deploymentOf(pipeline.context, execution);
    await waitForDeployment(clients.codedeploy, deploymentId, { timeout: 120_000 });
    await pipeline.waitForStage(execution, 'Deploy', 'Succeeded', { timeout: 60_000 });
    const targets = await healthyTargetIds(clients.elbv2, `${P}-alb`);
    expect(targets).toHaveLength(2);
    const live = await expectLive(url, pushed.version, {
      consecutive: 6,
      expectedTargets: targets,
      timeout: 60_000,
      intervalMs: 20,
    });
    const report = await probe.stop();
    sandbox.faults.clear();
    expect(throttled).toBeGreaterThan(5);

    expect(Object.keys(live.instances).sort()).toEqual([...targets].sort());
    expect(Object.values(live.instances)).toEqual([pushed.version, pushed.version]);
    expect(report.failures.total).toBe(0);
    expect(report.versions.at(-1)?.version).toBe(pushed.version);
    const green = await lifecycleEvents(clients.codedeploy, deploymentId);
    expect(green.filter((t) => t.label === 'Green').every((t) => t.status === 'Succeeded')).toBe(true);
    const stages = pipeline.timeline.of(execution.pipelineExecutionId).filter((e) => e.stage && !e.action);
    expect(stages.map((e) => `${e.stage} ${e.status}`)).toContain('Deploy Succeeded');
  }, 240_000);

  it('proves a forced failure rolled back while the previous version kept serving', async () => {
    const before = await expectLive(url, (await currentVersion(url)) ?? '', {
      consecutive: 2,
      timeout: 10_000,
      intervalMs: 20,
    });
    const previous = before.version;
    const probe = probeTraffic(url, { intervalMs: 25 });
    const bad = await pushRevision({ repoUrl, runId: run, unhealthy: true, auth: SANDBOX_GIT_AUTH });
    const execution = await pipeline.findExecution({ commitId: bad.commitId, timeout: 30_000 });
    await pipeline.approve(execution, { summary: 'forced failure', timeout: 120_000 });
    const failure = await pipeline
      .waitForStage(execution, 'Deploy', 'Succeeded', { timeout: 120_000 })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect((failure as ExecutionFailedError).failed?.stage).toBe('Deploy');
    const deploymentId = await deploymentOf(pipeline.context, execution);
    await expect(waitForDeployment(clients.codedeploy, deploymentId)).rejects.toBeInstanceOf(
      DeploymentRolledBackError,
    );
    const proofWhileServing = await expectRollback(clients.codedeploy, deploymentId, {
      timeout: 120_000,
      pipeline: { context: pipeline.context, execution, stage: 'Deploy' },
    });
    const report = await probe.stop();
    expect(proofWhileServing.proven).toBe(true);
    expect(report.failures.total).toBe(0);
    expect(report.versions.map((v) => v.version)).toEqual([previous]);
  }, 240_000);

  it('tears down everything it created and the leak check finds nothing', async () => {
    const report = await ledger.teardown({ minDelayMs: 50 });
    expect(report.failed).toEqual([]);
    await expectNoLeaks(clients, runTag, { namePrefix: P, deploymentGroups: [`${P}-dg`] });
  }, 120_000);
});

async function currentVersion(url: string): Promise<string | undefined> {
  const { localhostAgent } = await import('../../src/traffic/agent.ts');
  const { sample } = await import('../../src/traffic/sample.ts');
  const agent = localhostAgent();
  try {
    return (await sample(new URL('/version', url).toString(), { dispatcher: agent })).version;
  } finally {
    await agent.close();
  }
}
