/**
 * Approval/Manual: mints a token per action execution and waits for PutApprovalResult, the approval
 * timeout (default 7 days, `timeoutInMinutes` 5–86400, scaled by the sandbox time scale) or an abandon
 * (aws-semantics 2.3 "Approval action", 2.9).
 */
import { randomUUID } from 'node:crypto';
import type { ActionResult, ActionRunContext, ActionRunner } from './types.ts';

export interface ApprovalAnswer {
  status: 'Approved' | 'Rejected';
  summary?: string;
  by: string;
}

/** Default approval timeout: 7 days. */
const DEFAULT_TIMEOUT_MINUTES = 7 * 24 * 60;

/**
 * Runs Approval/Manual actions and takes PutApprovalResult answers for them.
 *
 * @example
 * const approvals = new ApprovalRunner();
 * approvals.answer(actionExecutionId, token, { status: 'Approved', summary: 'ok', by: callerArn });
 */
export class ApprovalRunner implements ActionRunner {
  /** Open approvals by action execution id. */
  readonly #open = new Map<string, { token: string; answer: (a: ApprovalAnswer) => void }>();

  /**
   * Delivers an answer to the open approval of an action execution. False when it is not open
   * (answered, timed out, abandoned) or the token does not match.
   */
  answer(actionExecutionId: string, token: string, answer: ApprovalAnswer): boolean {
    const open = this.#open.get(actionExecutionId);
    if (!open || open.token !== token) return false;
    this.#open.delete(actionExecutionId);
    open.answer(answer);
    return true;
  }

  async run(ctx: ActionRunContext): Promise<ActionResult> {
    const token = randomUUID();
    const minutes = ctx.action.timeoutInMinutes ?? DEFAULT_TIMEOUT_MINUTES;
    const timeoutMs = ctx.runtime.clock.scaled(minutes * 60);
    const ended = AbortSignal.any([ctx.signal, ctx.abandoned]);
    ctx.update({ token });
    const stopTimer = new AbortController();
    try {
      const answer = await new Promise<ApprovalAnswer | 'timeout' | 'ended'>((resolve) => {
        this.#open.set(ctx.actionExecutionId, { token, answer: resolve });
        if (ended.aborted) return resolve('ended');
        ended.addEventListener('abort', () => resolve('ended'), { once: true });
        sleepLong(ctx, timeoutMs, stopTimer.signal).then(
          () => resolve('timeout'),
          () => {},
        );
      });
      if (answer === 'ended')
        return { status: 'Failed', errorDetails: { code: 'JobFailed', message: 'Approval ended' } };
      if (answer === 'timeout') {
        return {
          status: 'Failed',
          errorDetails: {
            code: 'JobFailed',
            message: `Approval of action ${ctx.action.name} timed out: no response within ${minutes} minutes`,
          },
        };
      }
      const summary = answer.summary;
      if (answer.status === 'Approved') {
        return { status: 'Succeeded', lastUpdatedBy: answer.by, ...(summary ? { summary } : {}) };
      }
      return {
        status: 'Failed',
        lastUpdatedBy: answer.by,
        ...(summary ? { summary } : {}),
        errorDetails: {
          code: 'JobFailed',
          message: `Rejected by ${answer.by}${summary ? `: ${summary}` : ''}`,
        },
      };
    } finally {
      stopTimer.abort();
      this.#open.delete(ctx.actionExecutionId);
    }
  }

  async stop(): Promise<void> {
    this.#open.clear();
  }
}

/** Node timers overflow past 2^31-1 ms (~24.8 days; approvals may wait 60 days at time scale 1): sleep in slices. */
async function sleepLong(ctx: ActionRunContext, ms: number, signal: AbortSignal): Promise<void> {
  const MAX = 2 ** 31 - 1;
  let left = ms;
  while (left > 0) {
    const slice = Math.min(left, MAX);
    await ctx.runtime.clock.sleep(slice, signal);
    left -= slice;
  }
}
