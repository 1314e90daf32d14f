/**
 * One release scenario on a sandbox: a {@link Harness} with recorded SDK clients provisions its own sample
 * stack (run id = its own names), then releases `releases` version bumps (push → follow → approve → live on
 * every target), each measured against the sandbox's event log; optionally the reference pollers follow each
 * release's deployment at the same time.
 *
 * @example
 * const tail = new EventTail(sandbox.endpoint); tail.start();
 * const result = await runScenario({ endpoint: sandbox.endpoint, runId: 'bench1', releases: 3, references: true, tail, signal });
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadConfig } from '../../src/config.ts';
import { Harness, type Release } from '../../src/harness.ts';
import type { PushResult } from '../../src/source/push.ts';
import type { SandboxEvent } from '../../src/sandbox/events.ts';
import { type Detection, detect } from './detection.ts';
import { ApiRecorder, type CallRecord, countByOperation, entityKey, type Observation } from './recorder.ts';
import { fixedIntervalPoller, type PollerRun, sdkWaiter } from './reference-pollers.ts';
import type { EventTail } from './sandbox-process.ts';

export interface ScenarioOptions {
  endpoint: string;
  runId: string;
  releases: number;
  /** Run the reference pollers on each release's deployment. */
  references: boolean;
  /**
   * How many releases, after the others, follow the way the harness did before the live check overlapped the
   * deployment's end (issue 16): the deployment to its end, then the live check. @default 0
   */
  sequentialLive?: number;
  tail: EventTail;
  signal: AbortSignal;
  log?: (line: string) => void;
  /** The harness's `events` setting (src/watch): AWS's events wake its waits, or polling only. @default 'auto' */
  events?: 'auto' | 'on' | 'off';
}

/** Where a release's wall time went (ms). See the section notes for the definitions. */
export interface Breakdown {
  /** push start → the sandbox recorded the git push (the harness's clone/commit/push, git over HTTP). */
  push: number;
  /** push recorded → last pipeline event of the execution, minus the approval wait: the sandbox's own work. */
  sandbox: number;
  /** approval action InProgress → its next status: the sandbox idle until PutApprovalResult arrived. */
  approvalWait: number;
  /** execution Succeeded → every target proven to serve the version: {@link noticeEnd} + {@link liveCheck}. */
  tail: number;
  /** execution Succeeded → the first harness response showing it (NaN when the harness never saw it). */
  noticeEnd: number;
  /** that response → every target proven to serve the version (the HTTP live check and what precedes it). */
  liveCheck: number;
  /** wall − sandbox = push + approvalWait + tail. */
  harness: number;
}

export interface ReferenceResult {
  name: string;
  outcome: string;
  /** Deployment Succeeded event → the first answer showing it. */
  detectionMs?: number;
  /** Time between the answer that showed Succeeded and the previous look at the deployment: the poll interval then. */
  intervalMs?: number;
  calls: number;
}

export interface ReleaseRun {
  runId: string;
  version: string;
  executionId: string;
  deploymentId: string;
  pushAt: number;
  liveAt: number;
  wallMs: number;
  breakdown: Breakdown;
  detections: Detection[];
  /** The harness's API calls during the release (every attempt). */
  calls: CallRecord[];
  /** The deployment's Created → Succeeded in the sandbox's log (NaN when it did not succeed). */
  deploymentMs: number;
  /** Requests the live check sent to the load balancer. */
  loadBalancerRequests: number;
  /** Followed the old way: live check after the deployment's end (see `sequentialLive`). */
  sequentialLive: boolean;
  /** The deployment's Succeeded event as the harness saw it, and its calls while the deployment ran. */
  ours: {
    deploymentDetectionMs?: number;
    intervalMs?: number;
    callsDuringDeployment: number;
    /** Those calls by operation. */
    deploymentCallsByOperation: Record<string, number>;
  };
  references: ReferenceResult[];
}

export interface ScenarioResult {
  runId: string;
  provisionMs: number;
  releases: ReleaseRun[];
  poll: { minIntervalMs: number; maxIntervalMs: number; factor: number };
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function recordedClients(endpoint: string, region: string, recorder: ApiRecorder) {
  const config = { endpoint, region, credentials };
  return {
    codepipeline: recorder.attach(new CodePipelineClient(config)),
    codedeploy: recorder.attach(new CodeDeployClient(config)),
    elbv2: recorder.attach(new ElasticLoadBalancingV2Client(config)),
    autoscaling: recorder.attach(new AutoScalingClient(config)),
  };
}

const first = (events: readonly SandboxEvent[], match: (e: SandboxEvent) => boolean) => events.find(match);
const last = (events: readonly SandboxEvent[], match: (e: SandboxEvent) => boolean) => events.findLast(match);

const optional = <K extends string>(key: K, value: number | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, number>>;

/**
 * The poll interval in force when a poller noticed the deployment's end: the time since its previous answer
 * about that deployment. A single detection latency depends on where the ticks fell; the interval bounds it.
 */
export function intervalAt(
  observations: readonly Observation[],
  deploymentId: string,
  detectedAt: number | undefined,
): number | undefined {
  if (detectedAt === undefined) return undefined;
  const key = entityKey.deployment(deploymentId);
  const before = observations.filter((o) => o.key === key && o.at < detectedAt).map((o) => o.at);
  return before.length === 0 ? undefined : detectedAt - Math.max(...before);
}

/** Splits a release's wall time using the sandbox's events (all on this machine's clock). */
export function breakdownOf(
  events: readonly SandboxEvent[],
  ids: { repositoryName: string; executionId: string; afterSeq: number },
  pushAt: number,
  liveAt: number,
  detections: readonly Detection[] = [],
): Breakdown {
  const mine = events.filter((e) => e.seq > ids.afterSeq);
  const pushed = first(
    mine,
    (e) => e.kind === 'push' && (e.detail ?? '').startsWith(`${ids.repositoryName} `),
  );
  const ofExecution = mine.filter((e) => e.executionId === ids.executionId);
  const ended = last(ofExecution, (e) => e.kind === 'pipelineExecution') ?? ofExecution.at(-1);
  const approvalStart = first(
    ofExecution,
    (e) => e.kind === 'action' && e.stage === 'Approval' && e.status === 'InProgress',
  );
  const approvalEnd =
    approvalStart &&
    first(
      ofExecution,
      (e) => e.kind === 'action' && e.action === approvalStart.action && e.seq > approvalStart.seq,
    );
  const pushedAt = pushed?.time ?? ofExecution[0]?.time ?? pushAt;
  const endedAt = ended?.time ?? liveAt;
  const approvalWait = approvalStart && approvalEnd ? approvalEnd.time - approvalStart.time : 0;
  const wall = liveAt - pushAt;
  const sandbox = endedAt - pushedAt - approvalWait;
  const noticedAt = ended ? detections.find((d) => d.event.seq === ended.seq)?.detectedAt : undefined;
  return {
    push: pushedAt - pushAt,
    sandbox,
    approvalWait,
    tail: liveAt - endedAt,
    noticeEnd: noticedAt === undefined ? Number.NaN : noticedAt - endedAt,
    liveCheck: noticedAt === undefined ? Number.NaN : liveAt - noticedAt,
    harness: wall - sandbox,
  };
}

/**
 * A release followed the way `Harness.follow` did before issue 16: the deployment to its end (blue's termination
 * wait included) and the Deploy stage, then the live check. The same public steps, only in sequence.
 */
async function followSequentially(harness: Harness, push: PushResult): Promise<Release> {
  const execution = await harness.findExecution(push);
  await harness.waitForStage(execution, harness.config.stages.source);
  await harness.waitForStage(execution, harness.config.stages.build);
  await harness.approve(execution);
  const { deploymentId, outcome } = await harness.followDeployment(execution);
  const live = await harness.expectLive(push.version);
  return { push, execution, deploymentId, outcome, live };
}

/** Provisions a stack with its own run id, then measures `releases` releases. Tears down in any case. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { endpoint, runId, tail, signal } = options;
  const log = options.log ?? (() => {});
  const recorder = new ApiRecorder();
  // The region as the harness's config reads it (HARNESS_REGION / AWS_REGION); nothing else of the env.
  const { region } = loadConfig();
  const harness = await Harness.start({
    sandbox: { endpoint, stop: async () => {} },
    env: {},
    config: { runId, endpoint, region, ...(options.events ? { events: options.events } : {}) },
    clients: recordedClients(endpoint, region, recorder),
  });
  const releases: ReleaseRun[] = [];
  try {
    const t0 = Date.now();
    await harness.provision();
    const provisionMs = Date.now() - t0;
    const names = harness.names;
    if (!names) throw new Error(`scenario ${runId}: provision() left no stack names`);
    log(`${runId}: stack provisioned and first version live in ${provisionMs} ms`);
    const sequentialFrom = options.releases - (options.sequentialLive ?? 0);
    for (let i = 0; i < options.releases; i++) {
      const sequentialLive = i >= sequentialFrom;
      if (signal.aborted) throw new Error(`scenario ${runId}: section time budget spent`);
      await tail.sync();
      const afterSeq = tail.lastSeq;
      const pushAt = Date.now();
      // The reference pollers start the moment the deployment is created, as a script handed the deployment
      // id at once would.
      const pollers = new AbortController();
      const onAbort = () => pollers.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      // The "before" releases measure the harness alone: the references have been measured on the others.
      const references: Promise<PollerRun[]> =
        options.references && !sequentialLive
          ? tail
              .waitFor(
                // Deployment events carry no pipeline name: this is only sound with one stack on the sandbox,
                // which is how the release section runs the references (scale runs without them).
                (e) =>
                  e.seq > afterSeq &&
                  e.kind === 'deployment' &&
                  e.status === 'Created' &&
                  !(e.detail ?? '').startsWith('rollback'),
                120_000,
                pollers.signal,
              )
              .then((e) => {
                const base = {
                  endpoint,
                  region,
                  deploymentId: e.deploymentId as string,
                  signal: pollers.signal,
                  maxWaitMs: 90_000,
                };
                return Promise.all([
                  sdkWaiter(base),
                  fixedIntervalPoller({ ...base, intervalMs: 15_000 }),
                  fixedIntervalPoller({ ...base, intervalMs: 10_000 }),
                ]);
              })
          : Promise.resolve([]);
      let release: Release;
      try {
        const push = await harness.push();
        release = sequentialLive
          ? await followSequentially(harness, push)
          : await harness.follow(push, { probe: false });
      } catch (error) {
        pollers.abort();
        await references.catch(() => []);
        signal.removeEventListener('abort', onAbort);
        throw error;
      }
      const liveAt = Date.now();
      // The pollers may still be sleeping; the section's budget still aborts them.
      const refRuns = await references.finally(() => signal.removeEventListener('abort', onAbort));
      // Let the tail catch up with everything logged up to now.
      await tail.sync();
      const executionId = release.execution.pipelineExecutionId;
      const deploymentId = release.deploymentId ?? '';
      const events = tail.events.filter((e) => e.seq > afterSeq);
      const include = (e: SandboxEvent) =>
        e.time <= liveAt &&
        (e.executionId === executionId || (deploymentId !== '' && e.deploymentId === deploymentId));
      const detections = detect(events, recorder.observations, include);
      const deployed = (ds: Detection[]) =>
        ds.find((d) => d.event.kind === 'deployment' && d.event.status === 'Succeeded');
      const ourDeployed = deployed(detections);
      const created = events.find((e) => e.kind === 'deployment' && e.deploymentId === deploymentId);
      const calls = recorder.callsBetween(pushAt, liveAt);
      const deploymentCalls =
        created && recorder.callsBetween(created.time, ourDeployed?.detectedAt ?? liveAt);
      releases.push({
        runId,
        version: release.push.version,
        executionId,
        deploymentId,
        pushAt,
        liveAt,
        wallMs: liveAt - pushAt,
        breakdown: breakdownOf(
          events,
          { repositoryName: names.repositoryName, executionId, afterSeq },
          pushAt,
          liveAt,
          detections,
        ),
        detections,
        calls,
        deploymentMs:
          (events.find(
            (e) => e.kind === 'deployment' && e.deploymentId === deploymentId && e.status === 'Succeeded',
          )?.time ?? Number.NaN) - (created?.time ?? Number.NaN),
        loadBalancerRequests: release.live?.evidence.length ?? 0,
        sequentialLive,
        ours: {
          ...(ourDeployed?.latencyMs !== undefined ? { deploymentDetectionMs: ourDeployed.latencyMs } : {}),
          ...optional('intervalMs', intervalAt(recorder.observations, deploymentId, ourDeployed?.detectedAt)),
          callsDuringDeployment: deploymentCalls ? deploymentCalls.length : Number.NaN,
          deploymentCallsByOperation: Object.fromEntries(countByOperation(deploymentCalls ?? [])),
        },
        references: refRuns.map((r) => {
          const d = deployed(
            detect(tail.events, r.recorder.observations, (e) => e.deploymentId === deploymentId),
          );
          return {
            name: r.name,
            outcome: r.outcome,
            ...(d?.latencyMs !== undefined ? { detectionMs: d.latencyMs } : {}),
            ...optional('intervalMs', intervalAt(r.recorder.observations, deploymentId, d?.detectedAt)),
            calls: r.recorder.calls.length,
          };
        }),
      });
      log(`${runId}: release ${i + 1} live after ${liveAt - pushAt} ms (${calls.length} API calls)`);
    }
    return { runId, provisionMs, releases, poll: harness.config.poll };
  } finally {
    await harness
      .close()
      .catch((error: unknown) => log(`${runId}: teardown failed: ${(error as Error).message}`));
  }
}
