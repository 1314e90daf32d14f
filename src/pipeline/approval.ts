/**
 * Answering OUR manual approval only: the approval stage's `latestExecution.pipelineExecutionId` must be our
 * execution and the action `InProgress` with a token (aws-semantics §2.9). A token is never logged, never put
 * into an error or an observation.
 */
import { type Attempt, attempt } from '../attempt.ts';
import { GetPipelineStateCommand, PutApprovalResultCommand } from '@aws-sdk/client-codepipeline';
import { ApprovalNotOursError, WaitTimeoutError, formatDuration } from '../errors.ts';
import { StopPolling, poll } from '../poll.ts';
import {
  type ExecutionRef,
  type PipelineContext,
  type StageObservation,
  TERMINAL_EXECUTION,
  describeStage,
  observeStage,
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
}

/** Ours and open? Then read the token (only then, and only from this one fresh GetPipelineState). */
function openForUs(o: StageObservation, action: string): boolean {
  return o.ours && o.actions.some((a) => a.name === action && a.approvalOpen);
}

async function tokenFor(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stage: string,
  action: string,
): Promise<string | undefined> {
  const state = await ctx.codepipeline.send(new GetPipelineStateCommand({ name: ctx.pipelineName }));
  const s = state.stageStates?.find((x) => x.stageName === stage);
  if (s?.latestExecution?.pipelineExecutionId !== execution.pipelineExecutionId) return undefined;
  const latest = s.actionStates?.find((a) => a.actionName === action)?.latestExecution;
  return latest?.status === 'InProgress' ? latest.token : undefined;
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
        interval: ctx.interval,
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

  const token = await tokenFor(ctx, execution, stage, action);
  if (!token) {
    throw new ApprovalNotOursError(
      `the approval ${where} stopped being ours between two reads (stage now ${describeStage(observation)}); refusing to answer`,
      { pipelineExecutionId: id },
      { lastState: observation },
    );
  }
  try {
    const out = await ctx.codepipeline.send(
      new PutApprovalResultCommand({
        pipelineName: ctx.pipelineName,
        stageName: stage,
        actionName: action,
        result: { summary: options.summary, status },
        token,
      }),
    );
    ctx.timeline?.record({ pipelineExecutionId: id, stage, action, status, detail: options.summary });
    return { pipelineExecutionId: id, stage, action, status, approvedAt: out.approvedAt };
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name === 'InvalidApprovalTokenException' || name === 'ApprovalAlreadyCompletedException') {
      // The approval was answered, expired or replaced between our read and our answer.
      throw new ApprovalNotOursError(
        `CodePipeline refused our answer to ${where} of execution ${id} (${name}): the approval was answered, ` +
          'expired or replaced in the meantime',
        { pipelineExecutionId: id },
        { cause: error, lastState: observation },
      );
    }
    throw error;
  }
}

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
