/**
 * The CodeDeploy deployment behind a pipeline's Deploy action: finding it, waiting for its outcome, its
 * rollback. `Ready` and `Baking` are not final; a rolled-back deployment is a failure (aws-semantics §3.3, §3.10).
 */
import {
  type CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  paginateListDeployments,
} from '@aws-sdk/client-codedeploy';
import { type Attempt, attempt } from '../attempt.ts';
import { ListActionExecutionsCommand } from '@aws-sdk/client-codepipeline';
import { FreshReads } from '../watch/fresh.ts';
import type { Watching } from '../watch/index.ts';
import {
  type DeploymentErrorInfo,
  DeploymentFailedError,
  DeploymentReadyError,
  DeploymentRolledBackError,
  HarnessError,
  WaitTimeoutError,
  formatDuration,
} from '../errors.ts';
import { type IntervalOptions, StopPolling, poll } from '../poll.ts';
import {
  type ExecutionRef,
  type PipelineContext,
  TERMINAL_EXECUTION,
  observeStage,
  pollingOf,
  readPipelineState,
  terminalError,
} from '../pipeline/observe.ts';
import { describeTargets } from './progress.ts';
import { lifecycleEvents } from './targets.ts';

/** A CodeDeploy deployment id (`d-` and nine characters). */
export const DEPLOYMENT_ID = /^d-[A-Z0-9]{9}$/;

export interface DeploymentOfOptions {
  /** The stage whose CodeDeploy action started the deployment. @default 'Deploy' */
  stage?: string;
  /** The Deploy action's name; @default the stage's action whose external id is a deployment id */
  action?: string;
  /** @default 600000 (ms, 10m): until the action has started its deployment */
  timeout?: number;
}

/**
 * The CodeDeploy deployment id (`d-XXXXXXXXX`) started by the Deploy action of our execution: the action's
 * `externalExecutionId` (aws-semantics §2.8), from GetPipelineState while our execution is in the stage, else
 * from ListActionExecutions filtered on our execution id.
 *
 * @throws ExecutionFailedError / ExecutionSupersededError / ExecutionStoppedError when the execution ends
 *   before a deployment was started; WaitTimeoutError at the deadline.
 * @example
 * ```ts
 * const deploymentId = await deploymentOf(ctx, execution, { stage: 'Deploy' });
 * ```
 */
export async function deploymentOf(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: DeploymentOfOptions = {},
): Promise<string> {
  const stage = options.stage ?? 'Deploy';
  const id = execution.pipelineExecutionId;
  const wanted = (name: string | undefined, ext: string | undefined) =>
    Boolean(ext && DEPLOYMENT_ID.test(ext) && (!options.action || options.action === name));
  const found = await poll(
    async ({ signal }) => {
      const o = await observeStage(ctx, execution, stage, signal);
      const fromState = o.ours ? o.actions.find((a) => wanted(a.name, a.externalExecutionId)) : undefined;
      if (fromState) return { deploymentId: fromState.externalExecutionId, o };
      // Only when a newer execution shows in the stage may ours have left it with its deployment started.
      if (!o.ours && !o.notYet && !o.inbound) {
        const out = await ctx.codepipeline.send(
          new ListActionExecutionsCommand({
            pipelineName: ctx.pipelineName,
            filter: { pipelineExecutionId: id },
          }),
          { abortSignal: signal },
        );
        const detail = (out.actionExecutionDetails ?? []).find(
          (d) =>
            d.stageName === stage && wanted(d.actionName, d.output?.executionResult?.externalExecutionId),
        );
        if (detail) return { deploymentId: detail.output?.executionResult?.externalExecutionId, o };
      }
      if (TERMINAL_EXECUTION.has(o.executionStatus) || o.executionStatus === 'Succeeded') {
        if (o.executionStatus === 'Succeeded') {
          throw new StopPolling(
            new HarnessError(`execution ${id} Succeeded without a CodeDeploy deployment in stage ${stage}`),
          );
        }
        throw new StopPolling(await terminalError(ctx, o));
      }
      return { deploymentId: undefined, o };
    },
    {
      timeout: options.timeout ?? 10 * 60_000, // ms
      ...pollingOf(ctx, { pipeline: ctx.pipelineName, executionId: id, stage, deployments: true }),
      signal: ctx.signal,
      what: `the deployment of stage ${stage} of execution ${id}`,
      describe: (s) =>
        s.deploymentId ??
        `no deployment yet (${s.o.ours ? `${stage}: ${s.o.stageStatus}` : `not in ${stage}`})`,
      isDone: (s) => s.deploymentId !== undefined,
    },
  );
  return found.deploymentId!;
}

/** Reads the deployment id straight from GetPipelineState (no wait), for callers that already know it started. */
export async function currentDeploymentOf(ctx: PipelineContext, stage: string): Promise<string | undefined> {
  const state = await readPipelineState(ctx);
  const actions = state.stageStates?.find((s) => s.stageName === stage)?.actionStates ?? [];
  return actions.map((a) => a.latestExecution?.externalExecutionId).find((e) => e && DEPLOYMENT_ID.test(e));
}

/**
 * Where a deployment is, in the terms a release cares about (aws-semantics §3.3, §3.4, §3.10):
 * - `starting`: `Created` or `Queued`;
 * - `deploying`: `InProgress` (or `Baking`) before traffic has shifted;
 * - `ready`: `Ready`: green is installed and CodeDeploy waits for ContinueDeployment (`deploymentReadyOption`
 *   STOP_DEPLOYMENT), then stops the deployment at the end of `waitTimeInMinutes`;
 * - `traffic-shifted`: still `InProgress`, but traffic is on green and blue is in its termination wait
 *   (`instanceTerminationWaitTimeStarted`): users already get the new version;
 * - `rollback-pending`: `Failed`/`Stopped`, a rollback is expected and its link (`rollbackInfo`) is not there yet
 *   (CodeDeploy writes it after the status);
 * - `ended`: final, with its rollback link or none expected.
 */
export type DeploymentPhase =
  | 'starting'
  | 'deploying'
  | 'ready'
  | 'traffic-shifted'
  | 'rollback-pending'
  | 'ended';

/** What a deployment ended as (the result form). */
export interface DeploymentOutcome {
  deploymentId: string;
  /** `Succeeded`, `Failed` or `Stopped`; `InProgress` when the wait ended at the traffic shift. */
  status: string;
  /** `ended`, or `traffic-shifted` when the wait ended there (`liveAtTrafficShift`). */
  phase: DeploymentPhase;
  errorInformation?: DeploymentErrorInfo | undefined;
  /** Set when CodeDeploy created a rollback deployment for this one. */
  rollbackDeploymentId?: string | undefined;
  rollbackMessage?: string | undefined;
  /**
   * Why a rollback was expected (`auto-rollback on DEPLOYMENT_FAILURE`, `stopped with autoRollbackEnabled`, ...),
   * undefined when none was. Expected with no `rollbackDeploymentId`: its link did not come in time.
   */
  rollbackExpected?: string | undefined;
  /** The full `DeploymentInfo` last read. */
  info: DeploymentInfo;
}

/** One observation of a deployment while waiting for it (given to `onChange`). */
export interface DeploymentObservation {
  deploymentId: string;
  status: string;
  phase: DeploymentPhase;
  /** The wait sent ContinueDeployment (READY_WAIT) for this deployment's `Ready` (`continueReady`). */
  continued: boolean;
  /** One line: `InProgress [Succeeded 4], traffic shifted, blue terminating`. */
  summary: string;
  info: DeploymentInfo;
}

export interface WaitForDeploymentOptions {
  /** Until the deployment ends (or its traffic shift, with `liveAtTrafficShift`). @default 1800000 (ms, 30m) */
  timeout?: number;
  signal?: AbortSignal;
  interval?: IntervalOptions;
  /**
   * Ends a poll pause early when an event says the deployment may have changed (`Watch.pollOptions`, src/watch).
   * @default none: polling only
   */
  wake?: ((signal: AbortSignal) => Promise<unknown>) | undefined;
  /**
   * Called on every change: the status, then the whole observation. The traffic shift (`InProgress` with blue
   * terminating) and a late rollback link are changes of their own.
   */
  onChange?: (status: string, observation: DeploymentObservation) => void;
  /**
   * End the wait once traffic has shifted and blue is in its termination wait (status still `InProgress`,
   * `instanceTerminationWaitTimeStarted`): what users get then is the new version. The outcome has
   * `phase: 'traffic-shifted'`, and the assert form counts it as success. Blue/green only; the harness setting is
   * `deploy.liveAtTrafficShift` (`HARNESS_LIVE_AT_TRAFFIC_SHIFT`).
   * @default false: wait for the end (`Succeeded` comes after the termination wait)
   */
  liveAtTrafficShift?: boolean;
  /**
   * Send ContinueDeployment (READY_WAIT) when the deployment is `Ready` (blue/green with STOP_DEPLOYMENT), so
   * traffic is rerouted. The harness setting is `deploy.continueReady` (`HARNESS_CONTINUE_READY`).
   * @default false: a deployment in `Ready` ends the wait with `DeploymentReadyError` naming that setting
   */
  continueReady?: boolean;
  /**
   * The caller stopped this deployment with `autoRollbackEnabled`: a rollback comes whatever the group's
   * auto-rollback events say (aws-semantics §3.9), so a `Stopped` status is final only with its link.
   * @default false
   */
  rollbackExpected?: boolean;
  /**
   * How long to wait, once the status is final, for a rollback link that is expected but not there yet
   * (CodeDeploy writes `rollbackInfo` after the status). Then the outcome is final without it.
   * @default 120000 (ms, 2m)
   */
  rollbackLinkTimeout?: number;
  /**
   * The run's watch: a GetDeployment answer received under 100 ms ago with no event since is reused (a wait that
   * starts as another ends reads nothing new). @default none: every look reads
   */
  watch?: Watching | undefined;
}

const deploymentReads = new FreshReads<DeploymentInfo>();

/** Deployment statuses that are final (every other one may still change). */
export const FINAL_DEPLOYMENT: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Stopped']);

/** How long a final status may wait for its expected rollback link by default. */
const ROLLBACK_LINK_TIMEOUT_MS = 2 * 60_000; // ms

/** The harness settings named in messages. */
const LIVE_AT_TRAFFIC_SHIFT_SETTING = 'HARNESS_LIVE_AT_TRAFFIC_SHIFT=true (deploy.liveAtTrafficShift)';
const CONTINUE_READY_SETTING = 'HARNESS_CONTINUE_READY=true (deploy.continueReady)';

/**
 * Why CodeDeploy rolls back this `Failed`/`Stopped` deployment, or undefined when it does not (aws-semantics §3.9,
 * §3.10): a failure with auto-rollback on `DEPLOYMENT_FAILURE`; a stop the caller made with `autoRollbackEnabled`,
 * whatever the group's events; an alarm stop with `DEPLOYMENT_STOP_ON_ALARM`; another stop with
 * `DEPLOYMENT_STOP_ON_REQUEST`. A `Ready` wait that expired (`TIMEOUT`) is no stop on request, and a rollback
 * deployment is not rolled back again.
 *
 * @example
 * ```ts
 * expectedRollback(info, true); // 'stopped with autoRollbackEnabled' for a deployment we stopped
 * ```
 */
export function expectedRollback(info: DeploymentInfo, stoppedWithRollback = false): string | undefined {
  if (info.creator === 'codeDeployRollback') return undefined;
  const auto = info.autoRollbackConfiguration;
  const on = (event: string) =>
    auto?.enabled === true && (auto.events ?? []).some((e) => e === event)
      ? `auto-rollback on ${event}`
      : undefined;
  if (info.status === 'Failed') return on('DEPLOYMENT_FAILURE');
  if (info.status !== 'Stopped') return undefined;
  if (stoppedWithRollback) return 'stopped with autoRollbackEnabled';
  const code = info.errorInformation?.code;
  if (code === 'ALARM_ACTIVE') return on('DEPLOYMENT_STOP_ON_ALARM');
  if (code === 'TIMEOUT') return undefined;
  return on('DEPLOYMENT_STOP_ON_REQUEST');
}

/** `rollbackInfo` is written: a rollback deployment linked, or a message saying why there is none. */
function rollbackDecided(info: DeploymentInfo): boolean {
  return Boolean(info.rollbackInfo?.rollbackDeploymentId || info.rollbackInfo?.rollbackMessage);
}

/**
 * The phase of a deployment (see {@link DeploymentPhase}); `stoppedWithRollback` as in {@link expectedRollback}.
 *
 * @example
 * ```ts
 * deploymentPhase({ status: 'InProgress', instanceTerminationWaitTimeStarted: true }); // 'traffic-shifted'
 * ```
 */
export function deploymentPhase(info: DeploymentInfo, stoppedWithRollback = false): DeploymentPhase {
  const status = info.status ?? '';
  if (FINAL_DEPLOYMENT.has(status)) {
    return expectedRollback(info, stoppedWithRollback) && !rollbackDecided(info)
      ? 'rollback-pending'
      : 'ended';
  }
  if (status === 'Ready') return 'ready';
  if (status === 'Created' || status === 'Queued') return 'starting';
  if (status === 'InProgress' && info.instanceTerminationWaitTimeStarted === true) return 'traffic-shifted';
  return 'deploying';
}

const PHASE_TEXT: Partial<Record<DeploymentPhase, string>> = {
  ready: ', green installed, waiting for ContinueDeployment',
  'traffic-shifted': ', traffic shifted, blue terminating',
  'rollback-pending': ', rollback pending',
};

function describeInfo(info: DeploymentInfo, stoppedWithRollback = false): string {
  const o = info.deploymentOverview;
  const order = ['Pending', 'InProgress', 'Ready', 'Succeeded', 'Failed', 'Skipped'] as const;
  const counts = o
    ? ` [${order
        .filter((k) => o[k])
        .map((k) => `${k} ${o[k]}`)
        .join(', ')}]`
    : '';
  const phase = PHASE_TEXT[deploymentPhase(info, stoppedWithRollback)] ?? '';
  const rollback = info.rollbackInfo?.rollbackDeploymentId
    ? `, rolled back by ${info.rollbackInfo.rollbackDeploymentId}`
    : '';
  return `${info.status ?? 'Unknown'}${counts}${phase}${rollback}`;
}

/** The blue termination wait a deployment's configuration gives, for messages: ` (blue is terminated 60m after the traffic shift)`. */
function terminationWait(info: DeploymentInfo | undefined): string {
  const minutes =
    info?.blueGreenDeploymentConfiguration?.terminateBlueInstancesOnDeploymentSuccess
      ?.terminationWaitTimeInMinutes;
  return minutes === undefined ? '' : ` (blue is terminated ${minutes}m after the traffic shift)`;
}

/** ContinueDeployment(READY_WAIT); a deployment that left `Ready` meanwhile (continued by someone else, stopped) is fine. */
async function continueReady(codedeploy: CodeDeployClient, deploymentId: string, signal: AbortSignal) {
  try {
    await codedeploy.send(new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'READY_WAIT' }), {
      abortSignal: signal,
    });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'DeploymentIsNotInReadyStateException' && name !== 'DeploymentAlreadyCompletedException')
      throw error;
  }
}

/**
 * Waits for the deployment to end and returns what it ended as, without judging it (the result form).
 * `Created`, `Queued`, `InProgress` (the blue termination wait included), `Ready` and `Baking` are not final. A
 * `Ready` deployment is continued (ContinueDeployment) with `continueReady`, else the wait ends with
 * `DeploymentReadyError`. A `Failed`/`Stopped` deployment whose rollback is expected is final once its rollback is
 * linked (CodeDeploy writes `rollbackInfo` after the status), or once `rollbackLinkTimeout` has passed without it.
 * With `liveAtTrafficShift` the wait ends at the traffic shift (`phase: 'traffic-shifted'`).
 *
 * @throws DeploymentReadyError (the deployment waits in `Ready` and `continueReady` is off); WaitTimeoutError.
 * @example
 * ```ts
 * const outcome = await waitForDeploymentEnd(codedeploy, deploymentId, { timeout: 30 * 60_000 });
 * if (outcome.rollbackDeploymentId) console.log('rolled back by', outcome.rollbackDeploymentId);
 * ```
 */
export async function waitForDeploymentEnd(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: WaitForDeploymentOptions = {},
): Promise<DeploymentOutcome> {
  const timeout = options.timeout ?? 30 * 60_000; // ms
  const stopped = options.rollbackExpected === true;
  let continued = false;
  const probe = async ({ signal }: { signal: AbortSignal }): Promise<DeploymentObservation> => {
    const info = await deploymentReads.read(
      codedeploy,
      deploymentId,
      options.watch,
      async () =>
        (await codedeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: signal }))
          .deploymentInfo ?? {},
    );
    if (options.continueReady && !continued && info.status === 'Ready') {
      await continueReady(codedeploy, deploymentId, signal);
      deploymentReads.forget(codedeploy, deploymentId);
      continued = true;
    }
    return {
      deploymentId,
      status: info.status ?? 'Unknown',
      phase: deploymentPhase(info, stopped),
      continued,
      summary:
        describeInfo(info, stopped) +
        (continued && info.status === 'Ready' ? ', ContinueDeployment sent' : ''),
      info,
    };
  };
  let reported: string | undefined;
  const common = {
    signal: options.signal,
    interval: options.interval,
    wake: options.wake,
    what: `deployment ${deploymentId}`,
    describe: (o: DeploymentObservation) => o.summary,
    // One report per change across both waits (the link wait starts with what the first one ended on).
    onChange: (c: { state: DeploymentObservation }) => {
      if (c.state.summary === reported) return;
      reported = c.state.summary;
      options.onChange?.(c.state.status, c.state);
    },
  };
  let last: DeploymentObservation;
  try {
    last = await poll(probe, {
      ...common,
      timeout,
      isDone: (o) =>
        o.phase === 'ended' ||
        o.phase === 'rollback-pending' ||
        (o.phase === 'ready' && !options.continueReady) ||
        (o.phase === 'traffic-shifted' && options.liveAtTrafficShift === true),
    });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const targets = await lifecycleEvents(codedeploy, deploymentId).catch(() => []);
    const where = describeTargets(targets);
    const seen = error.lastState as DeploymentObservation | undefined;
    const hint =
      seen?.phase === 'traffic-shifted'
        ? `; traffic has shifted and blue is in its termination wait${terminationWait(seen.info)}: set ${LIVE_AT_TRAFFIC_SHIFT_SETTING} to call a release live once traffic has shifted, or a deploy timeout above the wait`
        : '';
    throw new WaitTimeoutError(
      `deployment ${deploymentId} still ${seen ? seen.summary : 'not observed'} after ${formatDuration(timeout)}` +
        (where ? `; ${where}` : '') +
        hint,
      timeout,
      { cause: error, lastState: seen?.info, history: error.history },
    );
  }
  if (last.phase === 'ready') {
    const wait = last.info.blueGreenDeploymentConfiguration?.deploymentReadyOption?.waitTimeInMinutes;
    throw new DeploymentReadyError(
      `deployment ${deploymentId} is Ready: green is installed and CodeDeploy waits for ContinueDeployment ` +
        `(deploymentReadyOption STOP_DEPLOYMENT${wait === undefined ? '' : `, stopping it after ${wait}m`}) before it reroutes traffic; ` +
        `set ${CONTINUE_READY_SETTING} to have the harness continue it, or continue it yourself ` +
        `(aws deploy continue-deployment --deployment-id ${deploymentId} --deployment-wait-type READY_WAIT) and wait again`,
      { deploymentId, setting: 'deploy.continueReady' },
      { lastState: last.info },
    );
  }
  if (last.phase === 'rollback-pending') {
    // CodeDeploy writes rollbackInfo after the status: wait for it, within its own deadline.
    try {
      last = await poll(probe, {
        ...common,
        timeout: options.rollbackLinkTimeout ?? ROLLBACK_LINK_TIMEOUT_MS,
        expectChange: true,
        isDone: (o) => o.phase !== 'rollback-pending',
      });
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      last = (error.lastState as DeploymentObservation | undefined) ?? last;
    }
  }
  const info = last.info;
  return {
    deploymentId,
    status: info.status ?? 'Unknown',
    phase: last.phase === 'rollback-pending' ? 'ended' : last.phase,
    errorInformation: info.errorInformation,
    rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId,
    rollbackMessage: info.rollbackInfo?.rollbackMessage,
    rollbackExpected: expectedRollback(info, stopped),
    info,
  };
}

/**
 * Waits for the deployment to succeed (the assert form of `waitForDeploymentEnd`); with `liveAtTrafficShift`, the
 * traffic shift (blue terminating) counts as success.
 *
 * @throws DeploymentRolledBackError when it failed and CodeDeploy rolled it back; DeploymentFailedError when it
 *   failed or was stopped (with `errorInformation` and the failing instance's event); DeploymentReadyError;
 *   WaitTimeoutError.
 * @example
 * ```ts
 * await waitForDeployment(codedeploy, await deploymentOf(ctx, execution));
 * ```
 */
export async function waitForDeployment(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: WaitForDeploymentOptions = {},
): Promise<DeploymentOutcome> {
  const outcome = await waitForDeploymentEnd(codedeploy, deploymentId, options);
  if (outcome.status === 'Succeeded' || outcome.phase === 'traffic-shifted') return outcome;
  const info = outcome.errorInformation;
  const targets = await lifecycleEvents(codedeploy, deploymentId).catch(() => []);
  const failing = describeTargets(targets.filter((t) => t.status === 'Failed'));
  const text =
    `deployment ${deploymentId} ${outcome.status}` +
    (info?.code || info?.message ? ` (${[info.code, info.message].filter(Boolean).join(': ')})` : '') +
    (failing ? `; ${failing}` : '');
  const lastState = outcome.info;
  if (outcome.rollbackDeploymentId) {
    throw new DeploymentRolledBackError(
      `${text}; CodeDeploy rolled it back with deployment ${outcome.rollbackDeploymentId}`,
      {
        deploymentId,
        status: outcome.status,
        errorInformation: info,
        rollbackDeploymentId: outcome.rollbackDeploymentId,
      },
      { lastState },
    );
  }
  const why = outcome.rollbackMessage
    ? `; no rollback: ${outcome.rollbackMessage}`
    : outcome.rollbackExpected
      ? `; a rollback was expected (${outcome.rollbackExpected}) but none was linked within ${formatDuration(options.rollbackLinkTimeout ?? ROLLBACK_LINK_TIMEOUT_MS)} of the ${outcome.status} status`
      : '';
  throw new DeploymentFailedError(
    `${text}${why}`,
    { deploymentId, status: outcome.status, errorInformation: info },
    { lastState },
  );
}

/**
 * Result form of {@link waitForDeployment}: `{ ok: true, value }` when it succeeded, else `{ ok: false, error }`
 * with the `DeploymentFailedError` / `DeploymentRolledBackError` / `WaitTimeoutError` the assert form throws.
 */
export function tryWaitForDeployment(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: WaitForDeploymentOptions = {},
): Promise<Attempt<DeploymentOutcome>> {
  return attempt(() => waitForDeployment(codedeploy, deploymentId, options));
}

/** Which deployment group, and since when. */
export interface DeploymentsSinceOptions {
  applicationName: string;
  deploymentGroupName: string;
  /** Only deployments created at or after this time. */
  since: Date;
}

/**
 * The ids of every deployment created in a deployment group since a time (all pages of ListDeployments), e.g.
 * to prove that nothing was deployed for a commit the pipeline stopped.
 *
 * @example
 * ```ts
 * const ids = await deploymentsSince(codedeploy, { applicationName, deploymentGroupName, since: pushedAt });
 * ```
 */
export async function deploymentsSince(
  codedeploy: CodeDeployClient,
  options: DeploymentsSinceOptions,
): Promise<string[]> {
  const ids: string[] = [];
  const pages = paginateListDeployments(
    { client: codedeploy },
    {
      applicationName: options.applicationName,
      deploymentGroupName: options.deploymentGroupName,
      createTimeRange: { start: options.since },
    },
  );
  for await (const page of pages) ids.push(...(page.deployments ?? []));
  return ids;
}

/** The rollback linked to a deployment, read once (`rollbackInfo`, aws-semantics §3.10). */
export async function rollbackOf(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<
  | { rollbackDeploymentId?: string; rollbackTriggeringDeploymentId?: string; rollbackMessage?: string }
  | undefined
> {
  const out = await codedeploy.send(new GetDeploymentCommand({ deploymentId }));
  const r = out.deploymentInfo?.rollbackInfo;
  if (!r) return undefined;
  return {
    ...(r.rollbackDeploymentId ? { rollbackDeploymentId: r.rollbackDeploymentId } : {}),
    ...(r.rollbackTriggeringDeploymentId
      ? { rollbackTriggeringDeploymentId: r.rollbackTriggeringDeploymentId }
      : {}),
    ...(r.rollbackMessage ? { rollbackMessage: r.rollbackMessage } : {}),
  };
}
