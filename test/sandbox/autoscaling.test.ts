/**
 * The AutoScaling subset through the real SDK and the AWS CLI: groups launch real fleet instances, scale up and
 * down, register with their target groups, and refuse deletion while instances remain (as AWS does).
 */
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { awsCli } from './helpers/aws-cli.ts';
import { useSandbox } from './helpers/sandbox.ts';

describe('AutoScaling subset', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  const asg = () => sb.clients.autoscaling;

  it('creates a group of running instances registered with its target group, and describes it as AWS does', async () => {
    const tg = (
      await sb.clients.elbv2.send(
        new CreateTargetGroupCommand({ Name: 'asg-tg', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }),
      )
    ).TargetGroups![0]!;
    await asg().send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'app',
        MinSize: 1,
        MaxSize: 3,
        DesiredCapacity: 2,
        LaunchTemplate: { LaunchTemplateName: 'app-lt', Version: '$Latest' },
        TargetGroupARNs: [tg.TargetGroupArn!],
        Tags: [{ Key: 'team', Value: 'web', PropagateAtLaunch: true }],
      }),
    );
    const out = await asg().send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['app'] }));
    const g = out.AutoScalingGroups![0]!;
    expect(g).toMatchObject({
      AutoScalingGroupName: 'app',
      MinSize: 1,
      MaxSize: 3,
      DesiredCapacity: 2,
      TargetGroupARNs: [tg.TargetGroupArn],
      LaunchTemplate: { LaunchTemplateName: 'app-lt', Version: '$Latest' },
      HealthCheckType: 'EC2',
      Tags: [
        {
          ResourceId: 'app',
          ResourceType: 'auto-scaling-group',
          Key: 'team',
          Value: 'web',
          PropagateAtLaunch: true,
        },
      ],
    });
    expect(g.AutoScalingGroupARN).toMatch(
      /^arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/app$/,
    );
    expect(g.CreatedTime).toBeInstanceOf(Date);
    expect(g.Instances).toHaveLength(2);
    for (const i of g.Instances!) {
      expect(i).toMatchObject({
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      });
      expect(i.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
      expect(sb.sandbox.services.fleet.get(i.InstanceId!)?.state).toBe('running');
    }
    const health = await sb.clients.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }),
    );
    expect(health.TargetHealthDescriptions?.map((t) => t.Target?.Id).sort()).toEqual(
      g.Instances!.map((i) => i.InstanceId).sort(),
    );
  });

  it('scales out and in with UpdateAutoScalingGroup; scaled-in instances are terminated', async () => {
    await asg().send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'app', DesiredCapacity: 3 }));
    expect(sb.sandbox.services.autoscaling.instancesOf('app')).toHaveLength(3);
    const before = sb.sandbox.services.autoscaling.instancesOf('app');
    await asg().send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'app', MinSize: 1, DesiredCapacity: 1 }),
    );
    const after = sb.sandbox.services.autoscaling.instancesOf('app');
    expect(after).toHaveLength(1);
    for (const gone of before.filter((id) => !after.includes(id)))
      expect(sb.sandbox.services.fleet.get(gone)).toBeUndefined();
  });

  it('answers AWS errors: duplicate, unknown group, bad bounds, missing launch source, deletion in use', async () => {
    const dup = await asg()
      .send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'app',
          MinSize: 0,
          MaxSize: 1,
          LaunchConfigurationName: 'lc',
        }),
      )
      .catch((e) => e);
    // The SDK names the modeled exception shape; the wire code is `AlreadyExists`.
    expect(dup.name).toBe('AlreadyExistsFault');
    const unknown = await asg()
      .send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'nope', DesiredCapacity: 1 }))
      .catch((e) => e);
    expect(unknown.name).toBe('ValidationError');
    expect(unknown.message).toBe("AutoScalingGroup name not found - AutoScalingGroup 'nope' not found");
    const bounds = await asg()
      .send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'b',
          MinSize: 2,
          MaxSize: 3,
          DesiredCapacity: 5,
          LaunchConfigurationName: 'lc',
        }),
      )
      .catch((e) => e);
    expect(bounds.name).toBe('ValidationError');
    expect(bounds.message).toBe('Desired capacity:5 must be between the specified min size:2 and max size:3');
    const source = await asg()
      .send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'c', MinSize: 0, MaxSize: 1 }))
      .catch((e) => e);
    expect(source.name).toBe('ValidationError');
    expect(source.message).toMatch(
      /LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy/,
    );
    const inUse = await asg()
      .send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'app' }))
      .catch((e) => e);
    expect(inUse.name).toBe('ResourceInUseFault');
    expect(inUse.message).toBe(
      'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
    );
  });

  it('works with the AWS CLI: create, describe, force-delete (instances terminated)', async () => {
    const create = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'create-auto-scaling-group',
      '--auto-scaling-group-name',
      'cli-asg',
      '--min-size',
      '1',
      '--max-size',
      '2',
      '--desired-capacity',
      '2',
      '--launch-configuration-name',
      'cli-lc',
    ]);
    expect(create.code, create.stderr).toBe(0);
    const described = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'describe-auto-scaling-groups',
      '--auto-scaling-group-names',
      'cli-asg',
    ]);
    expect(described.json.AutoScalingGroups[0].Instances).toHaveLength(2);
    const ids: string[] = described.json.AutoScalingGroups[0].Instances.map(
      (i: { InstanceId: string }) => i.InstanceId,
    );
    const refused = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'delete-auto-scaling-group',
      '--auto-scaling-group-name',
      'cli-asg',
    ]);
    expect(refused.errorCode).toBe('ResourceInUse');
    const del = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'delete-auto-scaling-group',
      '--auto-scaling-group-name',
      'cli-asg',
      '--force-delete',
    ]);
    expect(del.code, del.stderr).toBe(0);
    for (const id of ids) expect(sb.sandbox.services.fleet.get(id)).toBeUndefined();
    const missing = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'describe-auto-scaling-groups',
      '--auto-scaling-group-names',
      'cli-asg',
    ]);
    expect(missing.json.AutoScalingGroups).toEqual([]);
    const gone = await awsCli(sb.sandbox.endpoint, [
      'autoscaling',
      'delete-auto-scaling-group',
      '--auto-scaling-group-name',
      'cli-asg',
    ]);
    expect(gone.errorCode).toBe('ValidationError');
  });

  it('deletes an emptied group without ForceDelete', async () => {
    await asg().send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'app', MinSize: 0, DesiredCapacity: 0 }),
    );
    await asg().send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'app' }));
    const out = await asg().send(new DescribeAutoScalingGroupsCommand({}));
    expect(out.AutoScalingGroups).toEqual([]);
  });
});
