/** CodeDeploy deployment operations: create / get / list / stop / continue and the target APIs (aws-semantics 3.3–3.9). */
import type { Deployments } from './deployments.ts';
import { err, page, requireApplication, requireDeployment, requireGroup } from './errors.ts';
import type { CodeDeployDeploymentOperation, CodeDeployHandlers, CodeDeployOutput } from './operations.ts';
import { ACTIVE_STATUSES, type DeploymentRecord, type TargetRecord } from './store.ts';
import { deploymentInfo, deploymentTarget, instanceSummary } from './views.ts';

const STATUSES = new Set([
  'Created',
  'Queued',
  'InProgress',
  'Baking',
  'Succeeded',
  'Failed',
  'Stopped',
  'Ready',
]);
const TARGET_STATUSES = new Set([
  'Pending',
  'InProgress',
  'Succeeded',
  'Failed',
  'Skipped',
  'Unknown',
  'Ready',
]);

function started(d: DeploymentRecord): void {
  if (!d.targetsKnown)
    throw err(
      'DeploymentNotStartedException',
      `The deployment ${d.deploymentId} has not started: its targets are not known yet.`,
    );
}

function target(d: DeploymentRecord, id: unknown): TargetRecord {
  if (!id) throw err('DeploymentTargetIdRequiredException', 'A deployment target ID was not provided.');
  const t = d.targets.get(String(id));
  if (!t)
    throw err(
      'DeploymentTargetDoesNotExistException',
      `The target ${String(id)} does not belong to deployment ${d.deploymentId}.`,
    );
  return t;
}

/** `arn:aws:ec2:...:instance/i-...` or a bare id → the bare id. */
function bareInstanceId(id: string): string {
  return id.includes('/') ? (id.split('/').pop() ?? id) : id;
}

export function deploymentHandlers(
  deployments: Deployments,
): CodeDeployHandlers<CodeDeployDeploymentOperation> {
  const { store, engine } = deployments;
  return {
    async CreateDeployment(input): Promise<CodeDeployOutput<'CreateDeployment'>> {
      const d = await deployments.create(input);
      return { deploymentId: d.deploymentId };
    },
    GetDeployment(input): CodeDeployOutput<'GetDeployment'> {
      return { deploymentInfo: deploymentInfo(requireDeployment(store, input.deploymentId)) };
    },
    BatchGetDeployments(input): CodeDeployOutput<'BatchGetDeployments'> {
      const ids: string[] = input.deploymentIds ?? [];
      if (ids.length > 25)
        throw err(
          'BatchLimitExceededException',
          'The maximum number of names or IDs allowed for this request (25) was exceeded.',
        );
      return { deploymentsInfo: ids.map((id) => deploymentInfo(requireDeployment(store, id))) };
    },
    ListDeployments(input): CodeDeployOutput<'ListDeployments'> {
      const app: string | undefined = input.applicationName;
      const dgName: string | undefined = input.deploymentGroupName;
      if ((app === undefined) !== (dgName === undefined)) {
        throw err(
          app === undefined ? 'ApplicationNameRequiredException' : 'DeploymentGroupNameRequiredException',
          'applicationName and deploymentGroupName must be given together or not at all.',
        );
      }
      if (app !== undefined) requireGroup(store, requireApplication(store, app).applicationName, dgName);
      const statuses: string[] | undefined = input.includeOnlyStatuses?.length
        ? input.includeOnlyStatuses
        : undefined;
      for (const s of statuses ?? [])
        if (!STATUSES.has(s))
          throw err('InvalidDeploymentStatusException', `The deployment status '${s}' is invalid.`);
      const range = input.createTimeRange;
      if (range?.start && range?.end && range.start > range.end)
        throw err('InvalidTimeRangeException', 'createTimeRange.start is after createTimeRange.end.');
      const ids = [...store.deployments.values()]
        .filter((d) => app === undefined || (d.applicationName === app && d.deploymentGroupName === dgName))
        .filter((d) => !statuses || statuses.includes(d.status))
        .filter((d) => input.externalId === undefined || d.externalId === input.externalId)
        .filter((d) => !range?.start || d.createTime >= range.start)
        .filter((d) => !range?.end || d.createTime <= range.end)
        .reverse() // newest first
        .map((d) => d.deploymentId);
      const p = page(ids, input.nextToken);
      return { deployments: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },
    StopDeployment(input): CodeDeployOutput<'StopDeployment'> {
      const d = requireDeployment(store, input.deploymentId);
      if (!ACTIVE_STATUSES.has(d.status))
        throw err(
          'DeploymentAlreadyCompletedException',
          `The deployment ${d.deploymentId} has already completed.`,
        );
      const status = engine.requestStop(d, input.autoRollbackEnabled);
      // AWS's answer (aws-semantics 3.9).
      return {
        status,
        statusMessage: 'No more commands will be scheduled for execution in the deployment instances',
      };
    },
    ContinueDeployment(input): CodeDeployOutput<'ContinueDeployment'> {
      const d = requireDeployment(store, input.deploymentId);
      const waitType = input.deploymentWaitType ?? 'READY_WAIT';
      if (waitType !== 'READY_WAIT' && waitType !== 'TERMINATION_WAIT') {
        throw err(
          'InvalidDeploymentWaitTypeException',
          `The wait type '${waitType}' is invalid; use READY_WAIT or TERMINATION_WAIT.`,
        );
      }
      if (d.deploymentStyle.deploymentType !== 'BLUE_GREEN') {
        throw err(
          'UnsupportedActionForDeploymentTypeException',
          'ContinueDeployment applies only to blue/green deployments.',
        );
      }
      if (!ACTIVE_STATUSES.has(d.status))
        throw err(
          'DeploymentAlreadyCompletedException',
          `The deployment ${d.deploymentId} has already completed.`,
        );
      if (waitType === 'READY_WAIT' && d.status !== 'Ready') {
        throw err(
          'DeploymentIsNotInReadyStateException',
          `The deployment ${d.deploymentId} is ${d.status}, not Ready: nothing is waiting for a reroute.`,
        );
      }
      if (waitType === 'TERMINATION_WAIT' && !engine.inTerminationWait(d)) {
        throw err(
          'DeploymentIsNotInReadyStateException',
          `The deployment ${d.deploymentId} is not waiting to terminate its original instances.`,
        );
      }
      engine.continue(d, waitType);
      return {};
    },
    SkipWaitTimeForInstanceTermination(input): CodeDeployOutput<'SkipWaitTimeForInstanceTermination'> {
      const d = requireDeployment(store, input.deploymentId);
      if (!ACTIVE_STATUSES.has(d.status))
        throw err(
          'DeploymentAlreadyCompletedException',
          `The deployment ${d.deploymentId} has already completed.`,
        );
      if (!engine.continue(d, 'TERMINATION_WAIT')) {
        throw err(
          'DeploymentNotStartedException',
          `The deployment ${d.deploymentId} is not waiting to terminate its original instances.`,
        );
      }
      return {};
    },
    ListDeploymentTargets(input): CodeDeployOutput<'ListDeploymentTargets'> {
      const d = requireDeployment(store, input.deploymentId);
      started(d);
      const filters: Record<string, string[]> = input.targetFilters ?? {};
      for (const [k, values] of Object.entries(filters)) {
        if (k !== 'TargetStatus' && k !== 'ServerInstanceLabel') {
          throw err(
            'InvalidTargetFilterNameException',
            `The target filter name '${k}' is invalid; use TargetStatus or ServerInstanceLabel.`,
          );
        }
        if (k === 'TargetStatus')
          for (const v of values)
            if (!TARGET_STATUSES.has(v))
              throw err('InvalidInstanceStatusException', `The target status '${v}' is invalid.`);
      }
      const ids = [...d.targets.values()]
        .filter((t) => !filters.TargetStatus?.length || filters.TargetStatus.includes(t.status))
        .filter(
          (t) =>
            !filters.ServerInstanceLabel?.length ||
            (t.instanceLabel !== undefined && filters.ServerInstanceLabel.includes(t.instanceLabel)),
        )
        .map((t) => t.targetId);
      const p = page(ids, input.nextToken);
      return { targetIds: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },
    BatchGetDeploymentTargets(input): CodeDeployOutput<'BatchGetDeploymentTargets'> {
      const d = requireDeployment(store, input.deploymentId);
      const ids: string[] = input.targetIds ?? [];
      if (ids.length === 0)
        throw err('DeploymentTargetIdRequiredException', 'A deployment target ID was not provided.');
      if (ids.length > 25)
        throw err(
          'DeploymentTargetListSizeExceededException',
          'The maximum number of targets that can be associated with an Amazon ECS or AWS Lambda deployment was exceeded. The target list of both types of deployments must have exactly one item. This exception does not apply to EC2/On-premises deployments. (at most 25 ids per call)',
        );
      started(d);
      return { deploymentTargets: ids.map((id) => deploymentTarget(target(d, id))) };
    },
    GetDeploymentTarget(input): CodeDeployOutput<'GetDeploymentTarget'> {
      const d = requireDeployment(store, input.deploymentId);
      if (!input.targetId)
        throw err('DeploymentTargetIdRequiredException', 'A deployment target ID was not provided.');
      started(d);
      return { deploymentTarget: deploymentTarget(target(d, input.targetId)) };
    },
    ListDeploymentInstances(input): CodeDeployOutput<'ListDeploymentInstances'> {
      const d = requireDeployment(store, input.deploymentId);
      started(d);
      const statuses: string[] | undefined = input.instanceStatusFilter?.length
        ? input.instanceStatusFilter
        : undefined;
      const types: string[] | undefined = input.instanceTypeFilter?.length
        ? input.instanceTypeFilter
        : undefined;
      const ids = [...d.targets.values()]
        .filter((t) => !statuses || statuses.includes(t.status))
        .filter((t) => !types || (t.instanceLabel !== undefined && types.includes(t.instanceLabel)))
        .map((t) => t.targetId);
      const p = page(ids, input.nextToken);
      return { instancesList: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },
    GetDeploymentInstance(input): CodeDeployOutput<'GetDeploymentInstance'> {
      const d = requireDeployment(store, input.deploymentId);
      if (!input.instanceId) throw err('InstanceIdRequiredException', 'The instance ID was not specified.');
      started(d);
      const t = d.targets.get(bareInstanceId(input.instanceId));
      if (!t)
        throw err(
          'InstanceDoesNotExistException',
          `The instance ${input.instanceId} is not part of deployment ${d.deploymentId}.`,
        );
      return { instanceSummary: instanceSummary(t) };
    },
    BatchGetDeploymentInstances(input): CodeDeployOutput<'BatchGetDeploymentInstances'> {
      const d = requireDeployment(store, input.deploymentId);
      const ids: string[] = input.instanceIds ?? [];
      if (ids.length > 25)
        throw err(
          'BatchLimitExceededException',
          'The maximum number of names or IDs allowed for this request (25) was exceeded.',
        );
      started(d);
      const found = ids.map((id) => d.targets.get(bareInstanceId(id)));
      const missing = ids.filter((_, i) => !found[i]);
      return {
        instancesSummary: found.filter((t) => t !== undefined).map(instanceSummary),
        ...(missing.length
          ? { errorMessage: `Instances not part of the deployment: ${missing.join(', ')}` }
          : {}),
      };
    },
  };
}
