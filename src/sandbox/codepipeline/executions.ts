/**
 * StartPipelineExecution, StopPipelineExecution, RetryStageExecution (aws-semantics 2.3, 2.10): the handlers
 * check the request and hand the execution to the engine.
 */
import { ServiceError } from '../protocol/errors.ts';
import { callerArn } from './ids.ts';
import { pipelineOrThrow, stageOrThrow } from './lookups.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';
import { checkSourceRevisions } from './revisions.ts';
import type { PipelineRecord } from './store.ts';

/**
 * @example
 * const handlers = executionHandlers(deps);
 * handlers.StartPipelineExecution({ name: 'web', clientRequestToken: 'run-1' }, ctx);
 */
export function executionHandlers({
  store,
  engine,
}: HandlerDeps): CodePipelineHandlers<
  'StartPipelineExecution' | 'StopPipelineExecution' | 'RetryStageExecution'
> {
  /** Per pipeline: clientRequestToken → the execution it started (StartPipelineExecution is idempotent on it). */
  const started = new WeakMap<PipelineRecord, Map<string, string>>();
  return {
    StartPipelineExecution(input, ctx): CodePipelineOutput<'StartPipelineExecution'> {
      // Request validation comes first on AWS, before the pipeline is looked up.
      checkSourceRevisions(input.sourceRevisions ?? []);
      const p = pipelineOrThrow(store, input.name, ctx);
      const pinned = new Map<string, string>();
      const sources = p.declaration.stages[0]?.actions ?? [];
      for (const o of input.sourceRevisions ?? []) {
        const action = sources.find((a) => a.name === o.actionName);
        if (!action) {
          throw new ServiceError(
            'ValidationException',
            `sourceRevisions names action '${o.actionName}', which is not a source action of pipeline '${input.name}'`,
          );
        }
        if (action.actionTypeId.provider === 'CodeCommit' && o.revisionType !== 'COMMIT_ID') {
          throw new ServiceError(
            'ValidationException',
            `Source action '${o.actionName}' (CodeCommit) accepts revisionType COMMIT_ID, not ${o.revisionType}`,
          );
        }
        pinned.set(o.actionName, o.revisionValue);
      }
      const declared = new Set((p.declaration.variables ?? []).map((v) => v.name));
      for (const v of input.variables ?? []) {
        if (!declared.has(v.name)) {
          throw new ServiceError(
            'ValidationException',
            `Variable '${v.name}' is not declared in pipeline '${input.name}'; declare it under pipeline.variables`,
          );
        }
      }
      const tokens = started.get(p) ?? new Map<string, string>();
      started.set(p, tokens);
      const token = input.clientRequestToken;
      const previous = token ? tokens.get(token) : undefined;
      if (previous) return { pipelineExecutionId: previous };
      const id = engine.start(p, {
        trigger: { triggerType: 'StartPipelineExecution', triggerDetail: callerArn(ctx.accountId) },
        pinnedRevisions: pinned,
        ...(input.variables ? { variables: input.variables } : {}),
      });
      if (token) tokens.set(token, id);
      return { pipelineExecutionId: id };
    },

    StopPipelineExecution(input, ctx): CodePipelineOutput<'StopPipelineExecution'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      const e = store.execution(p, input.pipelineExecutionId);
      if (!e) {
        throw new ServiceError(
          'PipelineExecutionNotStoppableException',
          `Pipeline execution '${input.pipelineExecutionId}' does not exist in pipeline '${input.pipelineName}', so it cannot be stopped`,
        );
      }
      engine.stop(p, e, input.abandon === true, input.reason);
      return { pipelineExecutionId: e.pipelineExecutionId };
    },

    RetryStageExecution(input, ctx): CodePipelineOutput<'RetryStageExecution'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      stageOrThrow(store, p, input.stageName);
      const e = store.execution(p, input.pipelineExecutionId);
      if (!e) {
        throw new ServiceError(
          'StageNotRetryableException',
          `Pipeline execution '${input.pipelineExecutionId}' does not exist in pipeline '${input.pipelineName}'`,
        );
      }
      engine.retry(p, e, input.stageName, input.retryMode);
      return { pipelineExecutionId: e.pipelineExecutionId };
    },
  };
}
