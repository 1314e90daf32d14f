/**
 * Answering OUR manual approval only: the approval stage's `latestExecution.pipelineExecutionId` must be our
 * execution and the action `InProgress` with a token (aws-semantics §2.9). A token is never logged, never put
 * into an error or an observation.
 *
 * PutApprovalResult is not idempotent: when the SDK retries it after a lost response (a 5xx or a reset after the
 * first attempt landed), CodePipeline answers the retry `ApprovalAlreadyCompletedException` or
 * `InvalidApprovalTokenException` (§2.9: which one is unverified). Such a refusal counts as our success only when
 * the state shows that very approval request answered with our status and our summary; never assumed.
 */
import { type Attempt, attempt } from '../attempt.ts';
import {
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { ApprovalNotOursError, WaitTimeoutError, formatDuration } from '../errors.ts';
import { StopPolling, isTransientError, poll } from '../poll.ts';
import {
  type ExecutionRef,
  type PipelineContext,
  type StageObservation,
  TERMINAL_EXECUTION,
  describeStage,
  forgetPipelineState,
  observeStage,
  pollingOf,
  readPipelineState,
  terminalError,
} from './observe.ts';

export interface ApprovalOptions {
  /** The approver's summary (0–512 characters). */
  summary: string;
  /** Approval stage. @default 'Approval' */
  stage?: string;
  /** Approval action. @default 'ManualApproval' */
  action?: string;
  /** How long to wait for our execution to reach the approval. 0 = check once. @default 600000 (ms) */
  timeout?: number;
}

export interface ApprovalResult {
  pipelineExecutionId: string;
  stage: string;
  action: string;
  status: 'Approved' | 'Rejected';
  approvedAt: Date | undefined;
  /**
   * True when PutApprovalResult itself failed (refused as already answered, or out of retries) and the
   * pipeline's state showed the request answered with our status and summary: an earlier attempt had landed.
   */
  confirmedFromState?: boolean;
}

/** Ours and open? Then read the token (only then, and only from a fresh GetPipelineState). */
function openForUs(o: StageObservation, action: string): boolean {
  return o.ours && o.actions.some((a) => a.name === action && a.approvalOpen);
}

async function tokenFor(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stage: string,
  action: string,
): Promise<{ token: string; actionExecutionId: string | undefined } | undefined> {
  // The answer the observation that found the request open was read from, when it is that fresh.
  const state = await readPipelineState(ctx);
  const s = state.stageStates?.find((x) => x.stageName === stage);
  if (s?.latestExecution?.pipelineExecutionId !== execution.pipelineExecutionId) return undefined;
  const latest = s.actionStates?.find((a) => a.actionName === action)?.latestExecution;
  return latest?.status === 'InProgress' && latest.token
    ? { token: latest.token, actionExecutionId: latest.actionExecutionId }
    : undefined;
}

/** Our approval request as the pipeline shows it now (no token). */
interface AnswerSeen {
  /** The action execution's status: `InProgress` while open, `Succeeded` once approved, `Failed` once rejected. */
  status: string | undefined;
  summary: string | undefined;
  /** Who answered (an ARN), when the service says. */
  by: string | undefined;
  at: Date | undefined;
}

/**
 * Reads the approval request we read the token of: from GetPipelineState while the stage shows our execution,
 * else (a newer execution has entered the stage) from our execution's action executions. Undefined when neither
 * shows it.
 */
async function answerSeen(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stage: string,
  action: string,
  actionExecutionId: string | undefined,
  signal: AbortSignal,
): Promise<AnswerSeen | undefined> {
  const same = (id: string | undefined) => !actionExecutionId || !id || id === actionExecutionId;
  const state = await ctx.codepipeline.send(new GetPipelineStateCommand({ name: ctx.pipelineName }), {
    abortSignal: signal,
  });
  const s = state.stageStates?.find((x) => x.stageName === stage);
  const latest = s?.actionStates?.find((a) => a.actionName === action)?.latestExecution;
  if (
    s?.latestExecution?.pipelineExecutionId === execution.pipelineExecutionId &&
    latest &&
    same(latest.actionExecutionId)
  ) {
    return {
      status: latest.status,
      summary: latest.summary,
      by: latest.lastUpdatedBy,
      at: latest.lastStatusChange,
    };
  }
  const out = await ctx.codepipeline.send(
    new ListActionExecutionsCommand({
      pipelineName: ctx.pipelineName,
      filter: { pipelineExecutionId: execution.pipelineExecutionId },
    }),
    { abortSignal: signal },
  );
  const detail = (out?.actionExecutionDetails ?? []).find(
    (d) => d.stageName === stage && d.actionName === action && same(d.actionExecutionId),
  );
  if (!detail) return undefined;
  return {
    status: detail.status,
    summary: detail.output?.executionResult?.externalExecutionSummary,
    by: detail.updatedBy,
    at: detail.lastUpdateTime,
  };
}

/**
 * Our answer, and nobody else's: the status it sets and our summary (an empty summary cannot tell a rejection
 * from a timeout, so then someone must be named as having answered).
 */
function showsOurAnswer(
  seen: AnswerSeen | undefined,
  status: 'Approved' | 'Rejected',
  summary: string,
): boolean {
  if (!seen) return false;
  const expected = status === 'Approved' ? 'Succeeded' : 'Failed';
  return seen.status === expected && (seen.summary ?? '') === summary && (summary !== '' || Boolean(seen.by));
}

function describeSeen(seen: AnswerSeen | undefined): string {
  if (!seen) return 'the request is not shown any more';
  return `it shows ${seen.status ?? 'no status'}${seen.summary ? ` with summary "${seen.summary}"` : ''}`;
}

async function answer(
  ctx: PipelineContext,
  execution: ExecutionRef,
  status: 'Approved' | 'Rejected',
  options: ApprovalOptions,
): Promise<ApprovalResult> {
  const stage = options.stage ?? 'Approval';
  const action = options.action ?? 'ManualApproval';
  const id = execution.pipelineExecutionId;
  const timeout = options.timeout ?? 10 * 60_000; // ms
  const where = `${stage}/${action}`;
  let observation: StageObservation;
  try {
    observation = await poll(
      async ({ signal }) => {
        const o = await observeStage(ctx, execution, stage, signal);
        if (openForUs(o, action)) return o;
        if (TERMINAL_EXECUTION.has(o.executionStatus)) throw new StopPolling(await terminalError(ctx, o));
        const ours = o.ours
          ? o.actions.find((a) => a.name === action)
          : o.ourStageStatus && o.ourStageStatus !== 'InProgress'
            ? { name: action, status: o.ourStageStatus, summary: undefined }
            : undefined;
        if (ours?.status && ours.status !== 'InProgress') {
          throw new StopPolling(
            new ApprovalNotOursError(
              `the approval ${where} of execution ${id} is already ${ours.status}` +
                (ours.summary ? ` (${ours.summary})` : '') +
                '; it cannot be answered again',
              { pipelineExecutionId: id },
              { lastState: o },
            ),
          );
        }
        return o;
      },
      {
        timeout,
        ...pollingOf(ctx, { pipeline: ctx.pipelineName, executionId: id, stage }),
        signal: ctx.signal,
        what: `approval ${where} of execution ${id}`,
        describe: describeStage,
        isDone: (o) => openForUs(o, action),
      },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const o = error.lastState as StageObservation | undefined;
    const other =
      o && !o.ours && o.stageExecutionId && o.actions.some((a) => a.name === action && a.approvalOpen);
    const openFor = other ? o.stageExecutionId : undefined;
    throw new ApprovalNotOursError(
      `no open approval ${where} for execution ${id} after ${formatDuration(timeout)}` +
        (openFor
          ? `; the open approval belongs to execution ${openFor}, not ours: refusing to answer it`
          : '') +
        (o ? ` (${describeStage(o)})` : ''),
      openFor ? { pipelineExecutionId: id, openFor } : { pipelineExecutionId: id },
      { cause: error, lastState: error.lastState, history: error.history },
    );
  }

  const open = await tokenFor(ctx, execution, stage, action);
  if (!open) {
    throw new ApprovalNotOursError(
      `the approval ${where} stopped being ours between two reads (stage now ${describeStage(observation)}); refusing to answer`,
      { pipelineExecutionId: id },
      { lastState: observation },
    );
  }
  const answered = (approvedAt: Date | undefined, confirmedFromState?: true): ApprovalResult => {
    ctx.timeline?.record({ pipelineExecutionId: id, stage, action, status, detail: options.summary });
    return {
      pipelineExecutionId: id,
      stage,
      action,
      status,
      approvedAt,
      ...(confirmedFromState ? { confirmedFromState } : {}),
    };
  };
  const read = (signal: AbortSignal) =>
    answerSeen(ctx, execution, stage, action, open.actionExecutionId, signal);
  try {
    const out = await ctx.codepipeline.send(
      new PutApprovalResultCommand({
        pipelineName: ctx.pipelineName,
        stageName: stage,
        actionName: action,
        result: { summary: options.summary, status },
        token: open.token,
      }),
    );
    forgetPipelineState(ctx);
    return answered(out.approvedAt);
  } catch (error) {
    forgetPipelineState(ctx);
    const name = (error as { name?: string }).name ?? '';
    if (name === 'InvalidApprovalTokenException' || name === 'ApprovalAlreadyCompletedException') {
      // Answered, expired or replaced since we read the token, or our own earlier attempt landed and only its
      // response was lost. The state tells which: wait (briefly: the status follows the answer) for the request
      // to leave InProgress, then it must show our status and summary.
      let seen: AnswerSeen | undefined;
      try {
        seen = await poll(({ signal }) => read(signal), {
          timeout: Math.min(timeout, ANSWER_VISIBLE_MS),
          interval: ctx.interval,
          signal: ctx.signal,
          what: `the answer to ${where} of execution ${id} to show`,
          describe: (x) => describeSeen(x),
          isDone: (x) => x?.status !== 'InProgress',
        });
      } catch (readError) {
        if (!(readError instanceof WaitTimeoutError)) throw readError;
        seen = readError.lastState as AnswerSeen | undefined;
      }
      if (showsOurAnswer(seen, status, options.summary)) return answered(seen?.at, true);
      throw new ApprovalNotOursError(
        `CodePipeline refused our answer to ${where} of execution ${id} (${name}): the approval was answered, ` +
          `expired or replaced in the meantime; ${describeSeen(seen)}, not our ${status}`,
        { pipelineExecutionId: id },
        { cause: error, lastState: observation },
      );
    }
    if (isTransientError(error)) {
      // Out of retries, but an attempt may have landed: one read decides; when it shows nothing of ours the
      // error stands (never a success we did not see).
      const seen = await read(AbortSignal.timeout(ANSWER_VISIBLE_MS)).catch(() => undefined);
      if (showsOurAnswer(seen, status, options.summary)) return answered(seen?.at, true);
    }
    throw error;
  }
}

/** How long a refused answer may take to show in the pipeline's state before we call the refusal not ours. */
const ANSWER_VISIBLE_MS = 15_000; // ms

/**
 * Approves our execution's manual approval, waiting (up to `timeout`) until our execution reaches it.
 *
 * @throws ApprovalNotOursError when the open approval belongs to another execution (never answered), is already
 *   answered or the token went stale; ExecutionFailedError / ExecutionSupersededError / ExecutionStoppedError.
 * @example
 * ```ts
 * await approve(ctx, execution, { summary: `run ${runId}: build green`, stage: 'Approval', action: 'ManualApproval' });
 * ```
 */
export function approve(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: ApprovalOptions,
): Promise<ApprovalResult> {
  return answer(ctx, execution, 'Approved', options);
}

/** Rejects our execution's manual approval (the execution then fails at that stage). Same rules as `approve`. */
export function reject(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: ApprovalOptions,
): Promise<ApprovalResult> {
  return answer(ctx, execution, 'Rejected', options);
}

/** Result form of {@link approve}: `{ ok: false, error }` instead of throwing a `HarnessError`. */
export function tryApprove(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: ApprovalOptions,
): Promise<Attempt<ApprovalResult>> {
  return attempt(() => approve(ctx, execution, options));
}

/** Result form of {@link reject}: `{ ok: false, error }` instead of throwing a `HarnessError`. */
export function tryReject(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: ApprovalOptions,
): Promise<Attempt<ApprovalResult>> {
  return attempt(() => reject(ctx, execution, options));
}
