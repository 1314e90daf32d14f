/**
 * Finding a pipeline, stage or execution named by a request, or throwing CodePipeline's not-found error for
 * it (aws-semantics 2.11).
 */
import { ServiceError } from '../protocol/errors.ts';
import type { RequestContext } from '../types.ts';
import type { ExecutionRecord, PipelineRecord, PipelineStore, StageRuntime } from './store.ts';

/**
 * @example
 * const p = pipelineOrThrow(store, 'web', ctx); // or PipelineNotFoundException
 */
export function pipelineOrThrow(store: PipelineStore, name: string, ctx: RequestContext): PipelineRecord {
  const p = store.get(name);
  if (!p) {
    throw new ServiceError(
      'PipelineNotFoundException',
      `Account '${ctx.accountId}' does not have a pipeline with name '${name}'`,
    );
  }
  return p;
}

/** The stage's runtime state, or StageNotFoundException naming the stages the pipeline has. */
export function stageOrThrow(store: PipelineStore, p: PipelineRecord, stageName: string): StageRuntime {
  if (!p.declaration.stages.some((s) => s.name === stageName)) {
    throw new ServiceError(
      'StageNotFoundException',
      `Stage '${stageName}' does not exist in pipeline '${p.declaration.name}' (stages: ${p.declaration.stages.map((s) => s.name).join(', ')})`,
    );
  }
  return store.stage(p, stageName);
}

/** The execution, or PipelineExecutionNotFoundException. */
export function executionOrThrow(store: PipelineStore, p: PipelineRecord, id: string): ExecutionRecord {
  const e = store.execution(p, id);
  if (!e) {
    throw new ServiceError(
      'PipelineExecutionNotFoundException',
      `Pipeline execution '${id}' does not exist in pipeline '${p.declaration.name}'`,
    );
  }
  return e;
}
