/**
 * CreatePipeline, GetPipeline, UpdatePipeline, DeletePipeline, ListPipelines (aws-semantics 2.2): every
 * version kept, creating starts an execution, updating lets running executions finish on their version.
 */
import { ServiceError } from '../protocol/errors.ts';
import { declarationView, normalize } from './declarations.ts';
import { callerArn, pipelineArn } from './ids.ts';
import { pipelineOrThrow } from './lookups.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';
import { newStageRuntime, type PipelineRecord } from './store.ts';
import { validateTags } from './tags.ts';
import { validatePipeline } from './validate.ts';
import { paginate } from './views.ts';

/**
 * @example
 * const handlers = pipelineHandlers(deps);
 * handlers.GetPipeline({ name: 'web' }, ctx);
 */
export function pipelineHandlers({
  runtime,
  store,
  engine,
}: HandlerDeps): CodePipelineHandlers<
  'CreatePipeline' | 'GetPipeline' | 'UpdatePipeline' | 'DeletePipeline' | 'ListPipelines'
> {
  const now = () => runtime.clock.now();
  return {
    CreatePipeline(input, ctx): CodePipelineOutput<'CreatePipeline'> {
      const declaration = normalize(input.pipeline, 1);
      validatePipeline(declaration, ctx.region);
      if (store.get(declaration.name)) {
        throw new ServiceError(
          'PipelineNameInUseException',
          `A pipeline with the name '${declaration.name}' already exists in account '${ctx.accountId}'; choose another name or update it with UpdatePipeline`,
        );
      }
      const tags = validateTags(input.tags ?? []);
      const created = now();
      const record: PipelineRecord = {
        declaration,
        versions: new Map([[1, declaration]]),
        arn: pipelineArn(ctx.region, ctx.accountId, declaration.name),
        created,
        updated: created,
        tags,
        stages: new Map(declaration.stages.map((s) => [s.name, newStageRuntime()])),
        executions: [],
        actionExecutions: [],
      };
      store.pipelines.set(declaration.name, record);
      // Creating a pipeline starts it (trigger CreatePipeline, aws-semantics 2.2 "Side effects").
      engine.start(record, {
        trigger: { triggerType: 'CreatePipeline', triggerDetail: callerArn(ctx.accountId) },
      });
      return { pipeline: declarationView(declaration), ...(tags.length > 0 ? { tags } : {}) };
    },

    GetPipeline(input, ctx): CodePipelineOutput<'GetPipeline'> {
      const p = pipelineOrThrow(store, input.name, ctx);
      let declaration = p.declaration;
      if (input.version !== undefined) {
        const v = p.versions.get(input.version);
        if (!v) {
          throw new ServiceError(
            'PipelineVersionNotFoundException',
            `Pipeline '${input.name}' has no version ${input.version} (latest: ${p.declaration.version})`,
          );
        }
        declaration = v;
      }
      return {
        pipeline: declarationView(declaration),
        metadata: { pipelineArn: p.arn, created: p.created, updated: p.updated },
      };
    },

    UpdatePipeline(input, ctx): CodePipelineOutput<'UpdatePipeline'> {
      const p = pipelineOrThrow(store, input.pipeline.name, ctx);
      const version = (p.declaration.version ?? 1) + 1;
      const declaration = normalize(input.pipeline, version);
      validatePipeline(declaration, ctx.region);
      p.declaration = declaration;
      p.versions.set(version, declaration);
      p.updated = now();
      for (const s of declaration.stages) store.stage(p, s.name);
      engine.pipelineUpdated(p);
      return { pipeline: declarationView(declaration) };
    },

    DeletePipeline(input): CodePipelineOutput<'DeletePipeline'> {
      // No not-found error: deleting an unknown pipeline succeeds (aws-semantics 2.2).
      const p = store.get(input.name);
      if (p) {
        engine.pipelineDeleted(p);
        store.pipelines.delete(input.name);
      }
      return {};
    },

    ListPipelines(input): CodePipelineOutput<'ListPipelines'> {
      const all = [...store.pipelines.values()].sort((a, b) =>
        a.declaration.name.localeCompare(b.declaration.name),
      );
      const page = paginate(all, input.nextToken, input.maxResults ?? 1000);
      return {
        pipelines: page.items.map((p) => ({
          name: p.declaration.name,
          version: p.declaration.version,
          pipelineType: p.declaration.pipelineType ?? 'V1',
          executionMode: p.declaration.executionMode ?? 'SUPERSEDED',
          created: p.created,
          updated: p.updated,
        })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
  };
}
