/**
 * `sweep` after a run that was killed before its teardown: the run's resources exist on the sandbox (found by
 * tag, name prefix and the CodeDeploy_* naming), nobody holds a ledger for them, and sweep removes them all
 * while leaving other teams' resources alone.
 */
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateRepositoryCommand, ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import { CreateApplicationCommand, CreateDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { CreatePipelineCommand, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients, type HarnessClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { LeakError } from '../../src/errors.ts';
import { expectNoLeaks, checkLeaks } from '../../src/teardown/leaks.ts';
import { expectSwept, sweep } from '../../src/teardown/sweep.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { approvalStage, declarePipeline, sourceStage } from '../sandbox/helpers/pipeline.ts';

const runTag = { key: 'codepipeline-harness:run', value: 'run-killed1' };
const P = 'h-killed1';

describe('sweep on the sandbox', () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof createClients>;

  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.01 });
    clients = createClients(loadConfig({ env: {}, overrides: { endpoint: sandbox.endpoint } }));
    const tags = [{ Key: runTag.key, Value: runTag.value }];
    await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: `${P}-app` }));
    await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'payments-app' }));
    // Tagged but not prefixed: found by tag.
    const lb = (
      await clients.elbv2.send(
        new CreateLoadBalancerCommand({ Name: 'alb-x', Subnets: ['s-1', 's-2'], Tags: tags }),
      )
    ).LoadBalancers![0]!;
    await clients.elbv2.send(
      new CreateLoadBalancerCommand({ Name: 'payments-alb', Subnets: ['s-1', 's-2'] }),
    );
    const tg = (
      await clients.elbv2.send(
        new CreateTargetGroupCommand({ Name: `${P}-tg`, Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }),
      )
    ).TargetGroups![0]!;
    await clients.elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
      }),
    );
    await clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `${P}-blue`,
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        LaunchTemplate: { LaunchTemplateName: 'web' },
        TargetGroupARNs: [tg.TargetGroupArn!],
      }),
    );
    // What a killed blue/green deployment leaves: CodeDeploy's copy of the group.
    await clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `CodeDeploy_${P}-dg_d-ABCDEFGH1`,
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        LaunchTemplate: { LaunchTemplateName: 'web' },
      }),
    );
    await clients.codedeploy.send(new CreateApplicationCommand({ applicationName: `${P}-app` }));
    await clients.codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: `${P}-app`,
        deploymentGroupName: `${P}-dg`,
        serviceRoleArn: 'arn:aws:iam::000000000000:role/codedeploy',
        autoScalingGroups: [`${P}-blue`],
      }),
    );
    await clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(`${P}-pipeline`, [
          sourceStage(`${P}-app`, { outputArtifact: 'Src' }),
          approvalStage(),
        ]),
      }),
    );
  }, 60_000);

  afterAll(async () => {
    if (clients) destroyClients(clients as HarnessClients);
    await sandbox?.stop();
  });

  it('finds every resource of the killed run, deletes them, and leaves other resources alone', async () => {
    const before = await checkLeaks(clients, runTag, { namePrefix: P });
    expect(before.leftovers.map((l) => `${l.kind}:${l.reason}`).sort()).toEqual([
      'application:name',
      'auto-scaling-group:codedeploy-copy',
      'auto-scaling-group:name',
      'deployment-group:name',
      'load-balancer:tag',
      'pipeline:name',
      'repository:name',
      'target-group:name',
    ]);
    await expect(expectNoLeaks(clients, runTag, { namePrefix: P })).rejects.toBeInstanceOf(LeakError);

    const report = await expectSwept(clients, runTag, { namePrefix: P, minDelayMs: 50, timeout: 30_000 });
    expect(report.teardown.failed).toEqual([]);
    expect(report.remaining).toEqual([]);
    await expectNoLeaks(clients, runTag, { namePrefix: P });

    // Other teams' resources are untouched.
    const lbs = (await clients.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    expect(lbs.map((l) => l.LoadBalancerName)).toEqual(['payments-alb']);
    const repos = (await clients.codecommit.send(new ListRepositoriesCommand({}))).repositories ?? [];
    expect(repos.map((r) => r.repositoryName)).toEqual(['payments-app']);
    expect((await clients.codepipeline.send(new ListPipelinesCommand({}))).pipelines).toEqual([]);
    expect(
      (await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups,
    ).toEqual([]);
  }, 90_000);

  it('is idempotent: a second sweep finds nothing', async () => {
    const again = await sweep(clients, runTag, { namePrefix: P, timeout: 5000 });
    expect(again).toEqual({
      found: [],
      teardown: { deleted: [], alreadyGone: [], failed: [] },
      remaining: [],
      dryRun: false,
    });
  });
});
