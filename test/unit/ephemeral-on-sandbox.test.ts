/**
 * `stack: ephemeral` on the sandbox goes through the sandbox's CloudFormation with the capstone template, as on
 * AWS: the run's choices (in place or blue/green, instance count, execution mode, blue's termination wait) reach
 * the stack as template parameters or the post-create switch, and close() deletes the stack, leaving nothing.
 */
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { GetPipelineCommand } from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/harness.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { RUN_TAG } from '../../src/stack/names.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
});
afterAll(async () => {
  await sandbox?.stop();
});

/** The stack of the harness's run as CloudFormation lists it (by its run tag). */
async function runStack(harness: Harness) {
  const out = await harness.clients.cloudformation!.send(new DescribeStacksCommand({}));
  return out.Stacks?.find((s) => s.Tags?.some((t) => t.Key === RUN_TAG && t.Value === harness.names?.runId));
}

describe('an ephemeral stack on the sandbox', () => {
  it('is the capstone template through CloudFormation: in place, 3 instances, QUEUED, and deleted by close()', async () => {
    const lines: string[] = [];
    const harness = await Harness.start({ sandbox, log: (line) => lines.push(line) });
    let stackId: string | undefined;
    try {
      const first = await harness.provision({
        deploymentType: 'IN_PLACE',
        instances: 3,
        executionMode: 'QUEUED',
      });
      expect(first.live.live).toBe(true);
      const names = harness.names!;
      const stack = await runStack(harness);
      stackId = stack?.StackId;
      expect(stack).toMatchObject({ StackName: names.prefix, StackStatus: 'CREATE_COMPLETE' });
      expect(stack?.Parameters).toEqual(
        expect.arrayContaining([
          { ParameterKey: 'InstanceCount', ParameterValue: '3' },
          { ParameterKey: 'ExecutionMode', ParameterValue: 'QUEUED' },
        ]),
      );
      const group = await harness.clients.codedeploy.send(
        new GetDeploymentGroupCommand({
          applicationName: names.applicationName,
          deploymentGroupName: names.deploymentGroupName,
        }),
      );
      expect(group.deploymentGroupInfo?.deploymentStyle?.deploymentType).toBe('IN_PLACE');
      const fleet = await harness.clients.autoscaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [names.autoScalingGroupName] }),
      );
      expect(fleet.AutoScalingGroups?.[0]?.DesiredCapacity).toBe(3);
      const pipeline = await harness.clients.codepipeline.send(
        new GetPipelineCommand({ name: names.pipelineName }),
      );
      expect(pipeline.pipeline?.executionMode).toBe('QUEUED');
      // The stack's events went to the run's log, the stack's own last.
      expect(lines).toContain(`stack ${names.prefix} → CREATE_COMPLETE`);
      expect(
        lines.some((l) =>
          / AutoScalingGroup \(AWS::AutoScaling::AutoScalingGroup\) CREATE_COMPLETE$/.test(l),
        ),
      ).toBe(true);
    } finally {
      const closed = await harness.close();
      expect(closed.teardown.failed).toEqual([]);
      expect(closed.teardown.deleted).toContain(`stack ${harness.names?.prefix}`);
      expect(closed.leaks).toEqual({ clean: true, leftovers: [] });
    }
    // By its id, a deleted stack still reads: DELETE_COMPLETE, as on AWS.
    const reader = await Harness.start({ sandbox });
    try {
      const gone = await reader.clients.cloudformation!.send(
        new DescribeStacksCommand({ StackName: stackId }),
      );
      expect(gone.Stacks?.[0]?.StackStatus).toBe('DELETE_COMPLETE');
    } finally {
      await reader.close();
    }
  }, 180_000);

  it("switches the template's in-place group to blue/green after create, blue's termination wait from config", async () => {
    const harness = await Harness.start({ sandbox, config: { deploy: { blueTerminationMinutes: 2 } } });
    try {
      await harness.provision();
      const names = harness.names!;
      const group = await harness.clients.codedeploy.send(
        new GetDeploymentGroupCommand({
          applicationName: names.applicationName,
          deploymentGroupName: names.deploymentGroupName,
        }),
      );
      expect(group.deploymentGroupInfo).toMatchObject({
        deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        blueGreenDeploymentConfiguration: {
          greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
          terminateBlueInstancesOnDeploymentSuccess: { action: 'TERMINATE', terminationWaitTimeInMinutes: 2 },
        },
      });
      // The first release replaced the stack's fleet with blue/green's copy, which is no stack resource.
      const resources = await harness.clients.cloudformation!.send(
        new ListStackResourcesCommand({ StackName: names.prefix }),
      );
      const fleets = await harness.clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({}));
      const stackFleet = resources.StackResourceSummaries?.find(
        (r) => r.LogicalResourceId === 'AutoScalingGroup',
      );
      expect(stackFleet?.PhysicalResourceId).toBe(names.autoScalingGroupName);
      expect(
        fleets.AutoScalingGroups?.map((g) => g.AutoScalingGroupName).filter((n) =>
          n?.startsWith(`CodeDeploy_${names.deploymentGroupName}_`),
        ),
      ).toHaveLength(1);
    } finally {
      const closed = await harness.close();
      // Teardown deleted the run's event channel, then blue/green's copy before the stack, and left nothing.
      const channel = `${harness.names?.prefix}-[0-9a-f]{6}-events \\(run events\\)`;
      expect(closed.teardown.deleted).toEqual([
        expect.stringMatching(new RegExp(`^EventBridge rule ${channel}$`)),
        expect.stringMatching(new RegExp(`^SQS queue ${channel}$`)),
        `blue/green of ${harness.names?.deploymentGroupName} (its CodeDeploy_* fleets)`,
        `stack ${harness.names?.prefix}`,
      ]);
      expect(closed.leaks).toEqual({ clean: true, leftovers: [] });
    }
  }, 180_000);
});
