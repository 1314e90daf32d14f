/**
 * Finding OUR execution: the one whose `sourceRevisions` holds our commit (aws-semantics §2.7). Never
 * "the latest execution": another push may have started one in between.
 */
import { type Attempt, attempt } from '../attempt.ts';
import { ListPipelineExecutionsCommand, type PipelineExecutionSummary } from '@aws-sdk/client-codepipeline';
import { ExecutionNotFoundError, WaitTimeoutError, formatDuration } from '../errors.ts';
import { StopPolling, poll } from '../poll.ts';
import { type ExecutionRef, notFound, type PipelineContext, pollingOf } from './observe.ts';

export interface FindExecutionOptions {
  /** The commit id `pushVersionBump` returned (full SHA; a prefix of 7+ characters also matches). */
  commitId: string;
  /** Only executions started at or after this time (e.g. just before the push). */
  startedAfter?: Date;
  /** @default 120000 (ms) */
  timeout?: number;
}

function matches(summary: PipelineExecutionSummary, commitId: string): boolean {
  return (summary.sourceRevisions ?? []).some(
    (r) => r.revisionId === commitId || (commitId.length >= 7 && r.revisionId?.startsWith(commitId)),
  );
}

function line(s: PipelineExecutionSummary): string {
  const revs = (s.sourceRevisions ?? []).map((r) => r.revisionId?.slice(0, 12)).join('+') || 'no revision';
  return `${s.pipelineExecutionId} [${revs}] ${s.status}`;
}

/**
 * Waits until an execution of the pipeline carries `commitId` in its `sourceRevisions` and returns it.
 * When several do (a retry, a manual start on the same commit), the earliest one started after
 * `startedAfter` wins.
 *
 * @throws ExecutionNotFoundError at the deadline, listing the executions it saw instead.
 * @example
 * ```ts
 * const { commitId } = await pushVersionBump({ repoUrl, runId });
 * const execution = await findExecution(ctx, { commitId });
 * ```
 */
export async function findExecution(
  ctx: PipelineContext,
  options: FindExecutionOptions,
): Promise<ExecutionRef> {
  const timeout = options.timeout ?? 120_000; // ms
  const after = options.startedAfter?.getTime() ?? 0;
  try {
    const found = await poll(
      async ({ signal }) => {
        const summaries: PipelineExecutionSummary[] = [];
        let nextToken: string | undefined;
        // Two pages of 100 newest executions are plenty for a push that happened seconds ago.
        for (let page = 0; page < 2; page++) {
          const out = await ctx.codepipeline
            .send(
              new ListPipelineExecutionsCommand({
                pipelineName: ctx.pipelineName,
                maxResults: 100,
                nextToken,
              }),
              {
                abortSignal: signal,
              },
            )
            .catch((error: unknown) => {
              const mapped = notFound(ctx, error);
              throw mapped !== error ? new StopPolling(mapped as Error) : error;
            });
          summaries.push(...(out.pipelineExecutionSummaries ?? []));
          if (!out.nextToken || summaries.some((s) => matches(s, options.commitId))) break;
          nextToken = out.nextToken;
        }
        const candidates = summaries
          .filter(
            (s) =>
              matches(s, options.commitId) && (s.startTime?.getTime() ?? Number.POSITIVE_INFINITY) >= after,
          )
          .sort((a, b) => (a.startTime?.getTime() ?? 0) - (b.startTime?.getTime() ?? 0));
        return { match: candidates[0], latest: summaries.slice(0, 3).map(line) };
      },
      {
        timeout,
        // Any event of the pipeline: the commit shows on an execution only once its Source action has succeeded.
        ...pollingOf(ctx, { pipeline: ctx.pipelineName }),
        signal: ctx.signal,
        what: `execution of ${ctx.pipelineName} for commit ${options.commitId}`,
        describe: (s) =>
          s.match
            ? `found ${s.match.pipelineExecutionId}`
            : `not listed; latest: ${s.latest.join(', ') || 'none'}`,
        isDone: (s) => s.match !== undefined,
        expectChange: true,
      },
    );
    const m = found.match!;
    ctx.timeline?.record({
      pipelineExecutionId: m.pipelineExecutionId!,
      status: m.status ?? 'InProgress',
      detail: `commit ${options.commitId}`,
    });
    return {
      pipelineName: ctx.pipelineName,
      pipelineExecutionId: m.pipelineExecutionId!,
      commitId: options.commitId,
      startTime: m.startTime,
    };
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const last = error.lastState as { latest: string[] } | undefined;
    throw new ExecutionNotFoundError(
      `no execution of pipeline ${ctx.pipelineName} carries commit ${options.commitId} after ` +
        `${formatDuration(timeout)} (latest executions: ${last?.latest.join(', ') || 'none'}); check that the push ` +
        'went to the branch the source action watches and that change detection is on',
      { pipelineName: ctx.pipelineName, commitId: options.commitId },
      { cause: error, lastState: error.lastState, history: error.history },
    );
  }
}

/** Result form of {@link findExecution}: `{ ok: false, error: ExecutionNotFoundError }` instead of throwing. */
export function tryFindExecution(
  ctx: PipelineContext,
  options: FindExecutionOptions,
): Promise<Attempt<ExecutionRef>> {
  return attempt(() => findExecution(ctx, options));
}
