/**
 * Waiting for a stage of OUR execution to reach a status, failing fast when the execution fails, is
 * superseded or stopped (aws-semantics §2.3–2.5).
 */
import { type Attempt, attempt } from '../attempt.ts';
import { describeDeploymentProgress } from '../deploy/progress.ts';
import { HarnessError, StageTimeoutError, WaitTimeoutError, formatDuration } from '../errors.ts';
import { StopPolling, poll } from '../poll.ts';
import {
  type ExecutionRef,
  type PipelineContext,
  type StageObservation,
  TERMINAL_EXECUTION,
  describeStage,
  observeStage,
  pollingOf,
  terminalError,
} from './observe.ts';

/** Stage statuses one can wait for (`StageExecutionStatus`). */
export type StageStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped' | 'Cancelled' | 'Skipped';

export interface WaitForStageOptions {
  /** @default 1800000 (ms, 30m) */
  timeout?: number;
}

/** Has the stage reached `status` for our execution? `InProgress` is also met by a stage that already succeeded. */
function reached(o: StageObservation, status: StageStatus): boolean {
  const ours = ourStatus(o);
  if (ours === undefined) return false;
  if (ours === status) return true;
  return status === 'InProgress' && ours === 'Succeeded';
}

/** Our execution's status in the stage: from GetPipelineState while it shows us, else from our action executions. */
function ourStatus(o: StageObservation): string | undefined {
  return o.ours ? o.stageStatus : o.ourStageStatus;
}

/**
 * Waits until `stage` of `execution` reaches `status` and returns the last observation.
 *
 * @throws ExecutionFailedError (naming the failed stage/action and its errorDetails), ExecutionSupersededError,
 *   ExecutionStoppedError as soon as the execution can no longer get there; StageTimeoutError at the deadline,
 *   naming the last state and, for a running CodeDeploy action, the deployment and each instance's event.
 * @example
 * ```ts
 * await waitForStage(ctx, execution, 'BuildAndTest', 'Succeeded', { timeout: 20 * 60_000 });
 * ```
 */
export async function waitForStage(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stage: string,
  status: StageStatus,
  options: WaitForStageOptions = {},
): Promise<StageObservation> {
  const timeout = options.timeout ?? 30 * 60_000; // ms
  const id = execution.pipelineExecutionId;
  try {
    return await poll(
      async ({ signal }) => {
        const o = await observeStage(ctx, execution, stage, signal);
        if (reached(o, status)) return o;
        const stopping = o.executionStatus === 'Stopping' && (status === 'Stopped' || status === 'Cancelled');
        const stageFailed = ourStatus(o) === 'Failed';
        if ((TERMINAL_EXECUTION.has(o.executionStatus) && !stopping) || stageFailed) {
          throw new StopPolling(await terminalError(ctx, o));
        }
        if (o.executionStatus === 'Succeeded') {
          throw new StopPolling(
            new HarnessError(
              `execution ${id} Succeeded but stage ${stage} never reached ${status} (${describeStage(o)})`,
              { lastState: o },
            ),
          );
        }
        return o;
      },
      {
        timeout,
        ...pollingOf(ctx, { pipeline: ctx.pipelineName, executionId: id, stage, actions: false }),
        signal: ctx.signal,
        what: `stage ${stage} of execution ${id}`,
        describe: describeStage,
        isDone: (o) => reached(o, status),
      },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw await stageTimeout(ctx, id, stage, status, timeout, error);
  }
}

async function stageTimeout(
  ctx: PipelineContext,
  id: string,
  stage: string,
  status: StageStatus,
  timeout: number,
  error: WaitTimeoutError,
): Promise<StageTimeoutError> {
  const o = error.lastState as StageObservation | undefined;
  let text: string;
  if (!o)
    text = `stage ${stage} of execution ${id} not observed after ${formatDuration(timeout)} (wanted ${status})`;
  else if (!o.ours) {
    text = `stage ${stage} of execution ${id} still not entered after ${formatDuration(timeout)} (wanted ${status}); ${describeStage(o)}`;
  } else {
    text = `stage ${stage} of execution ${id} still ${o.stageStatus} after ${formatDuration(timeout)} (wanted ${status})`;
    for (const action of o.actions.filter((a) => a.status === 'InProgress')) {
      text += `; action ${action.name}`;
      const ext = action.externalExecutionId;
      if (ext && /^d-[A-Z0-9]+$/.test(ext) && ctx.codedeploy) {
        // Best effort: the deployment's own view makes the timeout actionable.
        const progress = await describeDeploymentProgress(ctx.codedeploy, ext).catch(() => undefined);
        text += ` → ${progress ?? `deployment ${ext}`}`;
      } else if (ext) text += ` → ${ext}`;
      if (action.approvalOpen) text += ' (waiting for approval)';
    }
  }
  return new StageTimeoutError(
    text,
    { stage, pipelineExecutionId: id, timeoutMs: timeout },
    { cause: error, lastState: error.lastState, history: error.history },
  );
}

/**
 * Result form of {@link waitForStage}: `{ ok: true, value }` when the stage reached `status`, else
 * `{ ok: false, error }` with the error the assert form throws (e.g. `ExecutionFailedError` naming the action).
 *
 * @example
 * ```ts
 * const build = await tryWaitForStage(ctx, execution, 'BuildAndTest', 'Succeeded');
 * if (!build.ok) console.log(build.error.message);
 * ```
 */
export function tryWaitForStage(
  ctx: PipelineContext,
  execution: ExecutionRef,
  stage: string,
  status: StageStatus,
  options: WaitForStageOptions = {},
): Promise<Attempt<StageObservation>> {
  return attempt(() => waitForStage(ctx, execution, stage, status, options));
}
