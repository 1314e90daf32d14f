/**
 * `SandboxStack`: the sample stack of DESIGN.md §1 created on the sandbox through the AWS APIs, exactly
 * as a team would create it on AWS: a CodeCommit repository, a target group, an ALB with an HTTP listener,
 * an auto scaling group of instances, a CodeDeploy application with a blue/green (or in-place) deployment
 * group, and the four-stage pipeline. Every resource goes into the ledger with its delete action, in
 * creation order, so teardown runs in reverse.
 */
import {
  type CodeCommitClient,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetRepositoryCommand,
} from '@aws-sdk/client-codecommit';
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateApplicationCommand,
  CreateDeploymentGroupCommand,
  DeleteApplicationCommand,
  DeleteDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CreatePipelineCommand,
  DeletePipelineCommand,
  type PipelineDeclaration,
} from '@aws-sdk/client-codepipeline';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HarnessClients } from '../aws/clients.ts';
import { RUN_TAG, type StackNames, TEST_TARGET_TAG } from './names.ts';

/** Where teardown entries go; `teardown/Ledger` implements it. */
export interface LedgerLike {
  add(entry: { kind: string; id: string; delete: () => Promise<void>; describe?: string }): void;
}

/** Options of {@link createSandboxStack}. */
export interface SandboxStackOptions {
  /** Clients on the sandbox endpoint (`createClients`), CodeCommit's included. */
  clients: HarnessClients & { codecommit: CodeCommitClient };
  ledger: LedgerLike;
  names: StackNames;
  /** @default 'BLUE_GREEN' */
  deploymentType?: 'BLUE_GREEN' | 'IN_PLACE';
  /** In-place deployment config. @default 'CodeDeployDefault.OneAtATime' */
  deploymentConfigName?: string;
  /** @default 'SUPERSEDED' */
  executionMode?: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL';
  /** Instances in the auto scaling group. @default 2 */
  instances?: number;
  /** Minutes before blue instances are terminated after a blue/green success (scaled by the sandbox). @default 1 */
  blueTerminationMinutes?: number;
}

/** What was created: the names plus what only exists once created. */
export interface SandboxStack {
  readonly names: StackNames;
  readonly repositoryUrl: string;
  readonly loadBalancerArn: string;
  readonly loadBalancerDns: string;
  readonly targetGroupArn: string;
  readonly listenerArn: string;
  readonly deploymentType: 'BLUE_GREEN' | 'IN_PLACE';
  /** Instances serving behind the load balancer (the auto scaling group's size). */
  readonly instances: number;
}

const ACCOUNT = '000000000000';
const TAG = (runId: string) => [
  { key: RUN_TAG, value: runId },
  { key: TEST_TARGET_TAG, value: 'true' },
];

/**
 * Creates the sample stack on the sandbox. Resources are registered in `ledger` as soon as each exists,
 * so a failure half-way still tears down what was made.
 *
 * @example
 * ```ts
 * const stack = await createSandboxStack({ clients, ledger, names: stackNames(runId) });
 * await pushVersionBump({ repoUrl: stack.repositoryUrl, ... });
 * ```
 */
export async function createSandboxStack(options: SandboxStackOptions): Promise<SandboxStack> {
  const { clients, ledger, names } = options;
  const deploymentType = options.deploymentType ?? 'BLUE_GREEN';
  const tags = TAG(names.runId);
  /** ELBv2, AutoScaling and CodeDeploy spell tags `{Key, Value}`; CodePipeline `{key, value}`. */
  const elbTags = tags.map((t) => ({ Key: t.key, Value: t.value }));

  const { codecommit } = clients;

  // Source repository.
  const repo = await codecommit.send(
    new CreateRepositoryCommand({
      repositoryName: names.repositoryName,
      repositoryDescription: `codepipeline-harness run ${names.runId}`,
      tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    }),
  );
  ledger.add({
    kind: 'repository',
    id: names.repositoryName,
    delete: async () => {
      await codecommit.send(new DeleteRepositoryCommand({ repositoryName: names.repositoryName }));
    },
  });
  const repositoryUrl =
    repo.repositoryMetadata?.cloneUrlHttp ??
    (await codecommit.send(new GetRepositoryCommand({ repositoryName: names.repositoryName })))
      .repositoryMetadata?.cloneUrlHttp;
  if (!repositoryUrl) throw new Error(`CreateRepository ${names.repositoryName} returned no cloneUrlHttp`);

  // Target group: the app's health check, short thresholds (the sandbox scales the intervals).
  const tg = await clients.elbv2.send(
    new CreateTargetGroupCommand({
      Name: names.targetGroupName,
      Protocol: 'HTTP',
      Port: 80,
      VpcId: 'vpc-0sandbox00000000',
      TargetType: 'instance',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      Tags: elbTags,
    }),
  );
  const targetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn;
  if (!targetGroupArn) throw new Error(`CreateTargetGroup ${names.targetGroupName} returned no ARN`);
  ledger.add({
    kind: 'target-group',
    id: targetGroupArn,
    delete: async () => {
      await clients.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn }));
    },
  });
  await clients.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: targetGroupArn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
    }),
  );

  // Load balancer and its HTTP listener.
  const lb = await clients.elbv2.send(
    new CreateLoadBalancerCommand({
      Name: names.loadBalancerName,
      Type: 'application',
      Scheme: 'internet-facing',
      Subnets: ['subnet-0sandbox0000000a', 'subnet-0sandbox0000000b'],
      Tags: elbTags,
    }),
  );
  const loadBalancer = lb.LoadBalancers?.[0];
  if (!loadBalancer?.LoadBalancerArn || !loadBalancer.DNSName) {
    throw new Error(`CreateLoadBalancer ${names.loadBalancerName} returned no ARN or DNS name`);
  }
  const loadBalancerArn = loadBalancer.LoadBalancerArn;
  ledger.add({
    kind: 'load-balancer',
    id: loadBalancerArn,
    delete: async () => {
      await clients.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancerArn }));
    },
  });
  const listener = await clients.elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  const listenerArn = listener.Listeners?.[0]?.ListenerArn;
  if (!listenerArn) throw new Error(`CreateListener on ${names.loadBalancerName} returned no ARN`);
  ledger.add({
    kind: 'listener',
    id: listenerArn,
    delete: async () => {
      await clients.elbv2
        .send(new DeleteListenerCommand({ ListenerArn: listenerArn }))
        .catch(ignore('ListenerNotFound'));
    },
  });

  // The fleet. In-place deployments need the instances in the target group from the start; blue/green
  // registers the green copy itself.
  const instances = options.instances ?? 2;
  await clients.autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: names.autoScalingGroupName,
      LaunchConfigurationName: `${names.prefix}-lc`,
      MinSize: instances,
      MaxSize: instances,
      DesiredCapacity: instances,
      ...(deploymentType === 'IN_PLACE' ? { TargetGroupARNs: [targetGroupArn] } : {}),
      Tags: tags.map((t) => ({ Key: t.key, Value: t.value, PropagateAtLaunch: true })),
    }),
  );
  ledger.add({
    kind: 'auto-scaling-group',
    id: names.autoScalingGroupName,
    delete: () => deleteGroupsOf(clients, names),
  });

  // CodeDeploy application and deployment group.
  await clients.codedeploy.send(
    new CreateApplicationCommand({
      applicationName: names.applicationName,
      computePlatform: 'Server',
      tags: elbTags,
    }),
  );
  ledger.add({
    kind: 'application',
    id: names.applicationName,
    delete: async () => {
      await clients.codedeploy.send(new DeleteApplicationCommand({ applicationName: names.applicationName }));
    },
  });
  const blueGreen = deploymentType === 'BLUE_GREEN';
  await clients.codedeploy.send(
    new CreateDeploymentGroupCommand({
      applicationName: names.applicationName,
      deploymentGroupName: names.deploymentGroupName,
      serviceRoleArn: `arn:aws:iam::${ACCOUNT}:role/${names.prefix}-codedeploy`,
      deploymentConfigName: blueGreen
        ? 'CodeDeployDefault.AllAtOnce'
        : (options.deploymentConfigName ?? 'CodeDeployDefault.OneAtATime'),
      autoScalingGroups: [names.autoScalingGroupName],
      deploymentStyle: {
        deploymentType,
        deploymentOption: 'WITH_TRAFFIC_CONTROL',
      },
      loadBalancerInfo: { targetGroupInfoList: [{ name: names.targetGroupName }] },
      autoRollbackConfiguration: {
        enabled: true,
        events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      },
      ...(blueGreen
        ? {
            blueGreenDeploymentConfiguration: {
              terminateBlueInstancesOnDeploymentSuccess: {
                action: 'TERMINATE',
                terminationWaitTimeInMinutes: options.blueTerminationMinutes ?? 1,
              },
              deploymentReadyOption: { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
              greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
            },
          }
        : {}),
      tags: elbTags,
    }),
  );
  ledger.add({
    kind: 'deployment-group',
    id: names.deploymentGroupName,
    delete: async () => {
      await clients.codedeploy.send(
        new DeleteDeploymentGroupCommand({
          applicationName: names.applicationName,
          deploymentGroupName: names.deploymentGroupName,
        }),
      );
    },
  });

  // The pipeline: Source → BuildAndTest → Approval → Deploy.
  await clients.codepipeline.send(
    new CreatePipelineCommand({
      pipeline: pipelineDeclaration(names, options.executionMode ?? 'SUPERSEDED'),
      tags,
    }),
  );
  ledger.add({
    kind: 'pipeline',
    id: names.pipelineName,
    delete: async () => {
      await clients.codepipeline.send(new DeletePipelineCommand({ name: names.pipelineName }));
    },
  });

  return {
    names,
    repositoryUrl,
    loadBalancerArn,
    loadBalancerDns: loadBalancer.DNSName,
    targetGroupArn,
    listenerArn,
    deploymentType,
    instances,
  };
}

/** The four-stage pipeline of the runbook, named for this run. */
export function pipelineDeclaration(
  names: StackNames,
  executionMode: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL',
): PipelineDeclaration {
  return {
    name: names.pipelineName,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${names.prefix}-codepipeline`,
    artifactStore: { type: 'S3', location: `${names.prefix}-artifacts` },
    pipelineType: 'V2',
    executionMode,
    stages: [
      {
        name: 'Source',
        actions: [
          {
            name: 'Source',
            actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
            configuration: {
              RepositoryName: names.repositoryName,
              BranchName: 'main',
              PollForSourceChanges: 'false',
            },
            outputArtifacts: [{ name: 'SourceArtifact' }],
          },
        ],
      },
      {
        name: 'BuildAndTest',
        actions: [
          {
            name: 'BuildAndTest',
            actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            configuration: { ProjectName: names.buildProjectName },
            inputArtifacts: [{ name: 'SourceArtifact' }],
            outputArtifacts: [{ name: 'BuildArtifact' }],
          },
        ],
      },
      {
        name: 'Approval',
        actions: [
          {
            name: 'ManualApproval',
            actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
            configuration: { CustomData: `Release of run ${names.runId}` },
          },
        ],
      },
      {
        name: 'Deploy',
        actions: [
          {
            name: 'Deploy',
            actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
            configuration: {
              ApplicationName: names.applicationName,
              DeploymentGroupName: names.deploymentGroupName,
            },
            inputArtifacts: [{ name: 'BuildArtifact' }],
          },
        ],
      },
    ],
  };
}

/**
 * Deletes the run's auto scaling group and every `CodeDeploy_<dg>_*` copy blue/green made of it
 * (ForceDelete ends their instances).
 */
async function deleteGroupsOf(clients: HarnessClients, names: StackNames): Promise<void> {
  const groups = await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({}));
  const ours = (groups.AutoScalingGroups ?? [])
    .map((g) => g.AutoScalingGroupName ?? '')
    .filter(
      (n) => n === names.autoScalingGroupName || n.startsWith(`CodeDeploy_${names.deploymentGroupName}_`),
    );
  for (const name of ours) {
    await clients.autoscaling.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }),
    );
  }
}

function ignore(code: string) {
  return (error: unknown) => {
    if ((error as { name?: string }).name?.startsWith(code)) return undefined;
    throw error;
  };
}
