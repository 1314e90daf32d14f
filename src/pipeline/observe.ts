/**
 * Reading one execution's view of a pipeline: one stage of GetPipelineState plus the execution status (read with
 * GetPipelineExecution when the state cannot tell it), reduced to what the harness reasons about. Approval tokens
 * never enter an observation.
 */
import {
  type CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  type GetPipelineStateCommandOutput,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  type PipelineExecutionSummary,
  type StageState,
} from '@aws-sdk/client-codepipeline';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import {
  ExecutionFailedError,
  ExecutionNotFoundError,
  ExecutionStoppedError,
  ExecutionSupersededError,
  type FailedAction,
  HarnessError,
} from '../errors.ts';
import type { IntervalOptions } from '../poll.ts';
import { FreshReads } from '../watch/fresh.ts';
import type { WatchedPollOptions, Watching, WatchTopic } from '../watch/index.ts';
import { describeBuildLog, isBuildId, readBuildLog } from './build-log.ts';
import type { Timeline } from './timeline.ts';

/** What every pipeline function needs. */
export interface PipelineContext {
  codepipeline: CodePipelineClient;
  pipelineName: string;
  /** When given, stage timeouts describe the deployment behind a running CodeDeploy action. */
  codedeploy?: CodeDeployClient | undefined;
  /**
   * With `logs`: a failed CodeBuild action's error names the failing test, read from its build's log
   * (BatchGetBuilds, then CloudWatch Logs GetLogEvents).
   */
  codebuild?: CodeBuildClient | undefined;
  logs?: CloudWatchLogsClient | undefined;
  timeline?: Timeline | undefined;
  interval?: IntervalOptions | undefined;
  signal?: AbortSignal | undefined;
  /** How waits learn of changes (src/watch): an event wakes them before their next poll. @default polling only */
  watch?: Watching | undefined;
}

/** The poll options of a wait on `topic`: the watch's (a wake on events, a safety-net interval), else the interval. */
export function pollingOf(ctx: PipelineContext, topic: WatchTopic): WatchedPollOptions {
  return ctx.watch?.pollOptions(topic, ctx.interval) ?? { interval: ctx.interval };
}

/** Our execution, as returned by `findExecution`. */
export interface ExecutionRef {
  pipelineName: string;
  pipelineExecutionId: string;
  /** The source revision (commit id) the execution was found by. */
  commitId?: string | undefined;
  startTime?: Date | undefined;
}

export interface ActionObservation {
  name: string;
  status?: string | undefined;
  externalExecutionId?: string | undefined;
  summary?: string | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /** True when the action has an open approval token (the token itself is never kept). */
  approvalOpen: boolean;
}

/** One poll's view of a stage from our execution's point of view. */
export interface StageObservation {
  pipelineExecutionId: string;
  executionStatus: string;
  statusSummary?: string | undefined;
  stage: string;
  /** True when the stage's `latestExecution` is our execution (else the stage shows someone else's run). */
  ours: boolean;
  /** The stage's latest execution id and status (whoever it is). */
  stageExecutionId?: string | undefined;
  stageStatus?: string | undefined;
  /** GetPipelineState shows our execution running in an earlier stage: it has not reached this one yet. */
  notYet?: boolean | undefined;
  /** Our execution waiting in front of the stage (inbound), if so. */
  inbound?: string | undefined;
  /**
   * When the stage shows another execution: our own run of it, from ListActionExecutions (`Succeeded`,
   * `Failed`, `InProgress`, `Stopped`), or undefined when ours never entered it.
   */
  ourStageStatus?: string | undefined;
  actions: ActionObservation[];
}

export const TERMINAL_EXECUTION = new Set(['Failed', 'Superseded', 'Stopped', 'Stopping', 'Cancelled']);

function isNotFound(error: unknown, ...names: string[]): boolean {
  return names.includes((error as { name?: string })?.name ?? '');
}

/** Maps PipelineNotFound / PipelineExecutionNotFound to `ExecutionNotFoundError` (cannot heal by waiting). */
export function notFound(ctx: PipelineContext, error: unknown, executionId?: string): unknown {
  if (isNotFound(error, 'PipelineNotFoundException')) {
    return new ExecutionNotFoundError(
      `pipeline ${ctx.pipelineName} does not exist (PipelineNotFoundException); check pipelineName ` +
        '(HARNESS_PIPELINE_NAME) and the region',
      { pipelineName: ctx.pipelineName },
      { cause: error },
    );
  }
  if (isNotFound(error, 'PipelineExecutionNotFoundException') && executionId) {
    return new ExecutionNotFoundError(
      `execution ${executionId} of pipeline ${ctx.pipelineName} does not exist (PipelineExecutionNotFoundException)`,
      { pipelineName: ctx.pipelineName },
      { cause: error },
    );
  }
  return error;
}

const pipelineStates = new FreshReads<GetPipelineStateCommandOutput>();

/**
 * GetPipelineState of the context's pipeline; an answer received under 100 ms ago with no event since is reused
 * (src/watch/fresh.ts): consecutive waits do not read the same state twice.
 */
export function readPipelineState(
  ctx: PipelineContext,
  signal?: AbortSignal,
): Promise<GetPipelineStateCommandOutput> {
  return pipelineStates.read(ctx.codepipeline, ctx.pipelineName, ctx.watch, () =>
    ctx.codepipeline.send(new GetPipelineStateCommand({ name: ctx.pipelineName }), { abortSignal: signal }),
  );
}

/** Forgets the last GetPipelineState answer of the context's pipeline (after a write of ours that changes it). */
export function forgetPipelineState(ctx: PipelineContext): void {
  pipelineStates.forget(ctx.codepipeline, ctx.pipelineName);
}

/**
 * Where GetPipelineState shows our execution's status: the stage whose latest execution is ours and
 * `InProgress` or `Stopping`, or in front of which ours waits (inbound); or the last stage, ours and `Succeeded`
 * (the execution succeeds with its last stage). Undefined when no stage tells it.
 */
function shownStatus(
  stages: readonly StageState[],
  id: string,
): { stage: string; status: string } | undefined {
  const last = stages.at(-1);
  if (last?.latestExecution?.pipelineExecutionId === id && last.latestExecution.status === 'Succeeded')
    return { stage: last.stageName ?? '?', status: 'Succeeded' };
  for (const s of stages) {
    const latest = s.latestExecution;
    if (
      latest?.pipelineExecutionId === id &&
      (latest.status === 'InProgress' || latest.status === 'Stopping')
    )
      return { stage: s.stageName ?? '?', status: latest.status };
    const inbound = [s.inboundExecution, ...(s.inboundExecutions ?? [])].find(
      (e) => e?.pipelineExecutionId === id && e.status === 'InProgress',
    );
    if (inbound) return { stage: s.stageName ?? '?', status: 'InProgress' };
  }
  return undefined;
}

/**
 * Fetches one stage's state and the execution status; records transitions on the timeline. The execution status
 * is read (GetPipelineExecution) only when GetPipelineState cannot tell it: while a stage shows ours `InProgress`
 * (or `Stopping`) the execution is too (aws-semantics §2.4), and once the last stage shows ours `Succeeded` so
 * has the execution, so a release costs one read per look.
 */
export async function observeStage(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stageName: string,
  signal?: AbortSignal,
): Promise<StageObservation> {
  const id = execution.pipelineExecutionId;
  let executionStatus: string;
  let statusSummary: string | undefined;
  let stageStates: StageState[];
  let shown: { stage: string; status: string } | undefined;
  try {
    stageStates = (await readPipelineState(ctx, signal)).stageStates ?? [];
    shown = shownStatus(stageStates, id);
    if (shown) executionStatus = shown.status;
    else {
      const exec = await ctx.codepipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: ctx.pipelineName, pipelineExecutionId: id }),
        { abortSignal: signal },
      );
      executionStatus = exec.pipelineExecution?.status ?? 'Unknown';
      statusSummary = exec.pipelineExecution?.statusSummary;
    }
  } catch (error) {
    throw notFound(ctx, error, id);
  }
  ctx.timeline?.record({ pipelineExecutionId: id, status: executionStatus, detail: statusSummary });
  recordStages(ctx, id, stageStates);
  const index = stageStates.findIndex((s) => s.stageName === stageName);
  const stage = stageStates[index];
  if (!stage) {
    const names = stageStates.map((s) => s.stageName).join(', ');
    throw new HarnessError(
      `pipeline ${ctx.pipelineName} has no stage ${stageName} (stages: ${names}); check the stage names in the config`,
    );
  }
  const ours = stage.latestExecution?.pipelineExecutionId === id;
  const inbound = [stage.inboundExecution, ...(stage.inboundExecutions ?? [])].find(
    (e) => e?.pipelineExecutionId === id,
  );
  // Ours still runs in an earlier stage: it has not reached this one.
  const ahead = shown !== undefined && stageStates.findIndex((s) => s.stageName === shown.stage) < index;
  // Once ours has left the stage a newer execution may show there: ask for our own actions of it.
  const ourStageStatus =
    ours || inbound || ahead
      ? undefined
      : await ourRunOfStage(ctx, id, stageName, stage.actionStates?.length ?? 1, signal);
  return {
    pipelineExecutionId: id,
    executionStatus,
    statusSummary,
    stage: stageName,
    ours,
    notYet: ahead,
    ourStageStatus,
    stageExecutionId: stage.latestExecution?.pipelineExecutionId,
    stageStatus: stage.latestExecution?.status,
    inbound: inbound?.status,
    actions: (stage.actionStates ?? []).map((a) => ({
      name: a.actionName ?? '?',
      status: a.latestExecution?.status,
      externalExecutionId: a.latestExecution?.externalExecutionId,
      summary: a.latestExecution?.summary,
      errorCode: a.latestExecution?.errorDetails?.code,
      errorMessage: a.latestExecution?.errorDetails?.message,
      approvalOpen: Boolean(a.latestExecution?.token) && a.latestExecution?.status === 'InProgress',
    })),
  };
}

/** Our execution's status in a stage it may have left, from its own action executions. */
async function ourRunOfStage(
  ctx: PipelineContext,
  id: string,
  stageName: string,
  actionCount: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const out = await ctx.codepipeline.send(
    new ListActionExecutionsCommand({ pipelineName: ctx.pipelineName, filter: { pipelineExecutionId: id } }),
    { abortSignal: signal },
  );
  const mine = (out?.actionExecutionDetails ?? []).filter((d) => d.stageName === stageName);
  if (mine.length === 0) return undefined;
  if (mine.some((d) => d.status === 'Failed')) return 'Failed';
  if (mine.some((d) => d.status === 'Abandoned')) return 'Stopped';
  if (mine.length >= actionCount && mine.every((d) => d.status === 'Succeeded')) return 'Succeeded';
  return 'InProgress';
}

/** Timeline entries for every stage (and its actions) whose latest execution is ours. */
function recordStages(ctx: PipelineContext, id: string, stages: StageState[]): void {
  if (!ctx.timeline) return;
  for (const stage of stages) {
    if (stage.latestExecution?.pipelineExecutionId !== id || !stage.stageName) continue;
    ctx.timeline.record({
      pipelineExecutionId: id,
      stage: stage.stageName,
      status: stage.latestExecution.status ?? '?',
    });
    for (const action of stage.actionStates ?? []) {
      const latest = action.latestExecution;
      if (!latest?.status) continue;
      ctx.timeline.record({
        pipelineExecutionId: id,
        stage: stage.stageName,
        action: action.actionName,
        status: latest.status,
        externalExecutionId: latest.externalExecutionId,
        detail: latest.errorDetails?.message ?? latest.summary,
      });
    }
  }
}

/** One line for messages and change detection. */
export function describeStage(o: StageObservation): string {
  const exec = `execution ${o.executionStatus}`;
  if (!o.ours) {
    const where = o.inbound
      ? `waiting in front of ${o.stage} (${o.inbound})`
      : o.ourStageStatus
        ? `${o.stage}: ${o.ourStageStatus} (ours, from its action executions)`
        : `not in ${o.stage} yet`;
    const shows = o.stageExecutionId
      ? `; ${o.stage} shows execution ${o.stageExecutionId}: ${o.stageStatus}`
      : '';
    return `${exec}, ${where}${shows}`;
  }
  const actions = o.actions
    .map(
      (a) =>
        `${a.name}: ${a.status ?? 'not started'}${a.externalExecutionId ? ` ${a.externalExecutionId}` : ''}`,
    )
    .join(', ');
  return `${exec}, ${o.stage}: ${o.stageStatus}${actions ? ` (${actions})` : ''}`;
}

/** Finds our execution's summary in ListPipelineExecutions (first pages) and the execution right after it. */
async function summaryOf(
  ctx: PipelineContext,
  id: string,
): Promise<{ ours?: PipelineExecutionSummary; newer: PipelineExecutionSummary[] }> {
  const all: PipelineExecutionSummary[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 3; page++) {
    const out = await ctx.codepipeline.send(
      new ListPipelineExecutionsCommand({ pipelineName: ctx.pipelineName, nextToken, maxResults: 100 }),
    );
    all.push(...(out.pipelineExecutionSummaries ?? []));
    const found = all.find((s) => s.pipelineExecutionId === id);
    if (found || !out.nextToken) break;
    nextToken = out.nextToken;
  }
  const ours = all.find((s) => s.pipelineExecutionId === id);
  const start = ours?.startTime?.getTime() ?? 0;
  const newer = all
    .filter((s) => s.pipelineExecutionId !== id && (s.startTime?.getTime() ?? 0) > start)
    .sort((a, b) => (a.startTime?.getTime() ?? 0) - (b.startTime?.getTime() ?? 0));
  return ours ? { ours, newer } : { newer };
}

/** Our execution's failed stage/action with `errorDetails`, from ListActionExecutions. */
export async function failedActionOf(ctx: PipelineContext, id: string): Promise<FailedAction | undefined> {
  const out = await ctx.codepipeline.send(
    new ListActionExecutionsCommand({ pipelineName: ctx.pipelineName, filter: { pipelineExecutionId: id } }),
  );
  const failed = (out.actionExecutionDetails ?? []).find((d) => d.status === 'Failed');
  if (!failed) return undefined;
  const result = failed.output?.executionResult;
  return {
    stage: failed.stageName ?? '?',
    action: failed.actionName,
    errorCode: result?.errorDetails?.code,
    errorMessage: result?.errorDetails?.message ?? result?.externalExecutionSummary,
    externalExecutionId: result?.externalExecutionId,
  };
}

function failedFromObservation(o: StageObservation): FailedAction | undefined {
  if (!o.ours) return undefined;
  const action = o.actions.find((a) => a.status === 'Failed');
  if (!action && o.stageStatus !== 'Failed') return undefined;
  return {
    stage: o.stage,
    action: action?.name,
    errorCode: action?.errorCode,
    errorMessage: action?.errorMessage,
    externalExecutionId: action?.externalExecutionId,
  };
}

/**
 * The typed error for an execution that can no longer reach the wanted state: `Failed` (naming the failed
 * stage/action and its `errorDetails`), `Superseded` (naming the newer execution) or `Stopping`/`Stopped`/
 * `Cancelled` (with the stop reason).
 */
export async function terminalError(
  ctx: PipelineContext,
  o: StageObservation,
  options: { lastState?: unknown; history?: readonly import('../errors.ts').Change[] } = {},
): Promise<HarnessError> {
  const id = o.pipelineExecutionId;
  const fields = { lastState: options.lastState ?? o, history: options.history ?? [] };
  if (
    o.executionStatus === 'Failed' ||
    (o.ours && o.stageStatus === 'Failed') ||
    o.ourStageStatus === 'Failed'
  ) {
    const failed = failedFromObservation(o) ?? (await failedActionOf(ctx, id).catch(() => undefined));
    // A failed build says only which command failed; the test that failed is in its log (build-log.ts).
    if (failed && isBuildId(failed.externalExecutionId) && ctx.codebuild && ctx.logs) {
      failed.buildLog = await readBuildLog(
        { codebuild: ctx.codebuild, logs: ctx.logs },
        failed.externalExecutionId,
        ctx.signal ? { signal: ctx.signal } : {},
      );
    }
    const where = failed
      ? `at stage ${failed.stage}${failed.action ? `, action ${failed.action}` : ''}` +
        (failed.errorCode || failed.errorMessage
          ? `: ${[failed.errorCode, failed.errorMessage].filter(Boolean).join(': ')}`
          : '') +
        (failed.buildLog ? `; ${describeBuildLog(failed.buildLog)}` : '')
      : `(${o.statusSummary ?? 'no failed action reported'})`;
    return new ExecutionFailedError(
      `execution ${id} of pipeline ${ctx.pipelineName} failed ${where}`,
      failed ? { pipelineExecutionId: id, failed } : { pipelineExecutionId: id },
      fields,
    );
  }
  const { ours, newer } = await summaryOf(ctx, id).catch(() => ({ ours: undefined, newer: [] }));
  if (o.executionStatus === 'Superseded') {
    const by = newer[0];
    const byText = by
      ? ` by execution ${by.pipelineExecutionId}` +
        (by.sourceRevisions?.[0]?.revisionId ? ` (revision ${by.sourceRevisions[0].revisionId})` : '')
      : '';
    return new ExecutionSupersededError(
      `execution ${id} of pipeline ${ctx.pipelineName} was superseded${byText} while waiting in front of a ` +
        `locked stage (${o.stage}: ${describeStage(o)}); a newer push replaced it: do not push to ` +
        'the branch while a run is in progress, or use a QUEUED pipeline',
      by?.pipelineExecutionId
        ? { pipelineExecutionId: id, supersededBy: by.pipelineExecutionId }
        : { pipelineExecutionId: id },
      fields,
    );
  }
  const reason = ours?.stopTrigger?.reason;
  return new ExecutionStoppedError(
    `execution ${id} of pipeline ${ctx.pipelineName} is ${o.executionStatus}` +
      (reason ? ` (reason: ${reason})` : '') +
      `; it will not reach ${o.stage}`,
    reason
      ? { pipelineExecutionId: id, status: o.executionStatus, reason }
      : { pipelineExecutionId: id, status: o.executionStatus },
    fields,
  );
}
