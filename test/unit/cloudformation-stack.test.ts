/**
 * The ephemeral stack's AWS-only paths, with aws-sdk-client-mock (the sandbox cannot show them): a create that
 * rolls back, its cause in the error; events printed once each, oldest first, across pages; a delete that ends
 * DELETE_FAILED with a retained resource; the teardown's order (blue/green's CodeDeploy_* fleets and the
 * versioned bucket before DeleteStack); a sweep that finds a killed run's stack by its exact run tag.
 */
import {
  AutoScalingClient,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  ListApplicationsCommand,
  ListDeploymentGroupsCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
  UpdateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CodePipelineClient,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { CodeCommitClient, ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLeaks } from '../../src/teardown/leaks.ts';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEphemeralStack } from '../../src/stack/cloudformation/create.ts';
import { StackOperationError } from '../../src/stack/cloudformation/errors.ts';
import { stackLeftovers, sweepRunStacks } from '../../src/stack/cloudformation/sweep.ts';
import { deleteEphemeralStack, type EmptyBucket } from '../../src/stack/cloudformation/teardown.ts';
import { RUN_TAG, stackNames, TEST_TARGET_TAG } from '../../src/stack/names.ts';
import { Ledger } from '../../src/teardown/ledger.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const names = stackNames('r1');
const STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${names.prefix}/1b2c3d4e-0000-11f0-8000-0a1b2c3d4e5f`;
const BUCKET = `${names.prefix}-artifacts-${ACCOUNT}`;
const STACK_ROLE = `arn:aws:iam::${ACCOUNT}:role/cph-cloudformation`;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };

const cfnMock = mockClient(CloudFormationClient);
const pipelineMock = mockClient(CodePipelineClient);
const deployMock = mockClient(CodeDeployClient);
const asgMock = mockClient(AutoScalingClient);
const s3Mock = mockClient(S3Client);
const clients = {
  cloudformation: new CloudFormationClient({ region: REGION, credentials }),
  codepipeline: new CodePipelineClient({ region: REGION, credentials }),
  codedeploy: new CodeDeployClient({ region: REGION, credentials }),
  autoscaling: new AutoScalingClient({ region: REGION, credentials }),
  s3: new S3Client({ region: REGION, credentials }),
};
/** Fast polls: the mocks answer at once. */
const interval = { min: 1, max: 5 };

/** One stack as CloudFormation shows it: a status that moves on each read, and its events. */
class FakeStack {
  statuses: string[];
  reason: string | undefined;
  readonly events: StackEvent[] = [];
  /** Events appended to `events` when the status at that index is first read. */
  readonly eventsAt = new Map<number, StackEvent[]>();
  reads = 0;
  constructor(statuses: string[]) {
    this.statuses = statuses;
  }
  status(): string {
    const i = Math.min(this.reads, this.statuses.length - 1);
    if (this.eventsAt.has(i)) {
      this.events.push(...this.eventsAt.get(i)!);
      this.eventsAt.delete(i);
    }
    this.reads += 1;
    return this.statuses[i]!;
  }
}

let seq = 0;
function event(logicalId: string, type: string, status: string, reason?: string): StackEvent {
  seq += 1;
  const stack = type === 'AWS::CloudFormation::Stack';
  return {
    StackId: STACK_ID,
    StackName: names.prefix,
    EventId: stack
      ? `00000000-0000-0000-0000-${String(seq).padStart(12, '0')}`
      : `${logicalId}-${status}-${seq}`,
    LogicalResourceId: logicalId,
    PhysicalResourceId: stack ? STACK_ID : `${logicalId.toLowerCase()}-physical`,
    ResourceType: type,
    ResourceStatus: status as StackEvent['ResourceStatus'],
    ...(reason ? { ResourceStatusReason: reason } : {}),
    Timestamp: new Date(Date.UTC(2026, 10, 30, 4, 0, seq)),
  };
}
const stackEvent = (status: string, reason?: string) =>
  event(names.prefix, 'AWS::CloudFormation::Stack', status, reason);

/** DescribeStackEvents over a fake stack: newest first, `pageSize` per page, NextToken as AWS pages. */
function serveEvents(stack: FakeStack, pageSize = 3): void {
  cfnMock.on(DescribeStackEventsCommand).callsFake((input: { NextToken?: string }) => {
    const newestFirst = [...stack.events].reverse();
    const from = Number(input.NextToken ?? 0);
    const page = newestFirst.slice(from, from + pageSize);
    return {
      StackEvents: page,
      ...(from + pageSize < newestFirst.length ? { NextToken: String(from + pageSize) } : {}),
    };
  });
}

function serveStack(stack: FakeStack, extra: Record<string, unknown> = {}): void {
  cfnMock.on(DescribeStacksCommand).callsFake(() => ({
    Stacks: [
      {
        StackId: STACK_ID,
        StackName: names.prefix,
        StackStatus: stack.status(),
        StackStatusReason: stack.reason,
        CreationTime: new Date(),
        ...extra,
      },
    ],
  }));
  serveEvents(stack);
}

const OUTPUTS = Object.entries({
  PipelineName: names.pipelineName,
  ApplicationName: names.applicationName,
  DeploymentGroupName: names.deploymentGroupName,
  DeploymentGroupArn: `arn:aws:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:${names.applicationName}/${names.deploymentGroupName}`,
  LoadBalancerName: names.loadBalancerName,
  LoadBalancerArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/${names.loadBalancerName}/50dc6c495c0c9188`,
  LoadBalancerDnsName: `${names.loadBalancerName}-1234567890.${REGION}.elb.amazonaws.com`,
  ListenerArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/${names.loadBalancerName}/50dc6c495c0c9188/f2f7dc8efc522ab2`,
  TargetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${names.targetGroupName}/73e2d6bc24d8a067`,
  TargetGroupName: names.targetGroupName,
  AutoScalingGroupName: names.autoScalingGroupName,
  RepositoryCloneUrlHttp: `https://git-codecommit.${REGION}.amazonaws.com/v1/repos/${names.repositoryName}`,
  RepositoryName: names.repositoryName,
  BuildProjectName: names.buildProjectName,
  ArtifactBucketName: BUCKET,
}).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

/** Every AWS command the tests made the harness send, as IAM names it (`cloudformation:CreateStack`). */
const sent = new Set<string>();
const IAM_PREFIX = new Map<unknown, string>([
  [cfnMock, 'cloudformation'],
  [pipelineMock, 'codepipeline'],
  [deployMock, 'codedeploy'],
  [asgMock, 'autoscaling'],
  [s3Mock, 's3'],
]);
/** Where an IAM action is not the operation's name (S3's versioned listing and batch delete). */
const IAM_ACTION: Record<string, string> = {
  's3:ListObjectVersions': 's3:ListBucketVersions',
  's3:DeleteObjects': 's3:DeleteObjectVersion',
};
function recordSent(): void {
  for (const [mock, prefix] of IAM_PREFIX) {
    for (const call of (mock as typeof cfnMock).calls()) {
      const action = `${prefix}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`;
      sent.add(IAM_ACTION[action] ?? action);
    }
  }
}

beforeEach(() => {
  recordSent();
  for (const mock of [cfnMock, pipelineMock, deployMock, asgMock, s3Mock]) mock.reset();
  seq = 0;
});

describe('creating the ephemeral stack through CloudFormation', () => {
  it('fails with the first failed resource, its type and its reason, once the rollback is over; the stack stays in the ledger', async () => {
    const stack = new FakeStack([
      'CREATE_IN_PROGRESS',
      'CREATE_IN_PROGRESS',
      'ROLLBACK_IN_PROGRESS',
      'ROLLBACK_COMPLETE',
    ]);
    const signals =
      'Received 0 SUCCESS signal(s) out of 2.  Unable to satisfy 100% MinSuccessfulInstancesPercent requirement';
    stack.eventsAt.set(0, [
      stackEvent('CREATE_IN_PROGRESS', 'User Initiated'),
      event('Vpc', 'AWS::EC2::VPC', 'CREATE_IN_PROGRESS'),
      event('Vpc', 'AWS::EC2::VPC', 'CREATE_COMPLETE'),
    ]);
    stack.eventsAt.set(2, [
      event('AutoScalingGroup', 'AWS::AutoScaling::AutoScalingGroup', 'CREATE_FAILED', signals),
      event('Pipeline', 'AWS::CodePipeline::Pipeline', 'CREATE_FAILED', 'Resource creation cancelled'),
      stackEvent(
        'ROLLBACK_IN_PROGRESS',
        'The following resource(s) failed to create: [AutoScalingGroup, Pipeline]. Rollback requested by user.',
      ),
    ]);
    stack.eventsAt.set(3, [
      event('Vpc', 'AWS::EC2::VPC', 'DELETE_COMPLETE'),
      stackEvent('ROLLBACK_COMPLETE'),
    ]);
    cfnMock.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    serveStack(stack);
    const ledger = new Ledger();
    const lines: string[] = [];

    const error = await createEphemeralStack({
      clients,
      ledger,
      names,
      timeout: 10_000,
      interval,
      templateBody: 'Resources: {}',
      log: (line) => lines.push(line),
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StackOperationError);
    expect((error as StackOperationError).message).toBe(
      `stack cph-r1 was not created (ROLLBACK_COMPLETE): first failed resource AutoScalingGroup ` +
        `(AWS::AutoScaling::AutoScalingGroup): ${signals}; teardown deletes what is left of it`,
    );
    expect((error as StackOperationError).failures.map((f) => f.logicalId)).toEqual(['AutoScalingGroup']);
    expect(lines).toContain(
      `stack cph-r1 is rolling back (AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup): ${signals}); waiting for the rollback to end`,
    );
    // In the ledger before the first wait, so teardown deletes what the rollback left.
    expect(ledger.entries.map((e) => `${e.kind} ${e.id}`)).toEqual([`stack ${STACK_ID}`]);
    const create = cfnMock.commandCalls(CreateStackCommand)[0]!.args[0].input;
    expect(create.Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
    expect(create.Tags).toEqual([
      { Key: RUN_TAG, Value: 'r1' },
      { Key: TEST_TARGET_TAG, Value: 'true' },
    ]);
    expect(create.Parameters).toContainEqual({ ParameterKey: 'RunId', ParameterValue: 'r1' });
  });

  it('prints each stack event once (resources when they complete), oldest first, as it happens, across DescribeStackEvents pages', async () => {
    const stack = new FakeStack([
      'CREATE_IN_PROGRESS',
      'CREATE_IN_PROGRESS',
      'CREATE_IN_PROGRESS',
      'CREATE_COMPLETE',
    ]);
    const all = [
      stackEvent('CREATE_IN_PROGRESS', 'User Initiated'),
      event('Vpc', 'AWS::EC2::VPC', 'CREATE_IN_PROGRESS'),
      event('Vpc', 'AWS::EC2::VPC', 'CREATE_IN_PROGRESS', 'Resource creation Initiated'),
      event('Vpc', 'AWS::EC2::VPC', 'CREATE_COMPLETE'),
      event('ArtifactBucket', 'AWS::S3::Bucket', 'CREATE_IN_PROGRESS'),
      event('ArtifactBucket', 'AWS::S3::Bucket', 'CREATE_COMPLETE'),
      event('LoadBalancer', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'CREATE_IN_PROGRESS'),
      event('LoadBalancer', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'CREATE_COMPLETE'),
      stackEvent('CREATE_COMPLETE'),
    ];
    // Two events land before the first read, five (more than a page) between two reads, two at the end.
    stack.eventsAt.set(0, all.slice(0, 2));
    stack.eventsAt.set(2, all.slice(2, 7));
    stack.eventsAt.set(3, all.slice(7));
    cfnMock.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    serveStack(stack, { Outputs: OUTPUTS });
    deployMock.on(UpdateDeploymentGroupCommand).resolves({});
    const lines: string[] = [];

    const created = await createEphemeralStack({
      clients,
      ledger: new Ledger(),
      names,
      timeout: 10_000,
      interval,
      templateBody: 'Resources: {}',
      roleArn: STACK_ROLE,
      log: (line) => lines.push(line),
    });
    // CloudFormation acts as the stack role, which the harness may pass (iam/ephemeral-stack-policy.json).
    expect(cfnMock.commandCalls(CreateStackCommand)[0]!.args[0].input.RoleARN).toBe(STACK_ROLE);

    const printed = lines.filter((l) => /^\d\d:\d\d:\d\d /.test(l)).map((l) => l.slice(9));
    // A resource's IN_PROGRESS events are not printed (its COMPLETE line follows); the stack's own are.
    expect(printed).toEqual([
      'cph-r1 (AWS::CloudFormation::Stack) CREATE_IN_PROGRESS: User Initiated',
      'Vpc (AWS::EC2::VPC) CREATE_COMPLETE',
      'ArtifactBucket (AWS::S3::Bucket) CREATE_COMPLETE',
      'LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_COMPLETE',
      'cph-r1 (AWS::CloudFormation::Stack) CREATE_COMPLETE',
    ]);
    // The outputs are the harness's description of its stack.
    expect(created.repositoryUrl).toBe(`https://git-codecommit.${REGION}.amazonaws.com/v1/repos/cph-r1-repo`);
    expect(created.loadBalancerDns).toBe(`cph-r1-alb-1234567890.${REGION}.elb.amazonaws.com`);
    expect(created.names.pipelineName).toBe('cph-r1-pipeline');
    expect(created.artifactBucket).toBe(BUCKET);
    // Blue/green by default: the in-place group of the template switched after create.
    const update = deployMock.commandCalls(UpdateDeploymentGroupCommand)[0]!.args[0].input;
    expect(update).toMatchObject({
      currentDeploymentGroupName: 'cph-r1-dg',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      blueGreenDeploymentConfiguration: {
        greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
        terminateBlueInstancesOnDeploymentSuccess: { action: 'TERMINATE', terminationWaitTimeInMinutes: 1 },
      },
    });
  });
});

/** A CREATE_COMPLETE stack with a pipeline, a blue/green group and a bucket, whose delete ends as `ends`. */
function deletableStack(ends: StackEvent[][], finalStatuses: string[], onDelete = () => {}): FakeStack {
  const stack = new FakeStack(['CREATE_COMPLETE']);
  stack.events.push(stackEvent('CREATE_IN_PROGRESS', 'User Initiated'), stackEvent('CREATE_COMPLETE'));
  serveStack(stack);
  cfnMock.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      ['Pipeline', 'AWS::CodePipeline::Pipeline', names.pipelineName],
      ['CodeDeployApplication', 'AWS::CodeDeploy::Application', names.applicationName],
      ['DeploymentGroup', 'AWS::CodeDeploy::DeploymentGroup', names.deploymentGroupName],
      ['AutoScalingGroup', 'AWS::AutoScaling::AutoScalingGroup', names.autoScalingGroupName],
      ['ArtifactBucket', 'AWS::S3::Bucket', BUCKET],
    ].map(([LogicalResourceId, ResourceType, PhysicalResourceId]) => ({
      LogicalResourceId,
      ResourceType,
      PhysicalResourceId,
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
    })),
  });
  cfnMock.on(DeleteStackCommand).callsFake(() => {
    onDelete();
    stack.statuses = ['CREATE_COMPLETE', ...finalStatuses];
    stack.reads = 1;
    for (const [i, events] of ends.entries()) stack.eventsAt.set(i + 1, events);
    return {};
  });
  return stack;
}

describe('deleting the ephemeral stack', () => {
  it('names every resource DELETE_FAILED left and why, and the retained one', async () => {
    const notEmpty =
      'The bucket you tried to delete is not empty (Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty)';
    deletableStack(
      [
        [
          stackEvent('DELETE_IN_PROGRESS', 'User Initiated'),
          event('Pipeline', 'AWS::CodePipeline::Pipeline', 'DELETE_COMPLETE'),
          event('BuildLogGroup', 'AWS::Logs::LogGroup', 'DELETE_SKIPPED'),
          event('ArtifactBucket', 'AWS::S3::Bucket', 'DELETE_FAILED', notEmpty),
        ],
        [stackEvent('DELETE_FAILED', 'The following resource(s) failed to delete: [ArtifactBucket]. ')],
      ],
      ['DELETE_IN_PROGRESS', 'DELETE_FAILED'],
    );
    pipelineMock.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [] });
    deployMock.on(ListDeploymentsCommand).resolves({ deployments: [] });
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const emptyBucket: EmptyBucket = async () => undefined;

    const error = await deleteEphemeralStack(clients, {
      stackId: STACK_ID,
      stackName: names.prefix,
      timeout: 10_000,
      interval,
      emptyBucket,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StackOperationError);
    expect((error as Error).message).toBe(
      `stack cph-r1 was not deleted (DELETE_FAILED): 1 resource(s) could not be deleted: ArtifactBucket ` +
        `(AWS::S3::Bucket): ${notEmpty}; retained (left in the account): BuildLogGroup (AWS::Logs::LogGroup); ` +
        'fix the cause and run `codepipeline-harness sweep --run <id>` again (DeleteStack retries the failed resources)',
    );
    expect((error as StackOperationError).failures.map((f) => `${f.logicalId} ${f.status}`)).toEqual([
      'ArtifactBucket DELETE_FAILED',
      'BuildLogGroup DELETE_SKIPPED',
    ]);
  });

  it("stops what runs, deletes blue/green's CodeDeploy_* fleets and empties the versioned bucket, all before DeleteStack", async () => {
    const order: string[] = [];
    deletableStack(
      [
        [
          stackEvent('DELETE_IN_PROGRESS', 'User Initiated'),
          event('Pipeline', 'AWS::CodePipeline::Pipeline', 'DELETE_COMPLETE'),
        ],
        [stackEvent('DELETE_COMPLETE')],
      ],
      ['DELETE_IN_PROGRESS', 'DELETE_COMPLETE'],
      () => order.push('DeleteStack'),
    );
    pipelineMock.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [
        { pipelineExecutionId: 'e-open', status: 'InProgress' },
        { pipelineExecutionId: 'e-done', status: 'Succeeded' },
      ],
    });
    pipelineMock
      .on(StopPipelineExecutionCommand)
      .callsFake((input: { pipelineExecutionId: string; abandon: boolean }) => {
        order.push(`StopPipelineExecution ${input.pipelineExecutionId} abandon=${input.abandon}`);
        return { pipelineExecutionId: input.pipelineExecutionId };
      });
    let running = ['d-GREEN0001'];
    deployMock.on(ListDeploymentsCommand).callsFake(() => ({ deployments: running }));
    deployMock
      .on(StopDeploymentCommand)
      .callsFake((input: { deploymentId: string; autoRollbackEnabled: boolean }) => {
        order.push(`StopDeployment ${input.deploymentId} rollback=${input.autoRollbackEnabled}`);
        running = [];
        return { status: 'Pending' };
      });
    deployMock.on(GetDeploymentCommand).resolves({ deploymentInfo: { status: 'Stopped' } });
    const copy = `CodeDeploy_${names.deploymentGroupName}_d-GREEN0001`;
    let fleets = [
      { AutoScalingGroupName: copy, Instances: [{ InstanceId: 'i-0a' }, { InstanceId: 'i-0b' }] },
      { AutoScalingGroupName: 'CodeDeploy_other-dg_d-OTHER0001', Instances: [] },
      { AutoScalingGroupName: 'team-asg', Instances: [] },
    ];
    let deleting = 0;
    asgMock
      .on(DeleteAutoScalingGroupCommand)
      .callsFake((input: { AutoScalingGroupName: string; ForceDelete: boolean }) => {
        order.push(`DeleteAutoScalingGroup ${input.AutoScalingGroupName} force=${input.ForceDelete}`);
        deleting = 1;
        return {};
      });
    asgMock.on(DescribeAutoScalingGroupsCommand).callsFake(() => {
      // The copy shows "Delete in progress" for two reads after its delete, then is gone.
      if (deleting && ++deleting > 3) fleets = fleets.filter((f) => f.AutoScalingGroupName !== copy);
      order.push(`fleets: ${fleets.filter((f) => f.AutoScalingGroupName === copy).length}`);
      return {
        AutoScalingGroups: fleets.map((f) => ({
          ...f,
          MinSize: 0,
          MaxSize: 0,
          DesiredCapacity: 0,
          DefaultCooldown: 300,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(),
          ...(deleting && f.AutoScalingGroupName === copy ? { Status: 'Delete in progress' } : {}),
        })),
      };
    });
    // A versioned bucket: two versions of one artifact and a delete marker.
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: 'cph-r1-pipeline/SourceArti/abc.zip', VersionId: 'v2' },
        { Key: 'cph-r1-pipeline/SourceArti/abc.zip', VersionId: 'v1' },
      ],
      DeleteMarkers: [{ Key: 'cph-r1-pipeline/BuildArtif/def.zip', VersionId: 'dm1' }],
      IsTruncated: false,
    });
    s3Mock
      .on(DeleteObjectsCommand)
      .callsFake((input: { Bucket: string; Delete: { Objects: { Key: string; VersionId: string }[] } }) => {
        order.push(`DeleteObjects ${input.Bucket} ${input.Delete.Objects.map((o) => o.VersionId).join(',')}`);
        return { Deleted: input.Delete.Objects };
      });
    const emptyBucket: EmptyBucket = async (s3, bucket) => {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key!,
        VersionId: v.VersionId!,
      }));
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    };
    const lines: string[] = [];

    const report = await deleteEphemeralStack(clients, {
      stackId: STACK_ID,
      stackName: names.prefix,
      timeout: 10_000,
      interval,
      emptyBucket,
      log: (line) => lines.push(line),
    });

    expect(report.status).toBe('DELETE_COMPLETE');
    const steps = order.filter((o) => !o.startsWith('fleets'));
    expect(steps).toEqual([
      'StopPipelineExecution e-open abandon=true',
      'StopDeployment d-GREEN0001 rollback=false',
      `DeleteAutoScalingGroup ${copy} force=true`,
      `DeleteObjects ${BUCKET} v2,v1,dm1`,
      'DeleteStack',
    ]);
    // DeleteStack only once the copy (and its instances) was gone, not just asked to go.
    const lastFleetRead = order.lastIndexOf('fleets: 0');
    expect(order.indexOf('fleets: 0')).toBeGreaterThan(
      order.indexOf(`DeleteAutoScalingGroup ${copy} force=true`),
    );
    expect(lastFleetRead).toBeLessThan(order.indexOf('DeleteStack'));
    expect(report.done.at(-1)).toBe('deleted stack cph-r1');
    expect(lines).toContain('stack cph-r1 → DELETE_COMPLETE');
  });
});

describe('deleting a stack still rolling back', () => {
  it('waits for the rollback to end before DeleteStack', async () => {
    const order: string[] = [];
    const stack = new FakeStack(['ROLLBACK_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE']);
    cfnMock.on(DescribeStacksCommand).callsFake(() => {
      const status = stack.status();
      order.push(status);
      return {
        Stacks: [
          { StackId: STACK_ID, StackName: names.prefix, StackStatus: status, CreationTime: new Date() },
        ],
      };
    });
    serveEvents(stack);
    cfnMock.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    cfnMock.on(DeleteStackCommand).callsFake(() => {
      order.push('DeleteStack');
      stack.statuses = ['DELETE_COMPLETE'];
      stack.reads = 0;
      return {};
    });

    await deleteEphemeralStack(clients, {
      stackId: STACK_ID,
      stackName: names.prefix,
      timeout: 10_000,
      interval,
    });

    expect(order.slice(0, order.indexOf('DeleteStack') + 1)).toEqual([
      'ROLLBACK_IN_PROGRESS',
      'ROLLBACK_IN_PROGRESS',
      'ROLLBACK_COMPLETE',
      'DeleteStack',
    ]);
  });
});

describe('sweep of a killed run', () => {
  it('finds the run stack by its exact run tag, not by a prefix of it, and deletes it', async () => {
    const stacks = [
      ['cph-r1', 'r1', 'CREATE_COMPLETE'],
      ['cph-r12', 'r12', 'CREATE_COMPLETE'],
      ['cph-r1-old', 'r1', 'DELETE_COMPLETE'],
      ['team-stack', undefined, 'UPDATE_COMPLETE'],
    ].map(([name, run, status]) => ({
      StackName: name!,
      StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/id`,
      StackStatus: status as 'CREATE_COMPLETE',
      CreationTime: new Date(),
      Tags: run ? [{ Key: RUN_TAG, Value: run }] : [],
    }));
    const deleted: string[] = [];
    cfnMock.on(DescribeStacksCommand).callsFake((input: { StackName?: string; NextToken?: string }) => {
      if (!input.StackName) {
        // Two pages, as DescribeStacks pages a long list.
        return input.NextToken
          ? { Stacks: stacks.slice(2) }
          : { Stacks: stacks.slice(0, 2), NextToken: 'p2' };
      }
      const stack = stacks.find((s) => s.StackId === input.StackName)!;
      return {
        Stacks: [
          { ...stack, StackStatus: deleted.includes(stack.StackId) ? 'DELETE_COMPLETE' : stack.StackStatus },
        ],
      };
    });
    cfnMock.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfnMock.on(DeleteStackCommand).callsFake((input: { StackName: string }) => {
      deleted.push(input.StackName);
      return {};
    });

    const report = await sweepRunStacks(clients, 'r1', { timeout: 10_000, interval });

    expect(report).toEqual({ found: ['cph-r1'], deleted: ['cph-r1'], failed: [] });
    expect(deleted).toEqual([`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/cph-r1/id`]);
  });
});

// Last: what every test above sent, and the leak check's listings, against the shipped policy.
describe('the shipped IAM policy for ephemeral stacks (iam/ephemeral-stack-policy.json)', () => {
  it('allows every command of the create, blue/green, teardown, sweep and leak-check paths, and every one of a release', async () => {
    const elbv2 = mockClient(ElasticLoadBalancingV2Client);
    const codecommit = mockClient(CodeCommitClient);
    pipelineMock.on(ListPipelinesCommand).resolves({ pipelines: [] });
    deployMock.on(ListApplicationsCommand).resolves({ applications: [names.applicationName] });
    deployMock.on(ListDeploymentGroupsCommand).resolves({ deploymentGroups: [] });
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [] });
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    codecommit.on(ListRepositoriesCommand).resolves({ repositories: [] });
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [] });
    const harnessClients = {
      ...clients,
      elbv2: new ElasticLoadBalancingV2Client({ region: REGION, credentials }),
      codecommit: new CodeCommitClient({ region: REGION, credentials }),
    };
    await checkLeaks(harnessClients, { key: RUN_TAG, value: 'r1' }, { namePrefix: `${names.prefix}-` });
    await stackLeftovers(clients.cloudformation, 'r1');
    recordSent();
    for (const call of elbv2.calls())
      sent.add(`elasticloadbalancing:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`);
    for (const call of codecommit.calls())
      sent.add(`codecommit:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`);
    elbv2.restore();
    codecommit.restore();

    const read = (file: string) =>
      JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'iam', file), 'utf8')) as {
        Statement: { Effect: string; Action: string[] }[];
      };
    const allowed = new Set(
      read('ephemeral-stack-policy.json')
        .Statement.filter((st) => st.Effect === 'Allow')
        .flatMap((st) => st.Action),
    );
    expect([...sent].filter((action) => !allowed.has(action)).sort()).toEqual([]);
    expect(sent.size).toBeGreaterThan(15);
    // A release on the run's stack sends what a release on an existing stack does (proven against that policy by
    // test/e2e/existing-stack.test.ts): all of it is allowed here too, on the run's own names.
    const release = read('existing-stack-policy.json').Statement.flatMap((st) => st.Action);
    expect(release.filter((action) => !allowed.has(action)).sort()).toEqual([]);
    // CloudFormation may act as the stack role: the harness can pass it, to CloudFormation only.
    expect(allowed.has('iam:PassRole')).toBe(true);
  });
});
