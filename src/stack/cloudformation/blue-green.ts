/**
 * Blue/green for the stack's deployment group, switched on after the stack is created. CloudFormation cannot
 * declare an EC2/auto scaling blue/green group: `AWS::CodeDeploy::DeploymentGroup` does blue/green for Lambda
 * only and refuses `AutoScalingGroups` with it, while CodeDeploy's `COPY_AUTO_SCALING_GROUP` needs exactly one
 * group (reference aws-semantics-cfn-codebuild-logs.md §2.7, cloudformation-coverage-roadmap#37). So the template
 * creates the group in place, complete, and this switches it with `UpdateDeploymentGroup`, as
 * `sample-app/infra/README.md` documents. The switch is drift the stack never sees: ephemeral stacks are created
 * and deleted, never updated.
 */
import { type CodeDeployClient, UpdateDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';

/** Options of {@link switchToBlueGreen}. */
export interface BlueGreenSwitch {
  applicationName: string;
  deploymentGroupName: string;
  /**
   * Minutes blue instances keep running after a successful deployment (then CodeDeploy terminates them).
   * @default 1
   */
  terminationWaitMinutes?: number | undefined;
  /** The blue/green deployment config. @default 'CodeDeployDefault.AllAtOnce' */
  deploymentConfigName?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Switches an in-place deployment group with one auto scaling group and a target group to blue/green:
 * copy the auto scaling group (`CodeDeploy_<group>_<deployment id>`), reroute traffic through the load balancer
 * at once, terminate blue after the wait. The group keeps its fleet, target group and automatic rollback.
 *
 * @example
 * ```ts
 * await switchToBlueGreen(codedeploy, { applicationName: 'cph-r7k2q-app', deploymentGroupName: 'cph-r7k2q-dg' });
 * ```
 */
export async function switchToBlueGreen(
  codedeploy: CodeDeployClient,
  options: BlueGreenSwitch,
): Promise<void> {
  await codedeploy.send(
    new UpdateDeploymentGroupCommand({
      applicationName: options.applicationName,
      currentDeploymentGroupName: options.deploymentGroupName,
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      deploymentConfigName: options.deploymentConfigName ?? 'CodeDeployDefault.AllAtOnce',
      blueGreenDeploymentConfiguration: {
        terminateBlueInstancesOnDeploymentSuccess: {
          action: 'TERMINATE',
          terminationWaitTimeInMinutes: options.terminationWaitMinutes ?? 1,
        },
        deploymentReadyOption: { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
        greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
      },
    }),
    options.signal ? { abortSignal: options.signal } : {},
  );
}
