/**
 * The sandbox's state changes (its internal event log) as the events AWS puts on the default bus
 * (aws-semantics-events-auth-regions §1.1–§1.6): `CodePipeline Pipeline|Stage|Action Execution State Change` and
 * `CodeDeploy Deployment|Instance State-change Notification`, with the envelope in AWS's key order, kebab-case
 * CodePipeline details, camelCase CodeDeploy details, UPPER-CASE states (`CANCELED` with one L) and envelope `time`
 * in whole seconds. A change of a resource this region does not hold (another region's) gives no event here.
 *
 * @example
 * const event = awsEvent(logged, { region: 'us-east-1', accountId, codepipeline, codedeploy });
 * event?.['detail-type']; // 'CodePipeline Stage Execution State Change'
 */
import { randomUUID } from 'node:crypto';
import type { CodeDeployService } from '../codedeploy/index.ts';
import type { CodePipelineService } from '../codepipeline/index.ts';
import type { SandboxEvent } from '../events.ts';

/** One event as it goes on a bus and, serialised, into an SQS message body (§2.7). */
export interface AwsEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface ShapeSources {
  readonly region: string;
  readonly accountId: string;
  readonly codepipeline: CodePipelineService;
  readonly codedeploy: CodeDeployService;
}

/** API status → event state, CodePipeline (§1.5). `InProgress` is STARTED (RESUMED after a retry, see caller). */
const PIPELINE_STATES: Readonly<Record<string, string>> = {
  InProgress: 'STARTED',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Stopping: 'STOPPING',
  Stopped: 'STOPPED',
  Superseded: 'SUPERSEDED',
  Cancelled: 'CANCELED',
};
const ACTION_STATES: Readonly<Record<string, string>> = {
  InProgress: 'STARTED',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Abandoned: 'ABANDONED',
  Cancelled: 'CANCELED',
};
/** API status → event state, CodeDeploy (§1.6; READY is blue/green's wait for the reroute). */
const DEPLOY_STATES: Readonly<Record<string, string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Stopped: 'STOP',
  Ready: 'READY',
};
const INSTANCE_STATES: Readonly<Record<string, string>> = {
  InProgress: 'START',
  Succeeded: 'SUCCESS',
  Failed: 'FAILURE',
  Ready: 'READY',
};

/** `2020-01-24T22:03:07Z`: envelope times are whole seconds (§1.1). */
function envelopeTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function envelope(
  sources: ShapeSources,
  source: string,
  detailType: string,
  time: number,
  resources: string[],
  detail: Record<string, unknown>,
): AwsEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: sources.accountId,
    time: envelopeTime(time),
    region: sources.region,
    resources,
    detail,
  };
}

/**
 * The AWS event for one logged state change, or undefined when AWS publishes none for it (transitions, lifecycle
 * hooks, ELB and Auto Scaling changes) or the resource is not this region's. `resumed` tells a pipeline or stage
 * STARTED after a retry (RESUMED on AWS).
 */
export function awsEvent(e: SandboxEvent, sources: ShapeSources, resumed = false): AwsEvent | undefined {
  if (e.service === 'codepipeline') return pipelineEvent(e, sources, resumed);
  if (e.service === 'codedeploy') return deployEvent(e, sources);
  return undefined;
}

function pipelineEvent(e: SandboxEvent, sources: ShapeSources, resumed: boolean): AwsEvent | undefined {
  if (!e.pipeline || !e.executionId) return undefined;
  const pipeline = sources.codepipeline.store.get(e.pipeline);
  const execution = pipeline?.executions.find((x) => x.pipelineExecutionId === e.executionId);
  if (!pipeline || !execution) return undefined;
  const common = {
    pipeline: e.pipeline,
    'execution-id': e.executionId,
    'start-time': execution.startTime.toISOString(),
  };
  const tail = { version: execution.pipelineVersion, 'pipeline-execution-attempt': 1 };
  const resources = [pipeline.arn];
  const started = (state: string | undefined) => (state === 'STARTED' && resumed ? 'RESUMED' : state);
  if (e.kind === 'pipelineExecution') {
    const state = started(PIPELINE_STATES[e.status]);
    if (!state) return undefined;
    const trigger =
      state === 'STARTED'
        ? {
            'execution-trigger': {
              'trigger-type': execution.trigger.triggerType,
              'trigger-detail': execution.trigger.triggerDetail ?? '',
            },
          }
        : {};
    const stopComments =
      state === 'STOPPING' && execution.stopTrigger?.reason
        ? { 'stop-execution-comments': execution.stopTrigger.reason }
        : {};
    return envelope(
      sources,
      'aws.codepipeline',
      'CodePipeline Pipeline Execution State Change',
      e.time,
      resources,
      {
        ...common,
        ...trigger,
        state,
        ...stopComments,
        ...tail,
      },
    );
  }
  if (e.kind === 'stage' && e.stage) {
    const state = started(PIPELINE_STATES[e.status]);
    if (!state || state === 'SUPERSEDED') return undefined;
    return envelope(
      sources,
      'aws.codepipeline',
      'CodePipeline Stage Execution State Change',
      e.time,
      resources,
      {
        ...common,
        stage: e.stage,
        state,
        ...tail,
      },
    );
  }
  if (e.kind === 'action' && e.stage && e.action) {
    const state = ACTION_STATES[e.status];
    const record = sources.codepipeline.store.stage(pipeline, e.stage).actions.get(e.action);
    if (!state || !record || record.pipelineExecutionId !== e.executionId) return undefined;
    const type = record.action.actionTypeId;
    const result =
      (state === 'SUCCEEDED' || state === 'FAILED') && record.externalExecutionId
        ? {
            'execution-result': {
              ...(record.externalExecutionUrl
                ? { 'external-execution-url': record.externalExecutionUrl }
                : {}),
              ...(record.summary ? { 'external-execution-summary': record.summary } : {}),
              'external-execution-id': record.externalExecutionId,
              ...(state === 'FAILED' ? { 'error-code': record.errorDetails?.code ?? 'JobFailed' } : {}),
            },
          }
        : {};
    return envelope(
      sources,
      'aws.codepipeline',
      'CodePipeline Action Execution State Change',
      e.time,
      resources,
      {
        ...common,
        stage: e.stage,
        ...result,
        'action-execution-id': record.actionExecutionId,
        action: e.action,
        state,
        region: record.action.region ?? sources.region,
        type: {
          owner: type.owner,
          provider: type.provider,
          category: type.category,
          version: String(type.version),
        },
        ...tail,
      },
    );
  }
  return undefined;
}

function deployEvent(e: SandboxEvent, sources: ShapeSources): AwsEvent | undefined {
  if (!e.deploymentId) return undefined;
  const deployment = sources.codedeploy.store.deployments.get(e.deploymentId);
  if (!deployment) return undefined;
  const at = `${sources.region}:${sources.accountId}`;
  const app = deployment.applicationName;
  const group = deployment.deploymentGroupName;
  const appArn = `arn:aws:codedeploy:${at}:application:${app}`;
  const groupArn = `arn:aws:codedeploy:${at}:deploymentgroup:${app}/${group}`;
  if (e.kind === 'deployment') {
    const state = DEPLOY_STATES[e.status];
    if (!state) return undefined;
    return envelope(
      sources,
      'aws.codedeploy',
      'CodeDeploy Deployment State-change Notification',
      e.time,
      [appArn, groupArn],
      {
        instanceGroupId: instanceGroupId(deployment.deploymentId),
        region: sources.region,
        application: app,
        deploymentId: deployment.deploymentId,
        state,
        deploymentGroup: group,
      },
    );
  }
  if (e.kind === 'target' && e.targetId) {
    const state = INSTANCE_STATES[e.status];
    if (!state) return undefined;
    const instanceArn = `arn:aws:ec2:${at}:instance/${e.targetId}`;
    return envelope(
      sources,
      'aws.codedeploy',
      'CodeDeploy Instance State-change Notification',
      e.time,
      [instanceArn, groupArn, appArn],
      {
        instanceId: e.targetId,
        region: sources.region,
        state,
        application: app,
        deploymentId: deployment.deploymentId,
        instanceGroupId: instanceGroupId(deployment.deploymentId),
        deploymentGroup: group,
      },
    );
  }
  return undefined;
}

const groupIds = new Map<string, string>();

/** One random UUID per deployment, reused by its deployment and instance events (§1.6, inferred). */
function instanceGroupId(deploymentId: string): string {
  let id = groupIds.get(deploymentId);
  if (!id) {
    id = randomUUID();
    groupIds.set(deploymentId, id);
    if (groupIds.size > 10_000) groupIds.delete(groupIds.keys().next().value!);
  }
  return id;
}
