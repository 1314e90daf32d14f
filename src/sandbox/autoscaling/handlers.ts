/**
 * AutoScaling Query handlers (PascalCase members as in the model), typed by the SDK's input and output types
 * ({@link AutoScalingOperations}). Only the group operations the harness needs; every other operation answers
 * the edge server's "not implemented" error.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { ServiceError } from '../protocol/errors.ts';
import { type GroupManager, validation } from './groups.ts';
import type { AutoScalingHandlers, AutoScalingOperations, AutoScalingOutput } from './operations.ts';
import type { AutoScalingGroupRecord } from './store.ts';

function describe(group: AutoScalingGroupRecord, includeInstances: boolean): AutoScalingGroup {
  return {
    AutoScalingGroupName: group.name,
    AutoScalingGroupARN: group.arn,
    ...(group.launchConfigurationName ? { LaunchConfigurationName: group.launchConfigurationName } : {}),
    ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
    ...(group.mixedInstancesPolicy ? { MixedInstancesPolicy: group.mixedInstancesPolicy } : {}),
    MinSize: group.minSize,
    MaxSize: group.maxSize,
    DesiredCapacity: group.desiredCapacity,
    DefaultCooldown: group.defaultCooldown,
    AvailabilityZones: group.availabilityZones,
    LoadBalancerNames: [],
    TargetGroupARNs: group.targetGroupArns,
    HealthCheckType: group.healthCheckType,
    HealthCheckGracePeriod: group.healthCheckGracePeriod,
    ...(includeInstances
      ? {
          Instances: [...group.instances.values()].map((i) => ({
            InstanceId: i.instanceId,
            InstanceType: 't3.micro',
            AvailabilityZone: i.availabilityZone,
            LifecycleState: i.lifecycleState,
            HealthStatus: i.healthStatus,
            ...(group.launchConfigurationName
              ? { LaunchConfigurationName: group.launchConfigurationName }
              : {}),
            ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
            ProtectedFromScaleIn: group.newInstancesProtectedFromScaleIn,
          })),
        }
      : {}),
    CreatedTime: group.createdTime,
    SuspendedProcesses: [],
    ...(group.vpcZoneIdentifier ? { VPCZoneIdentifier: group.vpcZoneIdentifier } : {}),
    EnabledMetrics: [],
    ...(group.status ? { Status: group.status } : {}),
    Tags: group.tags.map((t) => ({
      ResourceId: group.name,
      ResourceType: 'auto-scaling-group',
      Key: t.Key,
      Value: t.Value,
      PropagateAtLaunch: t.PropagateAtLaunch,
    })),
    TerminationPolicies: group.terminationPolicies,
    NewInstancesProtectedFromScaleIn: group.newInstancesProtectedFromScaleIn,
    ServiceLinkedRoleARN: `arn:aws:iam::${group.arn.split(':')[4]}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
  };
}

/**
 * The operation table of the service. Leaving out an operation of {@link AutoScalingOperations} is a compile
 * error.
 *
 * @example
 * const handlers = autoScalingHandlers(groups);
 * await handlers.DescribeAutoScalingGroups({ AutoScalingGroupNames: ['web'] }, ctx);
 */
export function autoScalingHandlers(groups: GroupManager): AutoScalingHandlers<keyof AutoScalingOperations> {
  return {
    async CreateAutoScalingGroup(input): Promise<AutoScalingOutput<'CreateAutoScalingGroup'>> {
      const tags = (input.Tags ?? []).map((t) => {
        if (t.ResourceId !== undefined && t.ResourceId !== input.AutoScalingGroupName) {
          throw validation(
            `Tag ResourceId '${t.ResourceId}' must be the group's name '${input.AutoScalingGroupName}'`,
          );
        }
        return { Key: t.Key, Value: t.Value ?? '', PropagateAtLaunch: t.PropagateAtLaunch ?? false };
      });
      await groups.create({
        name: input.AutoScalingGroupName,
        minSize: input.MinSize,
        maxSize: input.MaxSize,
        desiredCapacity: input.DesiredCapacity,
        launchConfigurationName: input.LaunchConfigurationName,
        launchTemplate: input.LaunchTemplate,
        mixedInstancesPolicy: input.MixedInstancesPolicy,
        instanceId: input.InstanceId,
        defaultCooldown: input.DefaultCooldown,
        availabilityZones: input.AvailabilityZones,
        vpcZoneIdentifier: input.VPCZoneIdentifier,
        healthCheckType: input.HealthCheckType,
        healthCheckGracePeriod: input.HealthCheckGracePeriod,
        targetGroupArns: input.TargetGroupARNs,
        terminationPolicies: input.TerminationPolicies,
        newInstancesProtectedFromScaleIn: input.NewInstancesProtectedFromScaleIn,
        tags,
      });
      return {};
    },

    DescribeAutoScalingGroups(input): AutoScalingOutput<'DescribeAutoScalingGroups'> {
      const names: string[] | undefined = input.AutoScalingGroupNames?.length
        ? input.AutoScalingGroupNames
        : undefined;
      const all = [...groups.store.groups.values()].filter((g) => !names || names.includes(g.name));
      const start = input.NextToken
        ? Number(Buffer.from(String(input.NextToken), 'base64url').toString())
        : 0;
      if (!Number.isInteger(start) || start < 0 || start > all.length) {
        throw new ServiceError('InvalidNextToken', `The token '${input.NextToken}' is invalid.`);
      }
      const max = input.MaxRecords ?? 50;
      const page = all.slice(start, start + max);
      const next =
        start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
      return {
        AutoScalingGroups: page.map((g) => describe(g, input.IncludeInstances ?? true)),
        ...(next ? { NextToken: next } : {}),
      };
    },

    async UpdateAutoScalingGroup(input): Promise<AutoScalingOutput<'UpdateAutoScalingGroup'>> {
      await groups.update(input.AutoScalingGroupName, {
        minSize: input.MinSize,
        maxSize: input.MaxSize,
        desiredCapacity: input.DesiredCapacity,
        launchTemplate: input.LaunchTemplate,
        launchConfigurationName: input.LaunchConfigurationName,
        healthCheckType: input.HealthCheckType,
        healthCheckGracePeriod: input.HealthCheckGracePeriod,
        defaultCooldown: input.DefaultCooldown,
        availabilityZones: input.AvailabilityZones,
        vpcZoneIdentifier: input.VPCZoneIdentifier,
      });
      return {};
    },

    async DeleteAutoScalingGroup(input): Promise<AutoScalingOutput<'DeleteAutoScalingGroup'>> {
      await groups.delete(input.AutoScalingGroupName, input.ForceDelete === true);
      return {};
    },
  };
}
