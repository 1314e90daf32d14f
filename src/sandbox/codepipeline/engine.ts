/**
 * The CodePipeline execution engine: moves executions through stages, runs each stage's actions by
 * runOrder, and applies the execution mode's stage locking (aws-semantics 2.3):
 *
 * - SUPERSEDED: a stage holds one execution; one execution waits in front of it, and a newer one
 *   arriving there supersedes it. A running stage is never interrupted.
 * - QUEUED: a stage holds one execution; the others wait in arrival order, none is superseded.
 * - PARALLEL: executions are independent; only disabled transitions hold them.
 *
 * Handlers call the engine; runners do the actions' work. Every status change goes to the event log.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ServiceError } from '../protocol/errors.ts';
import type { SandboxRuntime } from '../types.ts';
import type {
  ActionDeclaration,
  ActionExecutionStatus,
  ExecutionTrigger,
  PipelineExecutionStatus,
  StageDeclaration,
  StageExecutionStatus,
} from './model.ts';
import type { ActionResult, ActionRunner } from './runners/types.ts';
import type { ActionExecutionRecord, ExecutionRecord, PipelineRecord, PipelineStore } from './store.ts';
import { resolveConfiguration } from './variables.ts';

export interface StartOptions {
  trigger: ExecutionTrigger;
  /** Source action name → revision (commit id) to fetch instead of the branch head. */
  pinnedRevisions?: Map<string, string>;
  variables?: { name: string; value: string }[];
}

/** Picks the runner for an action; undefined = the provider is not available in the sandbox. */
export type RunnerLookup = (action: ActionDeclaration) => ActionRunner | undefined;

const ACTIVE: readonly PipelineExecutionStatus[] = ['InProgress', 'Stopping'];

/**
 * @example
 * const engine = new ExecutionEngine(runtime, store, (action) => runners.get(action.actionTypeId.provider));
 * const id = engine.start(pipeline, { trigger: { triggerType: 'StartPipelineExecution', triggerDetail: arn } });
 */
export class ExecutionEngine {
  readonly #runtime: SandboxRuntime;
  readonly #store: PipelineStore;
  readonly #runnerFor: RunnerLookup;
  /** Aborted on reset/stop: every runner ends its work. Replaced after a reset. */
  #teardown = new AbortController();
  /** Per pipeline: aborted when the pipeline is deleted. */
  readonly #pipelineSignals = new Map<string, AbortController>();
  /** Per action execution: aborted when it is abandoned. */
  readonly #abandon = new Map<string, AbortController>();
  /** Runs still going (so stop() can wait for them to notice the abort). */
  readonly #running = new Set<Promise<unknown>>();

  constructor(runtime: SandboxRuntime, store: PipelineStore, runnerFor: RunnerLookup) {
    this.#runtime = runtime;
    this.#store = store;
    this.#runnerFor = runnerFor;
  }

  /** Where an execution's artifacts live: `<dataDir>/codepipeline/artifacts/<executionId>/`. */
  artifactRoot(executionId: string): string {
    return path.join(this.#runtime.dataDir, 'codepipeline', 'artifacts', executionId);
  }

  /**
   * Starts an execution of the pipeline's current version and returns its id.
   *
   * @example
   * const id = engine.start(record, { trigger: { triggerType: 'StartPipelineExecution', triggerDetail: arn } });
   */
  start(pipeline: PipelineRecord, options: StartOptions): string {
    const now = this.#runtime.clock.now();
    const declaration = pipeline.declaration;
    const execution: ExecutionRecord = {
      pipelineExecutionId: randomUUID(),
      pipelineName: declaration.name,
      pipelineVersion: declaration.version ?? 1,
      declaration,
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      trigger: options.trigger,
      executionMode: declaration.executionMode ?? 'SUPERSEDED',
      artifactRevisions: [],
      sourceRevisions: [],
      pinnedRevisions: options.pinnedRevisions ?? new Map(),
      artifactDirs: new Map(),
      namespaces: new Map(),
      stageIndex: 0,
      where: 'waiting',
      stageStatus: new Map(),
    };
    const resolved = resolveVariables(declaration.variables, options.variables);
    if (resolved.length > 0) execution.variables = resolved;
    pipeline.executions.push(execution);
    this.#emit('pipelineExecution', execution, 'InProgress', { detail: options.trigger.triggerType });
    this.#tryEnter(pipeline, execution, 0);
    return execution.pipelineExecutionId;
  }

  /** StopPipelineExecution (aws-semantics 2.3 "Stopping"). */
  stop(pipeline: PipelineRecord, execution: ExecutionRecord, abandon: boolean, reason?: string): void {
    if (execution.status === 'Stopping' && !abandon) {
      throw new ServiceError(
        'DuplicatedStopRequestException',
        `Execution ${execution.pipelineExecutionId} is already Stopping; repeat the request with abandon=true to abandon its in-progress actions`,
      );
    }
    if (!ACTIVE.includes(execution.status)) {
      throw new ServiceError(
        'PipelineExecutionNotStoppableException',
        `Unable to stop pipeline execution ${execution.pipelineExecutionId} of pipeline ${pipeline.declaration.name}: its status is ${execution.status}; only InProgress executions can be stopped`,
      );
    }
    execution.stopTrigger = reason === undefined ? {} : { reason };
    if (execution.where === 'waiting') {
      this.#leaveWaiting(pipeline, execution);
      this.#finishExecution(execution, 'Stopped');
      return;
    }
    const stageName = this.#stageName(execution);
    execution.abandon = execution.abandon || abandon;
    if (execution.status !== 'Stopping') {
      this.#setExecutionStatus(execution, 'Stopping');
      this.#setStageStatus(pipeline, execution, stageName, 'Stopping');
    }
    if (abandon) {
      for (const record of pipeline.actionExecutions) {
        if (record.pipelineExecutionId === execution.pipelineExecutionId && record.status === 'InProgress') {
          this.#setActionStatus(pipeline, record, 'Abandoned');
          this.#abandon.get(record.actionExecutionId)?.abort(new Error('action abandoned'));
        }
      }
    }
  }

  /** RetryStageExecution (aws-semantics 2.3 item 4, 2.10). */
  retry(pipeline: PipelineRecord, execution: ExecutionRecord, stageName: string, mode: string): void {
    const stage = this.#store.stage(pipeline, stageName);
    const own = execution.stageStatus.get(stageName);
    if (ACTIVE.includes(execution.status)) {
      throw new ServiceError(
        'ConflictException',
        `Execution ${execution.pipelineExecutionId} is still ${execution.status}; a stage can be retried once the execution has Failed or Stopped`,
      );
    }
    if (own !== 'Failed' && own !== 'Stopped') {
      throw new ServiceError(
        'StageNotRetryableException',
        `Stage ${stageName} of execution ${execution.pipelineExecutionId} is ${own ?? 'not run'}; only a Failed or Stopped stage can be retried`,
      );
    }
    if (stage.latest?.pipelineExecutionId !== execution.pipelineExecutionId) {
      throw new ServiceError(
        'NotLatestPipelineExecutionException',
        `Execution ${execution.pipelineExecutionId} is not the latest execution in stage ${stageName} (latest: ${stage.latest?.pipelineExecutionId}); retry the latest one`,
      );
    }
    if (execution.pipelineVersion !== (pipeline.declaration.version ?? 1)) {
      throw new ServiceError(
        'StageNotRetryableException',
        `Pipeline ${pipeline.declaration.name} was updated to version ${pipeline.declaration.version} after execution ${execution.pipelineExecutionId} (version ${execution.pipelineVersion}) ran; start a new execution`,
      );
    }
    if (
      execution.executionMode !== 'PARALLEL' &&
      stage.lockedBy !== undefined &&
      stage.lockedBy !== execution.pipelineExecutionId
    ) {
      throw new ServiceError(
        'ConflictException',
        `Stage ${stageName} is busy with execution ${stage.lockedBy}`,
      );
    }
    stage.manualRetryAttempt = (stage.manualRetryAttempt ?? 0) + 1;
    delete execution.stopTrigger;
    delete execution.statusSummary;
    execution.abandon = false;
    this.#setExecutionStatus(execution, 'InProgress');
    const index = execution.declaration.stages.findIndex((s) => s.name === stageName);
    this.#enter(pipeline, execution, index, mode === 'FAILED_ACTIONS');
  }

  /** Disable/EnableStageTransition. */
  setTransition(
    pipeline: PipelineRecord,
    stageName: string,
    type: 'Inbound' | 'Outbound',
    enabled: boolean,
    reason: string | undefined,
    by: string,
  ): void {
    const stage = this.#store.stage(pipeline, stageName);
    const index = pipeline.declaration.stages.findIndex((s) => s.name === stageName);
    if (type === 'Inbound') {
      stage.inbound = enabled
        ? { enabled: true, lastChangedBy: by, lastChangedAt: this.#runtime.clock.now() }
        : {
            enabled: false,
            lastChangedBy: by,
            lastChangedAt: this.#runtime.clock.now(),
            disabledReason: reason ?? '',
          };
      if (enabled) this.#admit(pipeline, stageName);
    } else {
      stage.outboundEnabled = enabled;
      const next = pipeline.declaration.stages[index + 1];
      if (enabled && next) this.#admit(pipeline, next.name);
    }
    this.#runtime.events.append({
      service: 'codepipeline',
      kind: 'transition',
      status: enabled ? 'Enabled' : 'Disabled',
      pipeline: pipeline.declaration.name,
      stage: stageName,
      detail: type,
    });
  }

  /**
   * UpdatePipeline: running executions do not continue on the new version (aws-semantics 2.2): the one in
   * a stage ends Cancelled when that stage ends (open approvals end at once), waiting ones end now.
   */
  pipelineUpdated(pipeline: PipelineRecord): void {
    for (const execution of pipeline.executions) {
      if (!ACTIVE.includes(execution.status)) continue;
      if (execution.where === 'waiting') {
        const stage = execution.declaration.stages[execution.stageIndex];
        const held = stage !== undefined && !this.#transitionOpen(pipeline, execution, execution.stageIndex);
        this.#leaveWaiting(pipeline, execution);
        this.#finishExecution(
          execution,
          held ? 'Failed' : 'Cancelled',
          'The pipeline was updated while this execution waited to enter a stage',
        );
        continue;
      }
      execution.cancelAfterStage = true;
      for (const record of pipeline.actionExecutions) {
        if (
          record.pipelineExecutionId === execution.pipelineExecutionId &&
          record.status === 'InProgress' &&
          record.action.actionTypeId.category === 'Approval'
        ) {
          this.#setActionStatus(pipeline, record, 'Abandoned');
          this.#abandon.get(record.actionExecutionId)?.abort(new Error('pipeline updated'));
        }
      }
    }
  }

  /** DeletePipeline: ends the pipeline's work now. */
  pipelineDeleted(pipeline: PipelineRecord): void {
    this.#pipelineSignals.get(pipeline.declaration.name)?.abort(new Error('pipeline deleted'));
    this.#pipelineSignals.delete(pipeline.declaration.name);
    for (const execution of pipeline.executions) {
      if (ACTIVE.includes(execution.status)) {
        execution.where = 'done';
        execution.status = 'Stopped';
      }
      void rm(this.artifactRoot(execution.pipelineExecutionId), { recursive: true, force: true });
    }
  }

  /** Ends every run (reset/stop) and waits until they noticed. */
  async stopAll(): Promise<void> {
    this.#teardown.abort(new Error('sandbox stopping'));
    for (const c of this.#pipelineSignals.values()) c.abort(new Error('sandbox stopping'));
    this.#pipelineSignals.clear();
    const deadline = this.#runtime.clock.now().getTime() + 5000;
    while (this.#running.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.#running]), new Promise((r) => setTimeout(r, 100))]);
    }
    this.#abandon.clear();
    this.#teardown = new AbortController();
  }

  // ---- stage entry, waiting, supersession ----

  #transitionOpen(pipeline: PipelineRecord, execution: ExecutionRecord, index: number): boolean {
    const stage = execution.declaration.stages[index];
    if (!stage) return true;
    if (!this.#store.stage(pipeline, stage.name).inbound.enabled) return false;
    const previous = execution.declaration.stages[index - 1];
    return !previous || this.#store.stage(pipeline, previous.name).outboundEnabled;
  }

  #tryEnter(pipeline: PipelineRecord, execution: ExecutionRecord, index: number): void {
    if (!ACTIVE.includes(execution.status)) return;
    const stage = execution.declaration.stages[index];
    if (!stage) {
      this.#finishExecution(execution, 'Succeeded');
      return;
    }
    const runtime = this.#store.stage(pipeline, stage.name);
    const locked = execution.executionMode !== 'PARALLEL' && runtime.lockedBy !== undefined;
    if (this.#transitionOpen(pipeline, execution, index) && !locked && runtime.waiting.length === 0) {
      this.#enter(pipeline, execution, index, false);
      return;
    }
    execution.where = 'waiting';
    execution.stageIndex = index;
    if (execution.executionMode === 'SUPERSEDED') {
      // Only one execution waits per stage; the older of the two is superseded (aws-semantics 2.3 item 3).
      for (const otherId of runtime.waiting) {
        const other = this.#store.execution(pipeline, otherId);
        if (!other) continue;
        if (other.startTime.getTime() > execution.startTime.getTime()) {
          this.#finishExecution(
            execution,
            'Superseded',
            `Superseded by execution ${other.pipelineExecutionId}`,
          );
          return;
        }
        this.#finishExecution(
          other,
          'Superseded',
          `Superseded by execution ${execution.pipelineExecutionId}`,
        );
      }
      runtime.waiting = [execution.pipelineExecutionId];
    } else {
      runtime.waiting.push(execution.pipelineExecutionId);
    }
    this.#emit('inbound', execution, 'InProgress', {
      stage: stage.name,
      detail: 'waiting to enter the stage',
    });
    this.#admit(pipeline, stage.name);
  }

  #leaveWaiting(pipeline: PipelineRecord, execution: ExecutionRecord): void {
    const stage = execution.declaration.stages[execution.stageIndex];
    if (!stage) return;
    const runtime = this.#store.stage(pipeline, stage.name);
    runtime.waiting = runtime.waiting.filter((id) => id !== execution.pipelineExecutionId);
  }

  /** Lets waiting executions into a stage when its lock and transition allow. */
  #admit(pipeline: PipelineRecord, stageName: string): void {
    const runtime = this.#store.stage(pipeline, stageName);
    while (runtime.waiting.length > 0) {
      const id = runtime.waiting[0]!;
      const execution = this.#store.execution(pipeline, id);
      if (!execution || !ACTIVE.includes(execution.status)) {
        runtime.waiting.shift();
        continue;
      }
      const locked = execution.executionMode !== 'PARALLEL' && runtime.lockedBy !== undefined;
      if (locked || !this.#transitionOpen(pipeline, execution, execution.stageIndex)) return;
      runtime.waiting.shift();
      this.#enter(pipeline, execution, execution.stageIndex, false);
    }
  }

  #enter(pipeline: PipelineRecord, execution: ExecutionRecord, index: number, failedOnly: boolean): void {
    const stage = execution.declaration.stages[index]!;
    const runtime = this.#store.stage(pipeline, stage.name);
    if (execution.executionMode !== 'PARALLEL') runtime.lockedBy = execution.pipelineExecutionId;
    execution.where = 'inStage';
    execution.stageIndex = index;
    runtime.latest = { pipelineExecutionId: execution.pipelineExecutionId, status: 'InProgress' };
    this.#setStageStatus(pipeline, execution, stage.name, 'InProgress');
    const run = this.#runStage(pipeline, execution, stage, failedOnly).catch((error: unknown) => {
      // A bug in the engine or a runner must not leave the stage locked forever.
      this.#finishStage(pipeline, execution, stage, 'Failed', `Sandbox error: ${String(error)}`);
    });
    this.#track(run);
  }

  async #runStage(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    stage: StageDeclaration,
    failedOnly: boolean,
  ): Promise<void> {
    const previous = new Map<string, ActionExecutionStatus>();
    if (failedOnly) {
      for (const r of pipeline.actionExecutions) {
        if (r.pipelineExecutionId === execution.pipelineExecutionId && r.stageName === stage.name) {
          previous.set(r.actionName, r.status);
        }
      }
    }
    const orders = [...new Set(stage.actions.map((a) => a.runOrder ?? 1))].sort((a, b) => a - b);
    let failure: string | undefined;
    for (const order of orders) {
      if (execution.status !== 'InProgress' || execution.cancelAfterStage) break;
      const group = stage.actions.filter(
        (a) => (a.runOrder ?? 1) === order && previous.get(a.name) !== 'Succeeded',
      );
      const results = await Promise.all(group.map((a) => this.#runAction(pipeline, execution, stage, a)));
      const bad = results.find((r) => r !== 'Succeeded');
      if (bad) {
        failure = bad;
        break;
      }
    }
    let outcome: StageExecutionStatus;
    if (execution.cancelAfterStage) outcome = 'Cancelled';
    else if (execution.status === 'Stopping') outcome = 'Stopped';
    else if (failure) outcome = 'Failed';
    else outcome = 'Succeeded';
    this.#finishStage(pipeline, execution, stage, outcome);
  }

  #finishStage(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    stage: StageDeclaration,
    outcome: StageExecutionStatus,
    summary?: string,
  ): void {
    if (execution.where !== 'inStage') return;
    const runtime = this.#store.stage(pipeline, stage.name);
    this.#setStageStatus(pipeline, execution, stage.name, outcome);
    if (runtime.lockedBy === execution.pipelineExecutionId) delete runtime.lockedBy;
    const index = execution.stageIndex;
    if (outcome === 'Succeeded') {
      this.#tryEnter(pipeline, execution, index + 1);
    } else if (outcome === 'Failed') {
      const action = this.#failedActionName(pipeline, execution, stage.name);
      this.#finishExecution(
        execution,
        'Failed',
        summary ?? `Stage ${stage.name} failed${action ? ` at action ${action}` : ''}`,
      );
    } else if (outcome === 'Stopped') {
      this.#finishExecution(execution, 'Stopped');
    } else {
      this.#finishExecution(execution, 'Cancelled', 'The pipeline was updated while this execution ran');
    }
    this.#admit(pipeline, stage.name);
  }

  #failedActionName(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    stageName: string,
  ): string | undefined {
    for (let i = pipeline.actionExecutions.length - 1; i >= 0; i--) {
      const r = pipeline.actionExecutions[i]!;
      if (
        r.pipelineExecutionId === execution.pipelineExecutionId &&
        r.stageName === stageName &&
        r.status === 'Failed'
      ) {
        return r.actionName;
      }
    }
    return undefined;
  }

  // ---- actions ----

  async #runAction(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    stage: StageDeclaration,
    action: ActionDeclaration,
  ): Promise<ActionExecutionStatus> {
    const now = this.#runtime.clock.now();
    const root = this.artifactRoot(execution.pipelineExecutionId);
    const inputs = (action.inputArtifacts ?? []).map((a) => ({
      name: a.name,
      dir: execution.artifactDirs.get(a.name) ?? path.join(root, a.name),
    }));
    const outputs = (action.outputArtifacts ?? []).map((a) => ({
      name: a.name,
      dir: path.join(root, a.name),
    }));
    const record: ActionExecutionRecord = {
      actionExecutionId: randomUUID(),
      pipelineExecutionId: execution.pipelineExecutionId,
      pipelineVersion: execution.pipelineVersion,
      stageName: stage.name,
      actionName: action.name,
      action,
      startTime: now,
      lastUpdateTime: now,
      status: 'InProgress',
      inputArtifacts: inputs.map((a) => ({ name: a.name, key: artifactKey(execution, a.name) })),
      outputArtifacts: outputs.map((a) => ({ name: a.name, key: artifactKey(execution, a.name) })),
    };
    pipeline.actionExecutions.push(record);
    this.#store.stage(pipeline, stage.name).actions.set(action.name, record);
    this.#emitAction(pipeline, record);

    const abandon = new AbortController();
    this.#abandon.set(record.actionExecutionId, abandon);
    let pipelineSignal = this.#pipelineSignals.get(pipeline.declaration.name);
    if (!pipelineSignal) {
      pipelineSignal = new AbortController();
      this.#pipelineSignals.set(pipeline.declaration.name, pipelineSignal);
    }
    const signal = AbortSignal.any([this.#teardown.signal, pipelineSignal.signal]);

    const runner = this.#runnerFor(action);
    const variables = resolveConfiguration(action.configuration ?? {}, {
      pipelineExecutionId: execution.pipelineExecutionId,
      pipeline: new Map((execution.variables ?? []).map((v) => [v.name, v.resolvedValue])),
      namespaces: execution.namespaces,
    });
    if (variables.resolved) record.resolvedConfiguration = variables.resolved;
    let result: ActionResult;
    if (variables.unresolved !== undefined) {
      // AWS fails the action when a referenced variable has no value at run time.
      result = {
        status: 'Failed',
        errorDetails: {
          code: 'JobFailed',
          message: `Action ${action.name} references the variable #{${variables.unresolved}}, which has no value in execution ${execution.pipelineExecutionId}; check the namespace of the action that should produce it`,
        },
      };
    } else if (!runner) {
      const id = action.actionTypeId;
      result = {
        status: 'Failed',
        errorDetails: {
          code: 'JobFailed',
          message: `The sandbox cannot run ${id.category}/${id.owner}/${id.provider} actions (action ${action.name}); supported providers: CodeCommit (Source), CodeBuild (Build/Test), Manual (Approval), CodeDeploy (Deploy)`,
        },
      };
    } else {
      for (const o of outputs) {
        await rm(o.dir, { recursive: true, force: true });
        await mkdir(o.dir, { recursive: true });
      }
      const work = runner
        .run({
          runtime: this.#runtime,
          pipelineName: pipeline.declaration.name,
          pipelineExecutionId: execution.pipelineExecutionId,
          stageName: stage.name,
          action: { ...action, configuration: variables.resolved ?? {} },
          actionExecutionId: record.actionExecutionId,
          inputArtifacts: inputs,
          outputArtifacts: outputs,
          ...(inputRevision(execution, inputs[0]?.name)
            ? { inputRevision: inputRevision(execution, inputs[0]?.name)! }
            : {}),
          ...(execution.pinnedRevisions.has(action.name)
            ? { pinnedRevision: execution.pinnedRevisions.get(action.name)! }
            : {}),
          signal,
          abandoned: abandon.signal,
          update: (patch) => {
            if (record.status !== 'InProgress') return;
            Object.assign(record, patch);
            record.lastUpdateTime = this.#runtime.clock.now();
          },
        })
        .catch(
          (error: unknown): ActionResult => ({
            status: 'Failed',
            errorDetails: {
              code: 'JobFailed',
              message: `Action ${action.name} failed in the sandbox: ${String(error)}`,
            },
          }),
        );
      this.#track(work);
      // An abandoned action stops counting at once; its external work goes on (aws-semantics 2.3).
      const abandoned = new Promise<undefined>((resolve) => {
        if (abandon.signal.aborted) resolve(undefined);
        abandon.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      const raced = await Promise.race([work, abandoned]);
      if (raced === undefined || record.status !== 'InProgress') {
        this.#abandon.delete(record.actionExecutionId);
        return record.status === 'InProgress' ? 'Abandoned' : record.status;
      }
      result = raced;
    }
    this.#abandon.delete(record.actionExecutionId);
    if (record.status !== 'InProgress') return record.status;
    if (signal.aborted) return 'Failed';

    if (result.summary !== undefined) record.summary = result.summary;
    if (result.externalExecutionId !== undefined) record.externalExecutionId = result.externalExecutionId;
    if (result.externalExecutionUrl !== undefined) record.externalExecutionUrl = result.externalExecutionUrl;
    if (result.errorDetails) record.errorDetails = result.errorDetails;
    if (result.outputVariables) record.outputVariables = result.outputVariables;
    if (result.lastUpdatedBy) record.lastUpdatedBy = result.lastUpdatedBy;
    if (result.status === 'Succeeded') {
      for (const o of outputs) execution.artifactDirs.set(o.name, o.dir);
      if (action.namespace) execution.namespaces.set(action.namespace, result.outputVariables ?? {});
      if (result.revision) {
        const rev = result.revision;
        const created = rev.created ?? this.#runtime.clock.now();
        record.currentRevision = {
          revisionId: rev.revisionId,
          revisionChangeId: rev.revisionChangeIdentifier ?? rev.revisionId,
          created,
        };
        for (const o of outputs) {
          execution.artifactRevisions.push({
            name: o.name,
            revisionId: rev.revisionId,
            ...(rev.revisionChangeIdentifier
              ? { revisionChangeIdentifier: rev.revisionChangeIdentifier }
              : {}),
            ...(rev.revisionSummary ? { revisionSummary: rev.revisionSummary } : {}),
            created,
            ...(rev.revisionUrl ? { revisionUrl: rev.revisionUrl } : {}),
          });
        }
        execution.sourceRevisions.push({
          actionName: action.name,
          revisionId: rev.revisionId,
          ...(rev.revisionSummary ? { revisionSummary: rev.revisionSummary } : {}),
          ...(rev.revisionUrl ? { revisionUrl: rev.revisionUrl } : {}),
        });
      }
    }
    this.#setActionStatus(pipeline, record, result.status);
    return result.status;
  }

  // ---- status bookkeeping ----

  #stageName(execution: ExecutionRecord): string {
    return execution.declaration.stages[execution.stageIndex]?.name ?? '';
  }

  #setExecutionStatus(execution: ExecutionRecord, status: PipelineExecutionStatus, summary?: string): void {
    execution.status = status;
    if (summary !== undefined) execution.statusSummary = summary;
    execution.lastUpdateTime = this.#runtime.clock.now();
    this.#emit('pipelineExecution', execution, status, summary ? { detail: summary } : {});
  }

  #finishExecution(execution: ExecutionRecord, status: PipelineExecutionStatus, summary?: string): void {
    execution.where = 'done';
    this.#setExecutionStatus(execution, status, summary);
  }

  #setStageStatus(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    stageName: string,
    status: StageExecutionStatus,
  ): void {
    execution.stageStatus.set(stageName, status);
    const runtime = this.#store.stage(pipeline, stageName);
    if (runtime.latest?.pipelineExecutionId === execution.pipelineExecutionId) runtime.latest.status = status;
    execution.lastUpdateTime = this.#runtime.clock.now();
    this.#emit('stage', execution, status, { stage: stageName });
  }

  #setActionStatus(
    pipeline: PipelineRecord,
    record: ActionExecutionRecord,
    status: ActionExecutionStatus,
  ): void {
    record.status = status;
    record.lastUpdateTime = this.#runtime.clock.now();
    this.#emitAction(pipeline, record);
  }

  #emitAction(pipeline: PipelineRecord, record: ActionExecutionRecord): void {
    this.#runtime.events.append({
      service: 'codepipeline',
      kind: 'action',
      status: record.status,
      pipeline: pipeline.declaration.name,
      executionId: record.pipelineExecutionId,
      stage: record.stageName,
      action: record.actionName,
      ...(record.externalExecutionId ? { detail: record.externalExecutionId } : {}),
    });
  }

  #emit(
    kind: string,
    execution: ExecutionRecord,
    status: string,
    extra: { stage?: string; detail?: string } = {},
  ): void {
    this.#runtime.events.append({
      service: 'codepipeline',
      kind,
      status,
      pipeline: execution.pipelineName,
      executionId: execution.pipelineExecutionId,
      ...extra,
    });
  }

  #track(promise: Promise<unknown>): void {
    this.#running.add(promise);
    void promise.finally(() => this.#running.delete(promise));
  }
}

/** The S3 key CodePipeline gives an artifact: `<pipeline (20 chars)>/<artifact (10 chars)>/<7 chars>`. */
export function artifactKeyOf(pipelineName: string, pipelineExecutionId: string, artifact: string): string {
  const suffix = pipelineExecutionId.replaceAll('-', '').slice(0, 7);
  return `${pipelineName.slice(0, 20)}/${artifact.slice(0, 10)}/${suffix}`;
}

function artifactKey(execution: ExecutionRecord, artifact: string): string {
  return artifactKeyOf(execution.pipelineName, execution.pipelineExecutionId, artifact);
}

function inputRevision(execution: ExecutionRecord, artifact: string | undefined): string | undefined {
  return execution.artifactRevisions.find((r) => r.name === artifact)?.revisionId;
}

function resolveVariables(
  declared: { name: string; defaultValue?: string }[] | undefined,
  given: { name: string; value: string }[] | undefined,
): { name: string; resolvedValue: string }[] {
  const out: { name: string; resolvedValue: string }[] = [];
  for (const d of declared ?? []) {
    const value = given?.find((g) => g.name === d.name)?.value ?? d.defaultValue;
    if (value !== undefined) out.push({ name: d.name, resolvedValue: value });
  }
  return out;
}
