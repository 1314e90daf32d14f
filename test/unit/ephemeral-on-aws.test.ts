/**
 * `HARNESS_TARGET=aws HARNESS_STACK=ephemeral`: the Harness creates the capstone stack through CloudFormation
 * (aws-sdk-client-mock; no AWS account here), and its close() deletes it and proves by tag that nothing of the
 * run is left, the stack included.
 */
import { readFileSync } from 'node:fs';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { CodeCommitClient, ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import { CodeDeployClient, ListApplicationsCommand } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../../src/harness.ts';
import { StackOperationError } from '../../src/stack/cloudformation/errors.ts';
import { CAPSTONE_TEMPLATE } from '../../src/stack/cloudformation/template.ts';
import { RUN_TAG } from '../../src/stack/names.ts';

const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/cph-r9/5a6b7c8d-0000-11f0-8000-0a1b2c3d4e5f';
const cfn = mockClient(CloudFormationClient);
const codepipeline = mockClient(CodePipelineClient);
const codedeploy = mockClient(CodeDeployClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const autoscaling = mockClient(AutoScalingClient);
const codecommit = mockClient(CodeCommitClient);

let harness: Harness | undefined;
beforeEach(() => {
  cfn.reset();
  codepipeline.reset();
  codedeploy.reset();
  elbv2.reset();
  autoscaling.reset();
  codecommit.reset();
  // An empty account for the leak check.
  codepipeline.on(ListPipelinesCommand).resolves({ pipelines: [] });
  codedeploy.on(ListApplicationsCommand).resolves({ applications: [] });
  elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [] });
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
  autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  codecommit.on(ListRepositoriesCommand).resolves({ repositories: [] });
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function awsEphemeral(): Promise<Harness> {
  return Harness.start({
    env: { HARNESS_TARGET: 'aws', HARNESS_STACK: 'ephemeral', HARNESS_REGION: 'eu-west-1' },
    config: { runId: 'r9', poll: { minIntervalMs: 1, maxIntervalMs: 5 }, timeouts: { stack: '10s' } },
  });
}

const REASON =
  'Resource handler returned message: "Target group name \'cph-r9-tg\' already exists" (HandlerErrorCode: AlreadyExists)';
const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 4, 0, s));
const ev = (logicalId: string, type: string, status: string, s: number, reason?: string): StackEvent => ({
  StackId: STACK_ID,
  StackName: 'cph-r9',
  EventId: `${logicalId}-${status}-${s}`,
  LogicalResourceId: logicalId,
  PhysicalResourceId: type === 'AWS::CloudFormation::Stack' ? STACK_ID : '',
  ResourceType: type,
  ResourceStatus: status as StackEvent['ResourceStatus'],
  Timestamp: at(s),
  ...(reason ? { ResourceStatusReason: reason } : {}),
});

describe('an ephemeral stack on AWS', () => {
  it('is created from the capstone template through CloudFormation; a failed create names its cause, and close() deletes the stack and finds nothing left by tag', async () => {
    const lines: string[] = [];
    const stacks = new Map<string, Stack['StackStatus']>();
    const events: StackEvent[] = [];
    cfn.on(CreateStackCommand).callsFake(() => {
      stacks.set(STACK_ID, 'ROLLBACK_COMPLETE');
      events.push(
        ev('cph-r9', 'AWS::CloudFormation::Stack', 'CREATE_IN_PROGRESS', 1, 'User Initiated'),
        ev('TargetGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'CREATE_FAILED', 2, REASON),
        ev('cph-r9', 'AWS::CloudFormation::Stack', 'ROLLBACK_COMPLETE', 3),
      );
      return { StackId: STACK_ID };
    });
    cfn.on(DescribeStacksCommand).callsFake((input: { StackName?: string }) => {
      const listed = [...stacks].map(([id, status]) => ({
        StackId: id,
        StackName: 'cph-r9',
        StackStatus: status,
        CreationTime: at(0),
        Tags: [{ Key: RUN_TAG, Value: 'r9' }],
      }));
      return {
        Stacks: input.StackName
          ? listed.filter((s) => s.StackId === input.StackName)
          : listed.filter((s) => s.StackStatus !== 'DELETE_COMPLETE'),
      };
    });
    cfn.on(DescribeStackEventsCommand).callsFake(() => ({ StackEvents: [...events].reverse() }));
    cfn.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    cfn.on(DeleteStackCommand).callsFake(() => {
      stacks.set(STACK_ID, 'DELETE_COMPLETE');
      events.push(ev('cph-r9', 'AWS::CloudFormation::Stack', 'DELETE_COMPLETE', 4));
      return {};
    });
    harness = await Harness.start({
      env: { HARNESS_TARGET: 'aws', HARNESS_STACK: 'ephemeral', HARNESS_REGION: 'eu-west-1' },
      config: { runId: 'r9', poll: { minIntervalMs: 1, maxIntervalMs: 5 }, timeouts: { stack: '10s' } },
      log: (line) => lines.push(line),
    });

    const error = await harness.provision().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StackOperationError);
    expect((error as Error).message).toMatch(
      /^stack cph-r9 was not created \(ROLLBACK_COMPLETE\): first failed resource TargetGroup \(AWS::ElasticLoadBalancingV2::TargetGroup\): Resource handler returned message: "Target group name 'cph-r9-tg' already exists"/,
    );
    const create = cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    expect(create.StackName).toBe('cph-r9');
    expect(create.TemplateBody).toBe(readFileSync(CAPSTONE_TEMPLATE, 'utf8'));
    // Its events went to the harness's log as they came.
    expect(lines).toContain(
      `04:00:02 TargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) CREATE_FAILED: ${REASON}`,
    );

    const closed = await harness.close();
    expect(closed.teardown).toEqual({ deleted: ['stack cph-r9'], alreadyGone: [], failed: [] });
    expect(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName)).toEqual([STACK_ID]);
    expect(closed.leaks).toEqual({ clean: true, leftovers: [] });
  });

  it('counts a stack of the run still there as a leak, found by its run tag', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackId: STACK_ID,
          StackName: 'cph-r9',
          StackStatus: 'DELETE_FAILED',
          CreationTime: at(0),
          Tags: [{ Key: RUN_TAG, Value: 'r9' }],
        },
        {
          StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/cph-r99/1',
          StackName: 'cph-r99',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: at(0),
          Tags: [{ Key: RUN_TAG, Value: 'r99' }],
        },
      ],
    });
    harness = await awsEphemeral();
    expect(await harness.checkLeaks()).toEqual({
      clean: false,
      leftovers: [{ kind: 'stack', id: STACK_ID, reason: 'tag' }],
    });
  });
});
