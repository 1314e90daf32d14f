/**
 * DisableStageTransition, EnableStageTransition (aws-semantics 2.10): an execution waits in front of a
 * disabled inbound transition; the engine moves it on when it is enabled again.
 */
import { callerArn } from './ids.ts';
import { pipelineOrThrow, stageOrThrow } from './lookups.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';

/**
 * @example
 * const handlers = transitionHandlers(deps);
 * handlers.DisableStageTransition({ pipelineName: 'web', stageName: 'Deploy', transitionType: 'Inbound', reason: 'freeze' }, ctx);
 */
export function transitionHandlers({
  store,
  engine,
}: HandlerDeps): CodePipelineHandlers<'DisableStageTransition' | 'EnableStageTransition'> {
  return {
    DisableStageTransition(input, ctx): CodePipelineOutput<'DisableStageTransition'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      stageOrThrow(store, p, input.stageName);
      engine.setTransition(
        p,
        input.stageName,
        input.transitionType,
        false,
        input.reason,
        callerArn(ctx.accountId),
      );
      return {};
    },

    EnableStageTransition(input, ctx): CodePipelineOutput<'EnableStageTransition'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      stageOrThrow(store, p, input.stageName);
      engine.setTransition(
        p,
        input.stageName,
        input.transitionType,
        true,
        undefined,
        callerArn(ctx.accountId),
      );
      return {};
    },
  };
}
