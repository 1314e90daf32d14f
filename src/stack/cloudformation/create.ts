/**
 * `stack: ephemeral` through CloudFormation: the capstone stack (`sample-app/infra/capstone.yaml`) created for
 * one run, on AWS or on the sandbox's CloudFormation alike, and deleted by the run's teardown. The stack goes into
 * the ledger as soon as CreateStack answers, before the first wait, so a run killed or failing mid-create still
 * deletes it.
 */
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { IntervalOptions } from '../../poll.ts';
import type { LedgerLike } from '../stack.ts';
import { RUN_TAG, type StackNames, TEST_TARGET_TAG } from '../names.ts';
import { switchToBlueGreen } from './blue-green.ts';
import { describeEphemeralStack, type EphemeralStack } from './outputs.ts';
import { type CapstoneParameters, capstoneParameters, readCapstoneTemplate } from './template.ts';
import {
  deleteCodeDeployFleets,
  deleteEphemeralStack,
  type EmptyBucket,
  type StackTeardownClients,
  stopDeployments,
} from './teardown.ts';
import { waitForStackCreate } from './wait.ts';

/** Options of {@link createEphemeralStack}. */
export interface EphemeralStackOptions extends CapstoneParameters {
  clients: StackTeardownClients;
  ledger: LedgerLike;
  names: StackNames;
  /** Deadline of the create, and of the delete in teardown, in ms (`timeouts.stack`). */
  timeout: number;
  /**
   * `BLUE_GREEN`: the template's in-place group is switched after create (see `blue-green.ts`).
   * @default 'BLUE_GREEN'
   */
  deploymentType?: 'BLUE_GREEN' | 'IN_PLACE' | undefined;
  /** Minutes blue instances live on after a blue/green success. @default 1 */
  blueTerminationMinutes?: number | undefined;
  /**
   * A CloudFormation service role (`RoleARN`): CloudFormation creates and deletes the stack's resources with it, so
   * the harness's own credentials need only CloudFormation and `iam:PassRole` of this role
   * (`iam/ephemeral-stack-policy.json`). @default none: the caller's credentials
   */
  roleArn?: string | undefined;
  /** Empties the artifact bucket in teardown (`emptyBucket` of `teardown/empty-bucket.ts`). */
  emptyBucket?: EmptyBucket | undefined;
  /** The template's body. @default `sample-app/infra/capstone.yaml` */
  templateBody?: string | undefined;
  /** Progress: one line per stack event, status change and teardown action. @default none */
  log?: ((line: string) => void) | undefined;
  interval?: IntervalOptions | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Creates the run's capstone stack through CloudFormation and waits for it, printing its events as they happen;
 * records it in the ledger (with a teardown that stops what runs, deletes blue/green's fleets, empties the bucket
 * and deletes the stack); switches the deployment group to blue/green when asked (recorded too).
 *
 * @throws StackOperationError when the create fails, naming the first failed resource and its reason (the stack
 *   stays in the ledger: teardown deletes it).
 * @throws WaitTimeoutError when it is not created within `timeout`.
 * @example
 * ```ts
 * const stack = await createEphemeralStack({
 *   clients: { cloudformation, codepipeline, codedeploy, autoscaling, s3 }, ledger, names: stackNames(runId),
 *   timeout: config.timeouts.stack, emptyBucket, log: console.log,
 * });
 * await seedRepository({ repoUrl: stack.repositoryUrl, runId });
 * ```
 */
export async function createEphemeralStack(options: EphemeralStackOptions): Promise<EphemeralStack> {
  const { clients, names } = options;
  const { cloudformation } = clients;
  const stackName = names.prefix;
  const deploymentType = options.deploymentType ?? 'BLUE_GREEN';
  const instances = options.instances ?? 2;
  const send = options.signal ? { abortSignal: options.signal } : {};
  const log = options.log ?? (() => {});

  const created = await cloudformation.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: options.templateBody ?? (await readCapstoneTemplate()),
      Parameters: capstoneParameters(names, options),
      // Named roles, instance profile and managed policy (a sweep finds them by name too).
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      // Stack tags reach every resource CloudFormation tags: the run's, and the test-target mark the guard reads.
      Tags: [
        { Key: RUN_TAG, Value: names.runId },
        { Key: TEST_TARGET_TAG, Value: 'true' },
      ],
      // Rollback on failure (the default), stated: the failed resources' events stay readable by stack id.
      OnFailure: 'ROLLBACK',
      ...(options.roleArn ? { RoleARN: options.roleArn } : {}),
    }),
    send,
  );
  const stackId = created.StackId;
  if (!stackId) throw new Error(`CreateStack ${stackName} returned no StackId`);
  const teardown = {
    timeout: options.timeout,
    log,
    interval: options.interval,
    reason: `codepipeline-harness run ${names.runId} teardown`,
  };
  options.ledger.add({
    kind: 'stack',
    id: stackId,
    describe: `stack ${stackName}`,
    // The ledger's signal fires at the teardown's deadline: every call and wait of the delete ends there.
    delete: async (signal) => {
      await deleteEphemeralStack(clients, {
        ...teardown,
        stackId,
        stackName,
        emptyBucket: options.emptyBucket,
        signal,
      });
    },
  });
  log(
    `creating stack ${stackName} from the capstone template (${deploymentType === 'BLUE_GREEN' ? 'blue/green after create' : 'in place'}, ${instances} instance(s))`,
  );

  await waitForStackCreate(cloudformation, stackId, {
    stackName,
    timeout: options.timeout,
    log,
    interval: options.interval,
    signal: options.signal,
  });
  const described = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }), send))
    .Stacks?.[0];
  const stack = describeEphemeralStack({
    stackId,
    stackName,
    names,
    outputs: described?.Outputs,
    deploymentType,
    instances,
  });

  if (deploymentType === 'BLUE_GREEN') {
    const group = {
      applicationName: stack.names.applicationName,
      deploymentGroupName: stack.names.deploymentGroupName,
    };
    await switchToBlueGreen(clients.codedeploy, {
      ...group,
      terminationWaitMinutes: options.blueTerminationMinutes,
      signal: options.signal,
    });
    // No undo of its own (the group goes with the stack); its consequence does: the CodeDeploy_* fleets it makes.
    options.ledger.add({
      kind: 'blue-green-switch',
      id: `${group.applicationName}/${group.deploymentGroupName}`,
      describe: `blue/green of ${group.deploymentGroupName} (its CodeDeploy_* fleets)`,
      delete: async (signal) => {
        await stopDeployments(clients.codedeploy, [group], { ...teardown, signal });
        await deleteCodeDeployFleets(clients.autoscaling, [group.deploymentGroupName], {
          ...teardown,
          signal,
        });
      },
    });
    log(
      `deployment group ${group.deploymentGroupName} switched to blue/green (copy of the auto scaling group)`,
    );
  }
  return stack;
}
