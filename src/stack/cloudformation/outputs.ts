/**
 * The stack's outputs read into the harness's description of its stack: the names it works with (pipeline,
 * application, deployment group, load balancer, ...), the ARNs, the clone URL and the load balancer's DNS name.
 * The outputs are the template's contract (`sample-app/infra/README.md`, "Outputs → harness settings").
 */
import type { Output } from '@aws-sdk/client-cloudformation';
import { HarnessError } from '../../errors.ts';
import type { StackNames } from '../names.ts';
import type { ProvisionedStack } from '../stack.ts';

/** A stack created from the capstone template: what the harness needs of it, from its outputs. */
export interface EphemeralStack extends ProvisionedStack {
  /** The stack's ARN: the only way to read it once deleted. */
  readonly stackId: string;
  readonly stackName: string;
  readonly deploymentGroupArn: string;
  /** The versioned artifact bucket (emptied before the stack is deleted). */
  readonly artifactBucket: string;
  /** Every output, by key. */
  readonly outputs: Readonly<Record<string, string>>;
}

const REQUIRED = [
  'PipelineName',
  'ApplicationName',
  'DeploymentGroupName',
  'DeploymentGroupArn',
  'LoadBalancerName',
  'LoadBalancerArn',
  'LoadBalancerDnsName',
  'ListenerArn',
  'TargetGroupArn',
  'TargetGroupName',
  'AutoScalingGroupName',
  'RepositoryCloneUrlHttp',
  'RepositoryName',
  'BuildProjectName',
  'ArtifactBucketName',
] as const;

/**
 * Reads the outputs of a `CREATE_COMPLETE` capstone stack.
 *
 * @throws HarnessError naming every output the template did not give.
 * @example
 * ```ts
 * const stack = describeEphemeralStack({ stackId, stackName, names, outputs: described.Outputs, deploymentType: 'BLUE_GREEN', instances: 2 });
 * stack.names.pipelineName; // 'cph-r7k2q-pipeline'
 * ```
 */
export function describeEphemeralStack(input: {
  stackId: string;
  stackName: string;
  names: StackNames;
  outputs: readonly Output[] | undefined;
  deploymentType: 'BLUE_GREEN' | 'IN_PLACE';
  instances: number;
}): EphemeralStack {
  const outputs: Record<string, string> = {};
  for (const o of input.outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  const missing = REQUIRED.filter((key) => !outputs[key]);
  if (missing.length) {
    throw new HarnessError(
      `stack ${input.stackName} is created but lacks the output(s) ${missing.join(', ')} the harness reads; ` +
        'create it from sample-app/infra/capstone.yaml (or a template with the same outputs)',
      { lastState: outputs },
    );
  }
  const out = (key: (typeof REQUIRED)[number]) => outputs[key]!;
  return {
    stackId: input.stackId,
    stackName: input.stackName,
    names: {
      ...input.names,
      pipelineName: out('PipelineName'),
      applicationName: out('ApplicationName'),
      deploymentGroupName: out('DeploymentGroupName'),
      loadBalancerName: out('LoadBalancerName'),
      targetGroupName: out('TargetGroupName'),
      autoScalingGroupName: out('AutoScalingGroupName'),
      repositoryName: out('RepositoryName'),
      buildProjectName: out('BuildProjectName'),
    },
    repositoryUrl: out('RepositoryCloneUrlHttp'),
    loadBalancerArn: out('LoadBalancerArn'),
    loadBalancerDns: out('LoadBalancerDnsName'),
    targetGroupArn: out('TargetGroupArn'),
    listenerArn: out('ListenerArn'),
    deploymentGroupArn: out('DeploymentGroupArn'),
    artifactBucket: out('ArtifactBucketName'),
    deploymentType: input.deploymentType,
    instances: input.instances,
    outputs,
  };
}
