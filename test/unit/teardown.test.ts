import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CodeDeployClient,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
} from '@aws-sdk/client-codedeploy';
import { CodePipelineClient, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { HarnessClients } from '../../src/aws/clients.ts';
import { GuardRefusedError, LeakError } from '../../src/errors.ts';
import { Guard } from '../../src/teardown/guard.ts';
import { expectNoLeaks, checkLeaks } from '../../src/teardown/leaks.ts';
import { Ledger } from '../../src/teardown/ledger.ts';

const quick = { minDelayMs: 1, maxDelayMs: 5 };

describe('Ledger', () => {
  it('tears down in reverse order of creation', async () => {
    const order: string[] = [];
    const ledger = new Ledger();
    for (const id of ['asg', 'target-group', 'load-balancer', 'pipeline']) {
      ledger.add({ kind: 'thing', id, delete: async () => void order.push(id) });
    }
    const report = await ledger.teardown(quick);
    expect(order).toEqual(['pipeline', 'load-balancer', 'target-group', 'asg']);
    expect(report.deleted).toHaveLength(4);
    expect(ledger.entries).toHaveLength(0);
  });

  it('is idempotent: already-gone resources count as deleted and a second teardown does nothing', async () => {
    let calls = 0;
    const ledger = new Ledger();
    ledger.add({
      kind: 'pipeline',
      id: 'p',
      delete: async () => {
        calls += 1;
        throw Object.assign(new Error('gone'), { name: 'PipelineNotFoundException' });
      },
    });
    ledger.add({
      kind: 'auto-scaling-group',
      id: 'g',
      delete: async () => {
        calls += 1;
        throw Object.assign(new Error('AutoScalingGroup name not found - g'), { name: 'ValidationError' });
      },
    });
    const first = await ledger.teardown(quick);
    expect(first.alreadyGone).toEqual(['auto-scaling-group g', 'pipeline p']);
    const second = await ledger.teardown(quick);
    expect(second).toEqual({ deleted: [], alreadyGone: [], failed: [] });
    expect(calls).toBe(2);
  });

  it('retries a failing delete and collects what still fails into one LeakError', async () => {
    let flaky = 0;
    const ledger = new Ledger();
    ledger.add({
      kind: 'load-balancer',
      id: 'lb',
      delete: async () => {
        flaky += 1;
        if (flaky < 3) throw Object.assign(new Error('in use'), { name: 'ResourceInUse' });
      },
    });
    ledger.add({
      kind: 'target-group',
      id: 'tg',
      delete: async () => {
        throw Object.assign(new Error('target group is in use by a listener'), { name: 'ResourceInUse' });
      },
    });
    ledger.add({ kind: 'process', id: '4242', delete: async () => {} });
    const error = (await ledger.teardown({ ...quick, retries: 2 }).catch((e: unknown) => e)) as LeakError;
    expect(flaky).toBe(3);
    expect(error).toBeInstanceOf(LeakError);
    expect(error.leftovers).toEqual([
      { kind: 'target-group', id: 'tg', reason: 'ResourceInUse: target group is in use by a listener' },
    ]);
    expect(error.message).toMatchInlineSnapshot(
      `"teardown could not delete or undo 1 resource(s): target-group tg (ResourceInUse: target group is in use by a listener); run \`codepipeline-harness sweep\` or delete them by hand"`,
    );
    // What was deleted is gone from the ledger; what failed stays for the next attempt.
    expect(ledger.entries.map((e) => e.id)).toEqual(['tg']);
  });
});

describe('Guard', () => {
  it('refuses a destructive action on a resource the run did not create and that is not a test target', async () => {
    const ledger = new Ledger();
    const guard = new Guard({ ledger, tagsOf: async () => ({ team: 'payments' }) });
    const error = (await guard
      .assert({ kind: 'deployment-group', id: 'prod-dg', action: 'stop-deployment' })
      .catch((e: unknown) => e)) as GuardRefusedError;
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect(error.message).toMatchInlineSnapshot(
      `"refusing to stop-deployment deployment-group prod-dg: not created by this run and not tagged codepipeline-harness:test-target=true; tag it codepipeline-harness:test-target=true if it is a test target"`,
    );
  });

  it('allows what the run created and what is tagged as a test target', async () => {
    const ledger = new Ledger();
    ledger.add({ kind: 'pipeline', id: 'mine', delete: async () => {} });
    const guard = new Guard({
      ledger,
      tagsOf: async (_kind, id) =>
        id === 'staging' ? { 'codepipeline-harness:test-target': 'true' } : undefined,
    });
    expect(await guard.check({ kind: 'pipeline', id: 'mine', action: 'delete' })).toEqual({
      allowed: true,
      reason: 'created by this run',
    });
    await expect(
      guard.assert({ kind: 'pipeline', id: 'staging', action: 'delete' }),
    ).resolves.toBeUndefined();
    expect((await guard.check({ kind: 'pipeline', id: 'other', action: 'delete' })).allowed).toBe(false);
  });
});

describe('checkLeaks', () => {
  function clients() {
    const cp = mockClient(new CodePipelineClient({ region: 'us-east-1' }));
    const cd = mockClient(new CodeDeployClient({ region: 'us-east-1' }));
    const elb = mockClient(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }));
    const asg = mockClient(new AutoScalingClient({ region: 'us-east-1' }));
    return {
      mocks: { cp, cd, elb, asg },
      clients: {
        codepipeline: cp,
        codedeploy: cd,
        elbv2: elb,
        autoscaling: asg,
      } as unknown as HarnessClients,
    };
  }
  const runTag = { key: 'codepipeline-harness:run', value: 'run-1' };

  it('lists tagged, prefixed and CodeDeploy_* leftovers', async () => {
    const { mocks, clients: c } = clients();
    mocks.cp
      .on(ListPipelinesCommand)
      .resolves({ pipelines: [{ name: 'h-run-1-pipeline' }, { name: 'prod-pipeline' }] });
    mocks.cd.on(ListApplicationsCommand).resolves({ applications: ['h-run-1-app', 'prod-app'] });
    mocks.cd.on(ListDeploymentGroupsCommand).resolves({ deploymentGroups: ['h-run-1-dg'] });
    mocks.elb.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        { LoadBalancerName: 'alb-a', LoadBalancerArn: 'arn:lb/a' },
        { LoadBalancerName: 'prod-alb', LoadBalancerArn: 'arn:lb/prod' },
      ],
    });
    mocks.elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
    mocks.elb.on(DescribeTagsCommand).resolves({
      TagDescriptions: [
        { ResourceArn: 'arn:lb/a', Tags: [{ Key: runTag.key, Value: 'run-1' }] },
        { ResourceArn: 'arn:lb/prod', Tags: [{ Key: runTag.key, Value: 'run-0' }] },
      ],
    });
    mocks.asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        { AutoScalingGroupName: 'CodeDeploy_h-run-1-dg_d-ABCDEFGH1' } as never,
        { AutoScalingGroupName: 'CodeDeploy_prod-dg_d-ZZZZZZZZ1' } as never,
      ],
    });
    const report = await checkLeaks(c, runTag, { namePrefix: 'h-run-1' });
    expect(report.clean).toBe(false);
    expect(report.leftovers).toEqual([
      { kind: 'pipeline', id: 'h-run-1-pipeline', reason: 'name' },
      { kind: 'application', id: 'h-run-1-app', reason: 'name' },
      { kind: 'deployment-group', id: 'h-run-1-app/h-run-1-dg', reason: 'name' },
      { kind: 'load-balancer', id: 'arn:lb/a', reason: 'tag' },
      { kind: 'auto-scaling-group', id: 'CodeDeploy_h-run-1-dg_d-ABCDEFGH1', reason: 'codedeploy-copy' },
    ]);
    await expect(expectNoLeaks(c, runTag, { namePrefix: 'h-run-1' })).rejects.toBeInstanceOf(LeakError);
  });

  it('is clean when nothing of the run is left', async () => {
    const { mocks, clients: c } = clients();
    mocks.cp.on(ListPipelinesCommand).resolves({ pipelines: [{ name: 'prod-pipeline' }] });
    mocks.cd.on(ListApplicationsCommand).resolves({ applications: [] });
    mocks.elb.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [] });
    mocks.elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
    mocks.asg.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    expect(await expectNoLeaks(c, runTag, { namePrefix: 'h-run-1' })).toEqual({ clean: true, leftovers: [] });
  });
});
