/**
 * Deployment group settings shared by CreateDeploymentGroup and UpdateDeploymentGroup: each member checked and
 * normalised, then the cross-member rules AWS applies (aws-semantics 3.2), with the 3.12 error codes.
 */
import type { CreateDeploymentGroupInput, UpdateDeploymentGroupInput } from '@aws-sdk/client-codedeploy';
import type { AutoScalingService } from '../autoscaling/index.ts';
import type { Validated } from '../types.ts';
import { err, requireConfigName } from './errors.ts';
import type { CodeDeployStore, DeploymentGroupRecord } from './store.ts';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;
const ROLLBACK_EVENTS = new Set([
  'DEPLOYMENT_FAILURE',
  'DEPLOYMENT_STOP_ON_ALARM',
  'DEPLOYMENT_STOP_ON_REQUEST',
]);
/** EC2 maximum for the blue termination wait (aws-semantics 3.2). */
const MAX_TERMINATION_WAIT_MINUTES = 2880;

/**
 * @example
 * const settings = checkGroupSettings({ store, autoscaling }, input); // throws e.g. InvalidAutoScalingGroupException
 * Object.assign(group, settings);
 */
export function checkGroupSettings(
  deps: { store: CodeDeployStore; autoscaling: AutoScalingService },
  input: Validated<CreateDeploymentGroupInput> | Validated<UpdateDeploymentGroupInput>,
  current?: DeploymentGroupRecord,
): Partial<DeploymentGroupRecord> {
  const out: Partial<DeploymentGroupRecord> = {};
  if (input.serviceRoleArn !== undefined) {
    if (!ROLE_ARN.test(input.serviceRoleArn)) {
      throw err(
        'InvalidRoleException',
        `The service role ARN '${input.serviceRoleArn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).`,
      );
    }
    out.serviceRoleArn = input.serviceRoleArn;
  }
  if (input.deploymentConfigName !== undefined)
    out.deploymentConfigName = requireConfigName(deps.store, input.deploymentConfigName).deploymentConfigName;
  if (input.autoScalingGroups !== undefined) {
    for (const name of input.autoScalingGroups) {
      if (!deps.autoscaling.group(name)) {
        throw err(
          'InvalidAutoScalingGroupException',
          `Auto Scaling group '${name}' does not exist; create it first or fix autoScalingGroups.`,
        );
      }
    }
    out.autoScalingGroups = [...new Set(input.autoScalingGroups)];
  }
  if (input.ec2TagFilters !== undefined && input.ec2TagSet !== undefined && input.ec2TagFilters.length > 0) {
    throw err(
      'InvalidEC2TagCombinationException',
      'A deployment group can use ec2TagFilters or ec2TagSet, not both.',
    );
  }
  if (input.ec2TagFilters !== undefined) out.ec2TagFilters = input.ec2TagFilters;
  if (input.ec2TagSet !== undefined) out.ec2TagSet = input.ec2TagSet;
  if (input.onPremisesInstanceTagFilters !== undefined)
    out.onPremisesInstanceTagFilters = input.onPremisesInstanceTagFilters;
  if (input.onPremisesTagSet !== undefined) out.onPremisesTagSet = input.onPremisesTagSet;
  if (input.triggerConfigurations !== undefined) out.triggerConfigurations = input.triggerConfigurations;
  if (input.alarmConfiguration !== undefined) out.alarmConfiguration = input.alarmConfiguration;
  if (input.outdatedInstancesStrategy !== undefined)
    out.outdatedInstancesStrategy = input.outdatedInstancesStrategy;
  if (input.terminationHookEnabled !== undefined) out.terminationHookEnabled = input.terminationHookEnabled;
  if (input.autoRollbackConfiguration !== undefined) {
    const arc = input.autoRollbackConfiguration;
    if (arc.enabled && !((arc.events?.length ?? 0) > 0)) {
      throw err(
        'InvalidAutoRollbackConfigException',
        'Automatic rollback is enabled but no events are specified; give events such as DEPLOYMENT_FAILURE.',
      );
    }
    for (const e of arc.events ?? []) {
      if (!ROLLBACK_EVENTS.has(e))
        throw err(
          'InvalidAutoRollbackConfigException',
          `The automatic rollback event '${e}' is invalid; use DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM or DEPLOYMENT_STOP_ON_REQUEST.`,
        );
    }
    out.autoRollbackConfiguration = {
      enabled: arc.enabled ?? false,
      ...(arc.events ? { events: arc.events } : {}),
    };
  }
  if (input.deploymentStyle !== undefined) {
    out.deploymentStyle = {
      deploymentType: input.deploymentStyle.deploymentType ?? 'IN_PLACE',
      deploymentOption: input.deploymentStyle.deploymentOption ?? 'WITHOUT_TRAFFIC_CONTROL',
    };
  }
  if (input.loadBalancerInfo !== undefined) {
    const lbi = input.loadBalancerInfo;
    if ((lbi.targetGroupInfoList?.length ?? 0) > 10)
      throw err(
        'InvalidLoadBalancerInfoException',
        'At most 10 target groups can be listed in targetGroupInfoList.',
      );
    for (const tg of lbi.targetGroupInfoList ?? []) {
      if (!tg.name)
        throw err(
          'InvalidLoadBalancerInfoException',
          'Each targetGroupInfoList entry needs the target group name.',
        );
    }
    out.loadBalancerInfo = lbi;
  }
  if (input.blueGreenDeploymentConfiguration !== undefined) {
    const bgc = input.blueGreenDeploymentConfiguration;
    const wait = bgc.terminateBlueInstancesOnDeploymentSuccess?.terminationWaitTimeInMinutes;
    if (wait !== undefined && (wait < 0 || wait > MAX_TERMINATION_WAIT_MINUTES)) {
      throw err(
        'InvalidBlueGreenDeploymentConfigurationException',
        `terminationWaitTimeInMinutes must be between 0 and ${MAX_TERMINATION_WAIT_MINUTES} (got ${wait}).`,
      );
    }
    out.blueGreenDeploymentConfiguration = bgc;
  }
  // Cross-field rules on the merged result.
  const style = out.deploymentStyle ??
    current?.deploymentStyle ?? { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' };
  const lbi = out.loadBalancerInfo ?? current?.loadBalancerInfo;
  const bgc = out.blueGreenDeploymentConfiguration ?? current?.blueGreenDeploymentConfiguration;
  const asgs = out.autoScalingGroups ?? current?.autoScalingGroups ?? [];
  const hasLb = (lbi?.targetGroupInfoList?.length ?? 0) + (lbi?.elbInfoList?.length ?? 0) > 0;
  if (style.deploymentOption === 'WITH_TRAFFIC_CONTROL' && !hasLb) {
    throw err(
      'InvalidLoadBalancerInfoException',
      'The deployment style WITH_TRAFFIC_CONTROL needs loadBalancerInfo with a target group (targetGroupInfoList).',
    );
  }
  if (style.deploymentType === 'BLUE_GREEN') {
    if (!hasLb)
      throw err(
        'InvalidLoadBalancerInfoException',
        'A BLUE_GREEN deployment group needs loadBalancerInfo: blue/green deployments shift traffic through a load balancer.',
      );
    if (bgc?.greenFleetProvisioningOption?.action === 'COPY_AUTO_SCALING_GROUP' && asgs.length !== 1) {
      // Observed AWS message (aws-semantics 3.2).
      throw err(
        'InvalidBlueGreenDeploymentConfigurationException',
        'Exactly one AutoScaling group must be specified when selecting the COPY_AUTO_SCALING_GROUP green fleet provisioning option',
      );
    }
  }
  return out;
}
