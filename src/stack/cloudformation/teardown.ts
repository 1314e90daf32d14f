/**
 * Deleting a capstone stack so that nothing is left, in the order its deletion needs (reference
 * aws-semantics-cfn-codebuild-logs.md §2.7 and §6; `sample-app/infra/README.md`, "Blue/green"):
 *
 * 1. stop the stack's pipeline executions and deployments still running (a running blue/green deployment would
 *    copy the fleet again behind our back);
 * 2. delete the `CodeDeploy_<group>_<deployment id>` auto scaling groups blue/green made and wait until they are
 *    gone: they are no stack resources, and their instances would hold the subnets and security groups, so
 *    `DeleteStack` would end `DELETE_FAILED` (`DependencyViolation`);
 * 3. empty the versioned artifact bucket, every version and delete marker (a non-empty bucket fails the delete);
 * 4. `DeleteStack`, printing its events, and wait for `DELETE_COMPLETE`.
 *
 * Every step is idempotent and reads what to do from the stack itself (its resources), so a sweep of a killed run
 * does exactly what the run's own teardown does.
 */
import {
  type AutoScalingClient,
  type AutoScalingGroup,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { type CodeDeployClient, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import {
  type CodePipelineClient,
  ListPipelineExecutionsCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import type { S3Client } from '@aws-sdk/client-s3';
import { stopDeployment } from '../../deploy/stop.ts';
import { HarnessError } from '../../errors.ts';
import { OPEN_DEPLOYMENT, OPEN_EXECUTION } from '../../pipeline/close.ts';
import { type IntervalOptions, poll } from '../../poll.ts';
import { StackEventTail } from './events.ts';
import { waitForStackDelete } from './wait.ts';

/** The clients a stack's teardown uses. */
export interface StackTeardownClients {
  cloudformation: CloudFormationClient;
  codepipeline: CodePipelineClient;
  codedeploy: CodeDeployClient;
  autoscaling: AutoScalingClient;
  /** For the artifact bucket; required when the stack has a bucket left. */
  s3?: S3Client | undefined;
}

/** Deletes every object version and delete marker of a bucket: `emptyBucket` of `teardown/empty-bucket.ts`. */
export type EmptyBucket = (
  s3: S3Client,
  bucket: string,
  options: { signal?: AbortSignal },
) => Promise<unknown>;

/** Options shared by the teardown steps. */
export interface StackTeardownOptions {
  /** Deadline for the whole teardown of the stack, in ms (`timeouts.stack`). */
  timeout: number;
  /** One line per thing done and per stack event. @default none */
  log?: ((line: string) => void) | undefined;
  interval?: IntervalOptions | undefined;
  signal?: AbortSignal | undefined;
  /** Why, for StopPipelineExecution's reason. @default 'codepipeline-harness teardown' */
  reason?: string | undefined;
}

/** Options of {@link deleteEphemeralStack}. */
export interface DeleteEphemeralStackOptions extends StackTeardownOptions {
  /** The stack's ARN (or name while it exists). */
  stackId: string;
  /** For messages. @default stackId */
  stackName?: string | undefined;
  /** How to empty the artifact bucket. */
  emptyBucket?: EmptyBucket | undefined;
}

/** What {@link deleteEphemeralStack} did, one line per action, in order. */
export interface StackDeleteReport {
  stackName: string;
  done: string[];
  /** `DELETE_COMPLETE`. */
  status: string;
}

/** One (application, deployment group) of a stack. */
export interface DeploymentGroupRef {
  applicationName: string;
  deploymentGroupName: string;
}

/** Statuses a delete must wait out: a rollback or an update in progress (a create in progress may be deleted). */
const SETTLING = /^(ROLLBACK|UPDATE|IMPORT)_(.*_)?IN_PROGRESS$/;

const live = (r: StackResourceSummary) =>
  r.ResourceStatus !== 'DELETE_COMPLETE' && Boolean(r.PhysicalResourceId);

function deadlineOf(options: StackTeardownOptions): () => number {
  const end = performance.now() + options.timeout;
  return () => Math.max(0, end - performance.now());
}

/**
 * Deletes a capstone stack and everything its resources made that is not in it: stops running executions and
 * deployments, deletes blue/green's `CodeDeploy_*` fleets, empties the artifact bucket, then `DeleteStack` and
 * waits for `DELETE_COMPLETE`, printing the stack's events.
 *
 * @throws the DescribeStacks `ValidationError … does not exist` when the stack is not there (the ledger counts
 *   that as already gone).
 * @throws StackOperationError on `DELETE_FAILED`, naming each resource and its reason.
 * @throws WaitTimeoutError when a step does not finish within `timeout`.
 * @example
 * ```ts
 * await deleteEphemeralStack(clients, { stackId, stackName: 'cph-r7k2q', timeout: 30 * 60_000, emptyBucket, log: console.log });
 * ```
 */
export async function deleteEphemeralStack(
  clients: StackTeardownClients,
  options: DeleteEphemeralStackOptions,
): Promise<StackDeleteReport> {
  const stackName = options.stackName ?? options.stackId;
  const { cloudformation } = clients;
  const left = deadlineOf(options);
  const log = options.log ?? (() => {});
  const send = options.signal ? { abortSignal: options.signal } : {};
  const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: options.stackId }), send))
    .Stacks?.[0];
  const done: string[] = [];
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE')
    return { stackName, done, status: 'DELETE_COMPLETE' };
  const stackId = stack.StackId ?? options.stackId;
  if (SETTLING.test(stack.StackStatus ?? '')) {
    // A rollback (or update) under way: DeleteStack waits for it to settle first, as CloudFormation would not.
    await poll(
      async ({ signal }) =>
        (
          await cloudformation.send(new DescribeStacksCommand({ StackName: stackId }), {
            abortSignal: signal,
          })
        ).Stacks?.[0]?.StackStatus ?? 'DELETE_COMPLETE',
      {
        timeout: left(),
        what: `stack ${stackName} to settle before its delete`,
        isDone: (status) => !SETTLING.test(status),
        ...(options.interval ? { interval: options.interval } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  }

  const resources = (await stackResources(cloudformation, stackId, options.signal)).filter(live);
  const ofType = (type: string) =>
    resources.filter((r) => r.ResourceType === type).map((r) => r.PhysicalResourceId!);
  const applications = ofType('AWS::CodeDeploy::Application');
  const groups: DeploymentGroupRef[] = ofType('AWS::CodeDeploy::DeploymentGroup').flatMap(
    (deploymentGroupName) =>
      applications.map((applicationName) => ({ applicationName, deploymentGroupName })),
  );
  const record = (line: string) => {
    done.push(line);
    log(line);
  };
  const step = { ...options, timeout: left(), log: record };

  await stopPipelineExecutions(clients.codepipeline, ofType('AWS::CodePipeline::Pipeline'), step);
  await stopDeployments(clients.codedeploy, groups, { ...step, timeout: left() });
  await deleteCodeDeployFleets(
    clients.autoscaling,
    groups.map((g) => g.deploymentGroupName),
    { ...step, timeout: left() },
  );

  const buckets = ofType('AWS::S3::Bucket');
  if (buckets.length && !(clients.s3 && options.emptyBucket)) {
    throw new HarnessError(
      `stack ${stackName}: cannot empty bucket(s) ${buckets.join(', ')} before DeleteStack (a non-empty bucket ` +
        'fails the delete): give the teardown an S3 client and emptyBucket',
    );
  }
  for (const bucket of buckets) {
    await options.emptyBucket!(clients.s3!, bucket, options.signal ? { signal: options.signal } : {});
    step.log(`emptied bucket ${bucket} (every version and delete marker)`);
  }

  const tail = new StackEventTail(cloudformation, stackId);
  await tail.skipExisting(options.signal);
  await cloudformation.send(new DeleteStackCommand({ StackName: stackId }), send);
  log(`deleting stack ${stackName}`);
  const end = await waitForStackDelete(cloudformation, stackId, {
    stackName,
    timeout: left(),
    log,
    tail,
    interval: options.interval,
    signal: options.signal,
  });
  done.push(`deleted stack ${stackName}`);
  return { stackName, done, status: end.status };
}

/** Every resource of a stack (all pages of ListStackResources). */
export async function stackResources(
  cloudformation: CloudFormationClient,
  stackId: string,
  signal?: AbortSignal,
): Promise<StackResourceSummary[]> {
  const all: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const out = await cloudformation.send(
      new ListStackResourcesCommand({ StackName: stackId, NextToken: token }),
      signal ? { abortSignal: signal } : {},
    );
    all.push(...(out.StackResourceSummaries ?? []));
    token = out.NextToken;
  } while (token);
  return all;
}

/** Stops and abandons every execution of the pipelines still `InProgress`/`Stopping`. */
export async function stopPipelineExecutions(
  codepipeline: CodePipelineClient,
  pipelines: readonly string[],
  options: StackTeardownOptions,
): Promise<void> {
  const log = options.log ?? (() => {});
  const send = options.signal ? { abortSignal: options.signal } : {};
  for (const pipelineName of pipelines) {
    let token: string | undefined;
    do {
      const out = await codepipeline.send(
        new ListPipelineExecutionsCommand({ pipelineName, nextToken: token }),
        send,
      );
      for (const execution of out.pipelineExecutionSummaries ?? []) {
        if (!OPEN_EXECUTION.has(execution.status ?? '') || !execution.pipelineExecutionId) continue;
        try {
          await codepipeline.send(
            new StopPipelineExecutionCommand({
              pipelineName,
              pipelineExecutionId: execution.pipelineExecutionId,
              abandon: true,
              reason: options.reason ?? 'codepipeline-harness teardown',
            }),
            send,
          );
          log(`stopped and abandoned execution ${execution.pipelineExecutionId} of ${pipelineName}`);
        } catch (error) {
          // It ended, or a stop is already under way: either way it is not ours to wait for.
          const name = (error as { name?: string }).name ?? '';
          if (!/PipelineExecutionNotStoppable|DuplicatedStopRequest/.test(name)) throw error;
        }
      }
      token = out.nextToken;
    } while (token);
  }
}

/**
 * Stops every deployment of the groups that has not ended (without rollback: the fleet is about to go), and
 * waits until none is left running, rollbacks an earlier stop started included.
 */
export async function stopDeployments(
  codedeploy: CodeDeployClient,
  groups: readonly DeploymentGroupRef[],
  options: StackTeardownOptions,
): Promise<void> {
  const log = options.log ?? (() => {});
  const stopped = new Set<string>();
  for (const group of groups) {
    await poll(
      async ({ signal }) => {
        const open: string[] = [];
        let token: string | undefined;
        do {
          const out = await codedeploy.send(
            new ListDeploymentsCommand({
              ...group,
              includeOnlyStatuses: [...OPEN_DEPLOYMENT] as (
                | 'Created'
                | 'Queued'
                | 'InProgress'
                | 'Baking'
                | 'Ready'
              )[],
              nextToken: token,
            }),
            { abortSignal: signal },
          );
          open.push(...(out.deployments ?? []));
          token = out.nextToken;
        } while (token);
        for (const deploymentId of open.filter((id) => !stopped.has(id))) {
          try {
            await stopDeployment(codedeploy, deploymentId, { autoRollbackEnabled: false, signal });
            log(
              `stopped deployment ${deploymentId} of ${group.deploymentGroupName} (no rollback: the stack goes)`,
            );
          } catch (error) {
            if ((error as { name?: string }).name !== 'DeploymentAlreadyCompletedException') throw error;
          }
          stopped.add(deploymentId);
        }
        return open;
      },
      {
        timeout: options.timeout,
        what: `the deployments of ${group.applicationName}/${group.deploymentGroupName} to end`,
        describe: (open) => (open.length ? `running: ${open.join(', ')}` : 'none running'),
        isDone: (open) => open.length === 0,
        ...(options.interval ? { interval: options.interval } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  }
}

/** The `CodeDeploy_<group>_<deployment id>` auto scaling groups of the deployment groups (all pages). */
export async function codeDeployFleets(
  autoscaling: AutoScalingClient,
  deploymentGroups: readonly string[],
  signal?: AbortSignal,
): Promise<AutoScalingGroup[]> {
  if (!deploymentGroups.length) return [];
  const prefixes = deploymentGroups.map((dg) => `CodeDeploy_${dg}_`);
  const found: AutoScalingGroup[] = [];
  let token: string | undefined;
  do {
    const out = await autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ NextToken: token }),
      signal ? { abortSignal: signal } : {},
    );
    for (const group of out.AutoScalingGroups ?? []) {
      if (prefixes.some((p) => group.AutoScalingGroupName?.startsWith(p))) found.push(group);
    }
    token = out.NextToken;
  } while (token);
  return found;
}

/**
 * Deletes the `CodeDeploy_*` fleets blue/green made of the groups (ForceDelete: their instances are terminated)
 * and waits until they are gone, instances included.
 */
export async function deleteCodeDeployFleets(
  autoscaling: AutoScalingClient,
  deploymentGroups: readonly string[],
  options: StackTeardownOptions,
): Promise<void> {
  const log = options.log ?? (() => {});
  const asked = new Set<string>();
  await poll(
    async ({ signal }) => {
      const fleets = await codeDeployFleets(autoscaling, deploymentGroups, signal);
      for (const fleet of fleets) {
        const name = fleet.AutoScalingGroupName!;
        if (asked.has(name) || fleet.Status === 'Delete in progress') continue;
        try {
          await autoscaling.send(
            new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }),
            { abortSignal: signal },
          );
        } catch (error) {
          // Gone between the listing and the delete.
          if (!/not found/i.test((error as Error).message ?? '')) throw error;
        }
        asked.add(name);
        log(
          `deleting auto scaling group ${name} (blue/green's copy, not a stack resource) and its instances`,
        );
      }
      return fleets.map((f) => `${f.AutoScalingGroupName} (${f.Instances?.length ?? 0} instances)`);
    },
    {
      timeout: options.timeout,
      what: `the CodeDeploy_* auto scaling groups of ${deploymentGroups.join(', ')} to be deleted`,
      describe: (left) => (left.length ? left.join(', ') : 'none left'),
      isDone: (left) => left.length === 0,
      ...(options.interval ? { interval: options.interval } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}
