/**
 * CodePipeline operation handlers: model-shaped input in, model-shaped output out, `ServiceError` for
 * every AWS error (aws-semantics 2.2–2.11). State lives in the store; executions move in the engine.
 */
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, RequestContext, SandboxRuntime } from '../types.ts';
import type { ExecutionEngine } from './engine.ts';
import type { PipelineDeclaration, Tag } from './model.ts';
import type { ApprovalRunner } from './runners/approval.ts';
import type { ExecutionRecord, PipelineRecord, PipelineStore, StageRuntime } from './store.ts';
import { newStageRuntime } from './store.ts';
import { validatePipeline } from './validate.ts';
import { actionExecution, actionExecutionDetail, entityUrl, paginate } from './views.ts';

export interface HandlerDeps {
  runtime: SandboxRuntime;
  store: PipelineStore;
  engine: ExecutionEngine;
  approvals: ApprovalRunner;
}

/**
 * The caller, as CodePipeline records it (`triggerDetail`, `lastChangedBy`); the sandbox has no IAM.
 *
 * @example
 * callerArn('000000000000'); // 'arn:aws:iam::000000000000:root'
 */
export function callerArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/**
 * `arn:aws:codepipeline:<region>:<account>:<pipeline>` (aws-semantics 2.1).
 *
 * @example
 * pipelineArn('us-east-1', '000000000000', 'web'); // 'arn:aws:codepipeline:us-east-1:000000000000:web'
 */
export function pipelineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:codepipeline:${region}:${accountId}:${name}`;
}

/**
 * Builds the handler table of the CodePipeline service.
 *
 * @example
 * const handlers = createHandlers({ runtime, store, engine, approvals });
 * await handlers.GetPipelineState({ name: 'web' }, ctx);
 */
export function createHandlers(deps: HandlerDeps): Record<string, Handler> {
  const { runtime, store, engine, approvals } = deps;
  const now = () => runtime.clock.now();

  const pipelineOrThrow = (name: string, ctx: RequestContext): PipelineRecord => {
    const p = store.get(name);
    if (!p) {
      throw new ServiceError(
        'PipelineNotFoundException',
        `Account '${ctx.accountId}' does not have a pipeline with name '${name}'`,
      );
    }
    return p;
  };
  const stageOrThrow = (p: PipelineRecord, stageName: string): StageRuntime => {
    if (!p.declaration.stages.some((s) => s.name === stageName)) {
      throw new ServiceError(
        'StageNotFoundException',
        `Stage '${stageName}' does not exist in pipeline '${p.declaration.name}' (stages: ${p.declaration.stages.map((s) => s.name).join(', ')})`,
      );
    }
    return store.stage(p, stageName);
  };
  const executionOrThrow = (p: PipelineRecord, id: string): ExecutionRecord => {
    const e = store.execution(p, id);
    if (!e) {
      throw new ServiceError(
        'PipelineExecutionNotFoundException',
        `Pipeline execution '${id}' does not exist in pipeline '${p.declaration.name}'`,
      );
    }
    return e;
  };

  const CreatePipeline: Handler = (input, ctx) => {
    const declaration = normalize(input.pipeline as PipelineDeclaration, 1);
    validatePipeline(declaration, ctx.region);
    if (store.get(declaration.name)) {
      throw new ServiceError(
        'PipelineNameInUseException',
        `A pipeline with the name '${declaration.name}' already exists in account '${ctx.accountId}'; choose another name or update it with UpdatePipeline`,
      );
    }
    const tags = validateTags((input.tags as Tag[] | undefined) ?? []);
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
    return { pipeline: declaration, ...(tags.length > 0 ? { tags } : {}) };
  };

  const GetPipeline: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.name, ctx);
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
      pipeline: declaration,
      metadata: { pipelineArn: p.arn, created: p.created, updated: p.updated },
    };
  };

  const UpdatePipeline: Handler = (input, ctx) => {
    const given = input.pipeline as PipelineDeclaration;
    const p = pipelineOrThrow(given.name, ctx);
    const version = (p.declaration.version ?? 1) + 1;
    const declaration = normalize(given, version);
    validatePipeline(declaration, ctx.region);
    p.declaration = declaration;
    p.versions.set(version, declaration);
    p.updated = now();
    for (const s of declaration.stages) store.stage(p, s.name);
    engine.pipelineUpdated(p);
    return { pipeline: declaration };
  };

  const DeletePipeline: Handler = (input) => {
    // No not-found error: deleting an unknown pipeline succeeds (aws-semantics 2.2).
    const p = store.get(input.name);
    if (p) {
      engine.pipelineDeleted(p);
      store.pipelines.delete(input.name);
    }
    return {};
  };

  const ListPipelines: Handler = (input) => {
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
  };

  const GetPipelineState: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.name, ctx);
    return {
      pipelineName: p.declaration.name,
      pipelineVersion: p.declaration.version,
      stageStates: p.declaration.stages.map((stage) => {
        const rt = store.stage(p, stage.name);
        const waiting = rt.waiting
          .map((id) => store.execution(p, id))
          .filter((e): e is ExecutionRecord => e !== undefined && e.status === 'InProgress');
        const inbound = waiting.map((e) => ({
          pipelineExecutionId: e.pipelineExecutionId,
          status: 'InProgress',
          type: 'STANDARD',
        }));
        return {
          stageName: stage.name,
          // inboundExecution: the next to enter (the only one in SUPERSEDED mode, the oldest in QUEUED mode).
          ...(inbound.length > 0 ? { inboundExecution: inbound[0], inboundExecutions: inbound } : {}),
          inboundTransitionState: rt.inbound,
          actionStates: stage.actions.map((action) => {
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
      }),
      created: p.created,
      updated: p.updated,
    };
  };

  const GetPipelineExecution: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    const e = executionOrThrow(p, input.pipelineExecutionId);
    return {
      pipelineExecution: {
        pipelineName: e.pipelineName,
        pipelineVersion: e.pipelineVersion,
        pipelineExecutionId: e.pipelineExecutionId,
        status: e.status,
        ...(e.statusSummary ? { statusSummary: e.statusSummary } : {}),
        artifactRevisions: e.artifactRevisions,
        ...(e.variables ? { variables: e.variables } : {}),
        trigger: e.trigger,
        executionMode: e.executionMode,
        executionType: 'STANDARD',
      },
    };
  };

  const ListPipelineExecutions: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    let list = [...p.executions].reverse();
    const succeededIn = input.filter?.succeededInStage?.stageName as string | undefined;
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
        trigger: e.trigger,
        ...(e.stopTrigger ? { stopTrigger: e.stopTrigger } : {}),
        executionMode: e.executionMode,
        executionType: 'STANDARD',
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  };

  const ListActionExecutions: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    const filterId = (input.filter?.pipelineExecutionId ??
      input.filter?.latestInPipelineExecution?.pipelineExecutionId) as string | undefined;
    if (filterId !== undefined) executionOrThrow(p, filterId);
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
  };

  const StartPipelineExecution: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.name, ctx);
    const pinned = new Map<string, string>();
    const sources = p.declaration.stages[0]?.actions ?? [];
    for (const o of (input.sourceRevisions ?? []) as {
      actionName: string;
      revisionType: string;
      revisionValue: string;
    }[]) {
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
    for (const v of (input.variables ?? []) as { name: string }[]) {
      if (!declared.has(v.name)) {
        throw new ServiceError(
          'ValidationException',
          `Variable '${v.name}' is not declared in pipeline '${input.name}'; declare it under pipeline.variables`,
        );
      }
    }
    if (input.clientRequestToken) {
      const previous = p.executions.find(
        (e) => (e as { clientRequestToken?: string }).clientRequestToken === input.clientRequestToken,
      );
      if (previous) return { pipelineExecutionId: previous.pipelineExecutionId };
    }
    const id = engine.start(p, {
      trigger: { triggerType: 'StartPipelineExecution', triggerDetail: callerArn(ctx.accountId) },
      pinnedRevisions: pinned,
      ...(input.variables ? { variables: input.variables } : {}),
    });
    if (input.clientRequestToken) {
      const e = store.execution(p, id) as ExecutionRecord & { clientRequestToken?: string };
      e.clientRequestToken = input.clientRequestToken;
    }
    return { pipelineExecutionId: id };
  };

  const StopPipelineExecution: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    const e = store.execution(p, input.pipelineExecutionId);
    if (!e) {
      throw new ServiceError(
        'PipelineExecutionNotStoppableException',
        `Pipeline execution '${input.pipelineExecutionId}' does not exist in pipeline '${input.pipelineName}', so it cannot be stopped`,
      );
    }
    engine.stop(p, e, input.abandon === true, input.reason);
    return { pipelineExecutionId: e.pipelineExecutionId };
  };

  const RetryStageExecution: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    stageOrThrow(p, input.stageName);
    const e = store.execution(p, input.pipelineExecutionId);
    if (!e) {
      throw new ServiceError(
        'StageNotRetryableException',
        `Pipeline execution '${input.pipelineExecutionId}' does not exist in pipeline '${input.pipelineName}'`,
      );
    }
    engine.retry(p, e, input.stageName, input.retryMode);
    return { pipelineExecutionId: e.pipelineExecutionId };
  };

  const PutApprovalResult: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    const stage = stageOrThrow(p, input.stageName);
    const declared = p.declaration.stages.find((s) => s.name === input.stageName)!;
    const action = declared.actions.find((a) => a.name === input.actionName);
    if (!action) {
      throw new ServiceError(
        'ActionNotFoundException',
        `Action '${input.actionName}' does not exist in stage '${input.stageName}' of pipeline '${input.pipelineName}'`,
      );
    }
    if (action.actionTypeId.category !== 'Approval') {
      throw new ServiceError(
        'InvalidApprovalTokenException',
        `Action '${input.actionName}' is not an approval action`,
      );
    }
    const latest = stage.actions.get(input.actionName);
    // A second answer to the same approval request (aws-semantics 2.9); a token of an older, expired or
    // abandoned request is InvalidApprovalTokenException below.
    if (latest?.answered && latest.token === input.token) {
      throw new ServiceError(
        'ApprovalAlreadyCompletedException',
        `The approval request for action '${input.actionName}' of pipeline '${input.pipelineName}' was already answered (${latest.answered})`,
      );
    }
    const open = latest?.status === 'InProgress' ? latest : undefined;
    const by = callerArn(ctx.accountId);
    const answer = { status: input.result.status, summary: input.result.summary, by };
    if (!open || !approvals.answer(open.actionExecutionId, input.token, answer)) {
      throw new ServiceError(
        'InvalidApprovalTokenException',
        `The approval action '${input.actionName}' for pipeline '${input.pipelineName}' has already received a response or has expired, or the token '${input.token}' is not the token of its open approval request; read the current token from GetPipelineState`,
      );
    }
    open.answered = input.result.status;
    return { approvedAt: now() };
  };

  const DisableStageTransition: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    stageOrThrow(p, input.stageName);
    engine.setTransition(
      p,
      input.stageName,
      input.transitionType,
      false,
      input.reason,
      callerArn(ctx.accountId),
    );
    return {};
  };

  const EnableStageTransition: Handler = (input, ctx) => {
    const p = pipelineOrThrow(input.pipelineName, ctx);
    stageOrThrow(p, input.stageName);
    engine.setTransition(p, input.stageName, input.transitionType, true, undefined, callerArn(ctx.accountId));
    return {};
  };

  const resourceOrThrow = (arn: string): PipelineRecord => {
    if (!/^arn:aws(-[\w]+)*:codepipeline:[a-z0-9-]+:[0-9]{12}:.+$/.test(arn)) {
      throw new ServiceError(
        'InvalidArnException',
        `'${arn}' is not a CodePipeline ARN (arn:aws:codepipeline:<region>:<account>:<pipeline>)`,
      );
    }
    const p = store.byArn(arn);
    if (!p) throw new ServiceError('ResourceNotFoundException', `The resource '${arn}' does not exist`);
    return p;
  };

  const TagResource: Handler = (input) => {
    const p = resourceOrThrow(input.resourceArn);
    const merged = new Map(p.tags.map((t) => [t.key, t.value]));
    for (const t of validateTags(input.tags as Tag[])) merged.set(t.key, t.value);
    if (merged.size > 50) {
      throw new ServiceError(
        'TooManyTagsException',
        `A pipeline can have at most 50 tags; this request would give it ${merged.size}`,
      );
    }
    p.tags = [...merged].map(([key, value]) => ({ key, value }));
    return {};
  };

  const UntagResource: Handler = (input) => {
    const p = resourceOrThrow(input.resourceArn);
    const drop = new Set(input.tagKeys as string[]);
    p.tags = p.tags.filter((t) => !drop.has(t.key));
    return {};
  };

  const ListTagsForResource: Handler = (input) => {
    const p = resourceOrThrow(input.resourceArn);
    const page = paginate(p.tags, input.nextToken, input.maxResults ?? 50);
    return { tags: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  };

  return {
    CreatePipeline,
    GetPipeline,
    UpdatePipeline,
    DeletePipeline,
    ListPipelines,
    GetPipelineState,
    GetPipelineExecution,
    ListPipelineExecutions,
    ListActionExecutions,
    StartPipelineExecution,
    StopPipelineExecution,
    RetryStageExecution,
    PutApprovalResult,
    DisableStageTransition,
    EnableStageTransition,
    TagResource,
    UntagResource,
    ListTagsForResource,
  };
}

/** The declaration as CodePipeline stores it: version set, runOrder defaulted. */
function normalize(given: PipelineDeclaration, version: number): PipelineDeclaration {
  const copy = structuredClone(given);
  copy.version = version;
  for (const stage of copy.stages ?? []) {
    for (const action of stage.actions ?? []) {
      action.runOrder ??= 1;
      action.configuration ??= {};
      action.inputArtifacts ??= [];
      action.outputArtifacts ??= [];
    }
  }
  return copy;
}

function validateTags(tags: Tag[]): Tag[] {
  if (tags.length > 50)
    throw new ServiceError('TooManyTagsException', `At most 50 tags are allowed (got ${tags.length})`);
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw new ServiceError(
        'InvalidTagsException',
        `Tag key '${t.key}' uses the reserved prefix 'aws:'; choose another key`,
      );
    }
  }
  return tags.map((t) => ({ key: t.key, value: t.value }));
}
