/** AutoScaling state: groups and their instances. Pure data; rules live in `groups.ts`. */
import type { LaunchTemplateSpecification, MixedInstancesPolicy } from '@aws-sdk/client-auto-scaling';

export interface AsgInstance {
  readonly instanceId: string;
  readonly availabilityZone: string;
  lifecycleState: 'Pending' | 'Pending:Wait' | 'InService' | 'Terminating' | 'Terminated';
  healthStatus: 'Healthy' | 'Unhealthy';
  readonly launchedAt: Date;
}

export interface AsgTag {
  Key: string;
  Value: string;
  PropagateAtLaunch: boolean;
}

export interface AutoScalingGroupRecord {
  readonly name: string;
  readonly arn: string;
  launchConfigurationName?: string;
  launchTemplate?: LaunchTemplateSpecification;
  mixedInstancesPolicy?: MixedInstancesPolicy;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  defaultCooldown: number;
  availabilityZones: string[];
  vpcZoneIdentifier?: string;
  healthCheckType: string;
  healthCheckGracePeriod: number;
  targetGroupArns: string[];
  terminationPolicies: string[];
  newInstancesProtectedFromScaleIn: boolean;
  tags: AsgTag[];
  readonly createdTime: Date;
  /** In launch order (oldest first). */
  readonly instances: Map<string, AsgInstance>;
  /** Launches or terminations under way (DeleteAutoScalingGroup refuses while > 0 without ForceDelete). */
  activities: number;
  /** `Delete in progress` while a delete runs. */
  status?: string;
}

/**
 * @example
 * const store = new AutoScalingStore();
 * store.groups.get('web')?.instances.size; // instances of group 'web'
 */
export class AutoScalingStore {
  readonly groups = new Map<string, AutoScalingGroupRecord>();

  clear(): void {
    this.groups.clear();
  }
}
