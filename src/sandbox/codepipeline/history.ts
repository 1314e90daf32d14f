/**
 * GetPipelineExecution, ListPipelineExecutions, ListActionExecutions (aws-semantics 2.6): executions and
 * action runs, newest first, as AWS lists them.
 */
import type { ExecutionTrigger } from '@aws-sdk/client-codepipeline';
import { triggerType } from './enums.ts';
import { executionOrThrow, pipelineOrThrow } from './lookups.ts';
import type { ExecutionTrigger as StoredTrigger } from './model.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';
import { actionExecutionDetail, paginate } from './views.ts';

function triggerView(t: StoredTrigger): ExecutionTrigger {
  return { triggerType: triggerType(t.triggerType), triggerDetail: t.triggerDetail };
}

/**
 * @example
 * const handlers = historyHandlers(deps);
 * handlers.ListPipelineExecutions({ pipelineName: 'web', maxResults: 10 }, ctx);
 */
export function historyHandlers({
  store,
}: HandlerDeps): CodePipelineHandlers<
  'GetPipelineExecution' | 'ListPipelineExecutions' | 'ListActionExecutions'
> {
  return {
    GetPipelineExecution(input, ctx): CodePipelineOutput<'GetPipelineExecution'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      const e = executionOrThrow(store, p, input.pipelineExecutionId);
      return {
        pipelineExecution: {
          pipelineName: e.pipelineName,
          pipelineVersion: e.pipelineVersion,
          pipelineExecutionId: e.pipelineExecutionId,
          status: e.status,
          ...(e.statusSummary ? { statusSummary: e.statusSummary } : {}),
          artifactRevisions: e.artifactRevisions,
          ...(e.variables ? { variables: e.variables } : {}),
          trigger: triggerView(e.trigger),
          executionMode: e.executionMode,
          executionType: 'STANDARD',
        },
      };
    },

    ListPipelineExecutions(input, ctx): CodePipelineOutput<'ListPipelineExecutions'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      let list = [...p.executions].reverse();
      const succeededIn = input.filter?.succeededInStage?.stageName;
      if (succeededIn) list = list.filter((e) => e.stageStatus.get(succeededIn) === 'Succeeded');
      const page = paginate(list, input.nextToken, input.maxResults ?? 100);
      return {
        pipelineExecutionSummaries: page.items.map((e) => ({
          pipelineExecutionId: e.pipelineExecutionId,
          status: e.status,
          ...(e.statusSummary ? { statusSummary: e.statusSummary } : {}),
          startTime: e.startTime,
          lastUpdateTime: e.lastUpdateTime,
          sourceRevisions: e.sourceRevisions,
          trigger: triggerView(e.trigger),
          ...(e.stopTrigger ? { stopTrigger: e.stopTrigger } : {}),
          executionMode: e.executionMode,
          executionType: 'STANDARD',
        })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },

    ListActionExecutions(input, ctx): CodePipelineOutput<'ListActionExecutions'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      const filterId =
        input.filter?.pipelineExecutionId ?? input.filter?.latestInPipelineExecution?.pipelineExecutionId;
      if (filterId !== undefined) executionOrThrow(store, p, filterId);
      let list = [...p.actionExecutions].reverse();
      if (filterId !== undefined) list = list.filter((r) => r.pipelineExecutionId === filterId);
      if (input.filter?.latestInPipelineExecution?.startTimeRange === 'Latest') {
        const seen = new Set<string>();
        list = list.filter((r) => {
          const key = `${r.stageName}/${r.actionName}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
      }
      const bucket =
        p.declaration.artifactStore?.location ??
        Object.values(p.declaration.artifactStores ?? {})[0]?.location ??
        '';
      const page = paginate(list, input.nextToken, input.maxResults ?? 100);
      return {
        actionExecutionDetails: page.items.map((r) => actionExecutionDetail(r, bucket, ctx.region)),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
  };
}
