/**
 * GetPipelineState (aws-semantics 2.5): per stage its transition, the executions waiting in front of it, its
 * latest execution and each action's latest run (with the approval token while it is open).
 */
import type { ActionState, StageExecution, StageState } from '@aws-sdk/client-codepipeline';
import type { RequestContext } from '../types.ts';
import { pipelineOrThrow } from './lookups.ts';
import type { StageDeclaration } from './model.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';
import type { ExecutionRecord, PipelineRecord, PipelineStore } from './store.ts';
import { actionExecution, entityUrl } from './views.ts';

function stageState(
  store: PipelineStore,
  p: PipelineRecord,
  stage: StageDeclaration,
  ctx: RequestContext,
): StageState {
  const rt = store.stage(p, stage.name);
  const waiting = rt.waiting
    .map((id) => store.execution(p, id))
    .filter((e): e is ExecutionRecord => e !== undefined && e.status === 'InProgress');
  const inbound = waiting.map(
    (e): StageExecution => ({
      pipelineExecutionId: e.pipelineExecutionId,
      status: 'InProgress',
      type: 'STANDARD',
    }),
  );
  return {
    stageName: stage.name,
    // inboundExecution: the next to enter (the only one in SUPERSEDED mode, the oldest in QUEUED mode).
    ...(inbound.length > 0 ? { inboundExecution: inbound[0], inboundExecutions: inbound } : {}),
    inboundTransitionState: rt.inbound,
    actionStates: stage.actions.map((action): ActionState => {
      const r = rt.actions.get(action.name);
      return {
        actionName: action.name,
        ...(r?.currentRevision ? { currentRevision: r.currentRevision } : {}),
        ...(r ? { latestExecution: actionExecution(r) } : {}),
        ...entityUrl(action.actionTypeId.provider, action.configuration ?? {}, ctx.region),
      };
    }),
    ...(rt.latest ? { latestExecution: { ...rt.latest, type: 'STANDARD' } } : {}),
    ...(rt.manualRetryAttempt
      ? {
          retryStageMetadata: {
            manualStageRetryAttempt: rt.manualRetryAttempt,
            latestRetryTrigger: 'ManualStageRetry',
          },
        }
      : {}),
  };
}

/**
 * @example
 * const handlers = stateHandlers(deps);
 * handlers.GetPipelineState({ name: 'web' }, ctx);
 */
export function stateHandlers({ store }: HandlerDeps): CodePipelineHandlers<'GetPipelineState'> {
  return {
    GetPipelineState(input, ctx): CodePipelineOutput<'GetPipelineState'> {
      const p = pipelineOrThrow(store, input.name, ctx);
      return {
        pipelineName: p.declaration.name,
        pipelineVersion: p.declaration.version,
        stageStates: p.declaration.stages.map((stage) => stageState(store, p, stage, ctx)),
        created: p.created,
        updated: p.updated,
      };
    },
  };
}
