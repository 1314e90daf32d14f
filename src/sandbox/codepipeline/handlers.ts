/**
 * The CodePipeline operation table, assembled from one file per concern: pipelines (CRUD and list), state,
 * executions (start, stop, retry), history (executions and action runs), approvals, transitions, tags. Each
 * handler takes the SDK's validated input and returns its output (`operations.ts`); every AWS error is a
 * `ServiceError` (aws-semantics 2.2–2.11). State lives in the store; executions move in the engine.
 */
import { approvalHandlers } from './approvals.ts';
import { executionHandlers } from './executions.ts';
import { historyHandlers } from './history.ts';
import type { CodePipelineHandlers, CodePipelineOperations, HandlerDeps } from './operations.ts';
import { pipelineHandlers } from './pipelines.ts';
import { stateHandlers } from './state.ts';
import { tagHandlers } from './tags.ts';
import { transitionHandlers } from './transitions.ts';

export { callerArn, pipelineArn } from './ids.ts';
export type { HandlerDeps } from './operations.ts';

/**
 * Builds the handler table of the CodePipeline service. Leaving out an operation of
 * {@link CodePipelineOperations} is a compile error.
 *
 * @example
 * const handlers = createHandlers({ runtime, store, engine, approvals });
 * await handlers.GetPipelineState({ name: 'web' }, ctx);
 */
export function createHandlers(deps: HandlerDeps): CodePipelineHandlers<keyof CodePipelineOperations> {
  return {
    ...pipelineHandlers(deps),
    ...stateHandlers(deps),
    ...executionHandlers(deps),
    ...historyHandlers(deps),
    ...approvalHandlers(deps),
    ...transitionHandlers(deps),
    ...tagHandlers(deps),
  };
}
