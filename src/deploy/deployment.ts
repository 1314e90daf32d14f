/**
 * The CodeDeploy deployment behind a pipeline's Deploy action: finding it, waiting for its outcome, its
 * rollback. `Ready` and `Baking` are not final; a rolled-back deployment is a failure (aws-semantics §3.3, §3.10).
 */
import {
  type CodeDeployClient,
  type DeploymentInfo,
  GetDeploymentCommand,
  paginateListDeployments,
} from '@aws-sdk/client-codedeploy';
import { type Attempt, attempt } from '../attempt.ts';
import { GetPipelineStateCommand, ListActionExecutionsCommand } from '@aws-sdk/client-codepipeline';
import {
  type DeploymentErrorInfo,
  DeploymentFailedError,
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
      const out = await ctx.codepipeline.send(
        new ListActionExecutionsCommand({
          pipelineName: ctx.pipelineName,
          filter: { pipelineExecutionId: id },
        }),
        { abortSignal: signal },
      );
      const detail = (out.actionExecutionDetails ?? []).find(
        (d) => d.stageName === stage && wanted(d.actionName, d.output?.executionResult?.externalExecutionId),
      );
      if (detail) return { deploymentId: detail.output?.executionResult?.externalExecutionId, o };
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
      interval: ctx.interval,
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
  const state = await ctx.codepipeline.send(new GetPipelineStateCommand({ name: ctx.pipelineName }));
  const actions = state.stageStates?.find((s) => s.stageName === stage)?.actionStates ?? [];
  return actions.map((a) => a.latestExecution?.externalExecutionId).find((e) => e && DEPLOYMENT_ID.test(e));
}

/** What a deployment ended as (the result form). */
export interface DeploymentOutcome {
  deploymentId: string;
  /** `Succeeded`, `Failed` or `Stopped`. */
  status: string;
  errorInformation?: DeploymentErrorInfo | undefined;
  /** Set when CodeDeploy created a rollback deployment for this one. */
  rollbackDeploymentId?: string | undefined;
  rollbackMessage?: string | undefined;
  /** The full `DeploymentInfo` last read. */
  info: DeploymentInfo;
}

export interface WaitForDeploymentOptions {
  /** @default 1800000 (ms, 30m) */
  timeout?: number;
  signal?: AbortSignal;
  interval?: IntervalOptions;
  onChange?: (status: string) => void;
}

const FINAL = new Set(['Succeeded', 'Failed', 'Stopped']);

/** A failed/stopped deployment whose auto-rollback covers this failure but whose rollback link is not there yet. */
function rollbackPending(info: DeploymentInfo): boolean {
  const auto = info.autoRollbackConfiguration;
  if (!auto?.enabled || info.rollbackInfo) return false;
  const events = auto.events ?? [];
  if (info.status === 'Failed') return events.includes('DEPLOYMENT_FAILURE');
  if (info.status === 'Stopped') return events.includes('DEPLOYMENT_STOP_ON_REQUEST');
  return false;
}

function describeInfo(info: DeploymentInfo): string {
  const o = info.deploymentOverview;
  const order = ['Pending', 'InProgress', 'Ready', 'Succeeded', 'Failed', 'Skipped'] as const;
  const counts = o
    ? ` [${order
        .filter((k) => o[k])
        .map((k) => `${k} ${o[k]}`)
        .join(', ')}]`
    : '';
  const pending = rollbackPending(info) ? ', rollback pending' : '';
  const rollback = info.rollbackInfo?.rollbackDeploymentId
    ? `, rolled back by ${info.rollbackInfo.rollbackDeploymentId}`
    : '';
  return `${info.status ?? 'Unknown'}${counts}${pending}${rollback}`;
}

/**
 * Waits for the deployment to end and returns what it ended as, without judging it (the result form).
 * `Created`, `Queued`, `InProgress`, `Ready` (blue/green waiting to reroute) and `Baking` are not final;
 * a `Failed`/`Stopped` deployment whose auto-rollback applies is final once its rollback is linked.
 *
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
  let info: DeploymentInfo;
  try {
    info = await poll(
      async ({ signal }) => {
        const out = await codedeploy.send(new GetDeploymentCommand({ deploymentId }), {
          abortSignal: signal,
        });
        return out.deploymentInfo ?? {};
      },
      {
        timeout,
        signal: options.signal,
        interval: options.interval,
        what: `deployment ${deploymentId}`,
        describe: describeInfo,
        onChange: (c) => options.onChange?.(c.state.status ?? 'Unknown'),
        isDone: (i) => FINAL.has(i.status ?? '') && !rollbackPending(i),
      },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const targets = await lifecycleEvents(codedeploy, deploymentId).catch(() => []);
    const where = describeTargets(targets);
    const last = error.lastState as DeploymentInfo | undefined;
    throw new WaitTimeoutError(
      `deployment ${deploymentId} still ${last ? describeInfo(last) : 'not observed'} after ${formatDuration(timeout)}` +
        (where ? `; ${where}` : ''),
      timeout,
      { cause: error, lastState: error.lastState, history: error.history },
    );
  }
  return {
    deploymentId,
    status: info.status ?? 'Unknown',
    errorInformation: info.errorInformation,
    rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId,
    rollbackMessage: info.rollbackInfo?.rollbackMessage,
    info,
  };
}

/**
 * Waits for the deployment to succeed (the assert form of `waitForDeploymentEnd`).
 *
 * @throws DeploymentRolledBackError when it failed and CodeDeploy rolled it back; DeploymentFailedError when it
 *   failed or was stopped (with `errorInformation` and the failing instance's event); WaitTimeoutError.
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
  if (outcome.status === 'Succeeded') return outcome;
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
  throw new DeploymentFailedError(
    outcome.rollbackMessage ? `${text}; no rollback: ${outcome.rollbackMessage}` : text,
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
