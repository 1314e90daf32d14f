/**
 * What a wait cares about, and which AWS events (aws-semantics-events-auth-regions §1.2–§1.6) may concern it. An
 * event never decides anything: it only tells a wait to read the resource now instead of at its next poll.
 *
 * @example
 * concerns({ pipeline: 'web', executionId: 'e-1' }, event); // true for any CodePipeline event of execution e-1
 */

/** A wait's subject: a pipeline (any of its executions, or one), or a CodeDeploy deployment. */
export interface WatchTopic {
  readonly pipeline?: string;
  readonly executionId?: string;
  /** Only this stage's events (and the execution's own): a wait on Deploy is not woken by Source's actions. */
  readonly stage?: string;
  /** Action events too (`Action Execution State Change`): an approval's token, a deploy action's deployment id. @default true */
  readonly actions?: boolean;
  readonly deploymentId?: string;
  /**
   * Also the deployment's instance events (`Instance State-change Notification`) that end an instance's part
   * (any state but `START`: an instance starting changes nothing a deployment wait reads). The watch wakes the
   * wait once no instance it has seen start is still running (one read per batch, src/watch/watch.ts).
   * @default false
   */
  readonly instances?: boolean;
  /**
   * Any deployment event of the run's deployment group (the rule matches only that group): a deploy action's
   * deployment id may be known only after its STARTED event, and the deployment's own START comes then.
   * @default false
   */
  readonly deployments?: boolean;
  /**
   * Reads to make after an event, in ms after it, unless another event comes first: for what follows an event
   * without one of its own (blue/green's termination wait begins after blue's last BlockTraffic, with no event).
   * @default none
   */
  readonly followUpMs?: readonly number[];
  /**
   * Make the follow-up reads only while this holds, asked when the wait parks again after the read an event woke
   * (the deployment wait: once no instance is pending or in progress, the termination wait is next).
   * @default always
   */
  readonly followUpIf?: (() => boolean) | undefined;
}

/** The part of an EventBridge event the watch reads (§1.1). */
export interface WatchedEvent {
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Parses an SQS message body as an EventBridge event; undefined for anything else (a foreign message). */
export function parseEvent(body: string | undefined): WatchedEvent | undefined {
  if (!body) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const e = value as Record<string, unknown>;
  const detail = e.detail;
  if (
    typeof e.id !== 'string' ||
    typeof e.source !== 'string' ||
    typeof e['detail-type'] !== 'string' ||
    detail === null ||
    typeof detail !== 'object'
  ) {
    return undefined;
  }
  return {
    id: e.id,
    source: e.source,
    'detail-type': e['detail-type'],
    time: typeof e.time === 'string' ? e.time : '',
    detail: detail as Record<string, unknown>,
  };
}

/** Whether `event` may change what a wait on `topic` reads. */
export function concerns(topic: WatchTopic, event: WatchedEvent): boolean {
  const d = event.detail;
  if (event.source === 'aws.codepipeline' && topic.pipeline !== undefined) {
    if (d.pipeline !== topic.pipeline) return false;
    if (topic.executionId !== undefined && d['execution-id'] !== topic.executionId) return false;
    const executionLevel = event['detail-type'] === 'CodePipeline Pipeline Execution State Change';
    if (topic.actions === false && event['detail-type'] === 'CodePipeline Action Execution State Change')
      return false;
    return topic.stage === undefined || executionLevel || d.stage === topic.stage;
  }
  if (
    event.source === 'aws.codedeploy' &&
    topic.deployments === true &&
    event['detail-type'] === 'CodeDeploy Deployment State-change Notification'
  ) {
    return true;
  }
  if (event.source === 'aws.codedeploy' && topic.deploymentId !== undefined) {
    if (d.deploymentId !== topic.deploymentId) return false;
    if (event['detail-type'] === 'CodeDeploy Deployment State-change Notification') return true;
    return topic.instances === true && d.state !== 'START';
  }
  return false;
}

/**
 * Tracks `event` in `instances` (each deployment's instances by the state of their last event) and says whether
 * it settles them: false for an instance event that leaves another instance of its deployment started and not
 * ended, so a deployment's waits are woken once per batch of instances (green installed, blue blocked), not once
 * per instance; true for any other event. Events come late and out of order: a `START` after its instance's end
 * changes nothing. At most `keep` deployments are tracked (the oldest is forgotten).
 *
 * @example
 * const instances = new Map();
 * settlesInstances(instances, started('i-1'));  // true (a START wakes nothing anyway)
 * settlesInstances(instances, started('i-2'));
 * settlesInstances(instances, succeeded('i-1')); // false: i-2 still runs
 * settlesInstances(instances, succeeded('i-2')); // true
 */
export function settlesInstances(
  instances: Map<string, Map<string, string>>,
  event: WatchedEvent,
  keep = 256,
): boolean {
  if (event['detail-type'] !== 'CodeDeploy Instance State-change Notification') return true;
  const { deploymentId, instanceId, state } = event.detail;
  if (typeof deploymentId !== 'string' || typeof instanceId !== 'string' || typeof state !== 'string')
    return true;
  let ofDeployment = instances.get(deploymentId);
  if (!ofDeployment) {
    ofDeployment = new Map();
    instances.set(deploymentId, ofDeployment);
    if (instances.size > keep) instances.delete(instances.keys().next().value!);
  }
  if (state !== 'START' || !ofDeployment.has(instanceId)) ofDeployment.set(instanceId, state);
  return ![...ofDeployment.values()].includes('START');
}

/** One line for logs: `CodePipeline Stage Execution State Change Deploy SUCCEEDED`. */
export function describeEvent(event: WatchedEvent): string {
  const d = event.detail;
  const where = [d.stage, d.action, d.deploymentId, d.instanceId].filter((v) => typeof v === 'string');
  return [event['detail-type'], ...where, String(d.state ?? '')].join(' ').trim();
}
