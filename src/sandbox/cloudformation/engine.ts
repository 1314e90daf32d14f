/**
 * Runs stack operations as CloudFormation does (reference §2.2, §2.5, §2.6): create in dependency order, every
 * resource whose dependencies are done at once; on the first failure cancel what is in flight and roll back
 * (ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE, or CREATE_FAILED with DisableRollback / OnFailure=DO_NOTHING, or a
 * delete with OnFailure=DELETE); delete in reverse order, a resource once everything that depends on it is gone.
 * Each resource takes roughly its AWS time, scaled by the sandbox clock, so create and delete are not instant.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../protocol/errors.ts';
import type { SandboxRuntime } from '../types.ts';
import { evaluate, type EvalContext } from './intrinsics.ts';
import { pseudoValue } from './prepare.ts';
import { generatedName } from './providers/props.ts';
import {
  type ProviderContext,
  type ProviderServices,
  type ResourceProvider,
  ResourceFailure,
} from './providers/types.ts';
import type { OutputView, ResourceRecord, StackRecord, StackStatus, StackStore } from './store.ts';

const STACK_TYPE = 'AWS::CloudFormation::Stack';
const CANCELLED = 'Resource creation cancelled';

/** CloudFormation's handler error codes for the service error codes providers meet. */
function handlerErrorCode(code: string): string {
  if (/AlreadyExists|Duplicate|NameExists/.test(code)) return 'AlreadyExists';
  if (/NotFound|DoesNotExist/.test(code)) return 'NotFound';
  if (/Throttl|RateExceeded/.test(code)) return 'Throttling';
  if (/Limit|TooMany/.test(code)) return 'ServiceLimitExceeded';
  if (/Validation|Invalid|Required|Missing/.test(code)) return 'InvalidRequest';
  return 'GeneralServiceException';
}

/**
 * The reason a resource's `*_FAILED` event shows: a registry handler's decoration around the service's message
 * (reference §2.5), or the message as is for failures CloudFormation words itself.
 */
export function failureReason(error: unknown): string {
  if (error instanceof ResourceFailure) return error.message;
  if (error instanceof ServiceError) {
    return `Resource handler returned message: "${error.message}" (RequestToken: ${randomUUID()}, HandlerErrorCode: ${handlerErrorCode(error.code)})`;
  }
  const message = (error as Error)?.message ?? String(error);
  return `Resource handler returned message: "${message}" (RequestToken: ${randomUUID()}, HandlerErrorCode: InternalFailure)`;
}

export interface EngineDeps {
  readonly runtime: SandboxRuntime;
  readonly store: StackStore;
  readonly providers: ReadonlyMap<string, ResourceProvider>;
  readonly services: () => ProviderServices;
  readonly onInternalError?: (error: unknown, where: string) => void;
}

type Outcome = 'ok' | 'failed' | 'cancelled';

export class StackEngine {
  readonly #deps: EngineDeps;
  readonly #running = new Set<Promise<void>>();
  /** Aborted by {@link StackEngine.abortAll} (service stop or reset); replaced after. */
  #stopper = new AbortController();
  /** The sandbox clock's signal and the stopper's. */
  #signal: AbortSignal;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#signal = AbortSignal.any([deps.runtime.clock.signal, this.#stopper.signal]);
  }

  /** Starts creating a stack whose record (CREATE_IN_PROGRESS) is in the store. */
  startCreate(stack: StackRecord): void {
    this.#track(stack, this.#create(stack));
  }

  /**
   * DeleteStack: starts the delete, or queues it behind a create under way (reference §2.2.4); a stack already
   * deleting or deleted is left alone.
   */
  requestDelete(stack: StackRecord, retain: Set<string>, token?: string): void {
    if (stack.status === 'DELETE_COMPLETE' || stack.status === 'DELETE_IN_PROGRESS') return;
    if (stack.status === 'CREATE_IN_PROGRESS' || stack.status === 'ROLLBACK_IN_PROGRESS') {
      stack.deleteRequested = { retain, ...(token ? { token } : {}) };
      return;
    }
    this.#track(stack, this.#delete(stack, retain, token));
  }

  /** Ends every operation under way (stacks stay in the status they had) and waits for them. */
  async abortAll(): Promise<void> {
    this.#stopper.abort(new Error('sandbox CloudFormation stopped'));
    await Promise.allSettled([...this.#running]);
    this.#stopper = new AbortController();
    this.#signal = AbortSignal.any([this.#deps.runtime.clock.signal, this.#stopper.signal]);
  }

  #track(stack: StackRecord, p: Promise<void>): void {
    const run = p.catch((error) => {
      if (this.#signal.aborted) return;
      this.#deps.onInternalError?.(error, `cloudformation stack ${stack.stackName}`);
    });
    stack.operation = run;
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  #stackEvent(stack: StackRecord, status: StackStatus, reason?: string): void {
    stack.status = status;
    if (reason !== undefined) stack.statusReason = reason;
    this.#deps.store.event(stack, {
      LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId,
      ResourceType: STACK_TYPE,
      ResourceStatus: status,
      ...(reason !== undefined ? { ResourceStatusReason: reason } : {}),
    });
  }

  #resourceEvent(stack: StackRecord, rec: ResourceRecord, reason?: string, withProps = false): void {
    rec.timestamp = new Date();
    this.#deps.store.event(stack, {
      LogicalResourceId: rec.logicalId,
      ...(rec.physicalId !== undefined ? { PhysicalResourceId: rec.physicalId } : { PhysicalResourceId: '' }),
      ResourceType: rec.type,
      ResourceStatus: rec.status,
      ...(reason !== undefined ? { ResourceStatusReason: reason } : {}),
      ...(withProps && rec.properties ? { ResourceProperties: JSON.stringify(rec.properties) } : {}),
    });
  }

  /** Where `Ref` / `Fn::GetAtt` look while resources are created. */
  evalContext(stack: StackRecord): EvalContext {
    const { plan } = stack;
    const identity = this.#identity(stack);
    return {
      ref: (name) => {
        if (plan.parameterValues.has(name)) return plan.parameterValues.get(name);
        const pseudo = pseudoValue(name, identity);
        if (pseudo !== undefined) return pseudo;
        const rec = stack.resources.get(name);
        if (rec?.physicalId === undefined) {
          throw new ResourceFailure(`Template error: ${name} is referenced before it was created`);
        }
        return rec.physicalId;
      },
      getAtt: (resource, attribute) => {
        const rec = stack.resources.get(resource);
        const provider = this.#deps.providers.get(rec?.type ?? plan.resources.get(resource)?.Type ?? '');
        if (provider && !provider.attributes.includes(attribute)) {
          throw new ResourceFailure(
            `Template error: resource ${resource} does not support attribute type ${attribute} in Fn::GetAtt`,
          );
        }
        if (rec?.physicalId === undefined) {
          throw new ResourceFailure(
            `Template error: ${resource}.${attribute} is referenced before ${resource} was created`,
          );
        }
        const v = rec.attributes[attribute];
        if (v === undefined) throw new ResourceFailure(`Attribute '${attribute}' does not exist`);
        return v;
      },
      condition: (name) => plan.conditions.get(name) ?? false,
      importValue: (name) => {
        for (const s of this.#deps.store.live()) {
          const out = s.outputs?.find((o) => o.ExportName === name);
          if (out) {
            stack.imports.add(name);
            return out.OutputValue;
          }
        }
        throw new ResourceFailure(`No export named ${name} found`);
      },
      mappings: plan.template.Mappings ?? {},
      region: this.#deps.runtime.region,
    };
  }

  #identity(stack: StackRecord) {
    return {
      name: stack.stackName,
      id: stack.stackId,
      region: this.#deps.runtime.region,
      accountId: this.#deps.runtime.accountId,
      notificationArns: stack.notificationArns,
    };
  }

  #providerContext(
    stack: StackRecord,
    logicalId: string,
    signal: AbortSignal,
    creationPolicy?: Record<string, unknown>,
  ): ProviderContext {
    const { runtime } = this.#deps;
    return {
      stackName: stack.stackName,
      stackId: stack.stackId,
      logicalId,
      region: runtime.region,
      accountId: runtime.accountId,
      request: { requestId: randomUUID(), region: runtime.region, accountId: runtime.accountId },
      services: this.#deps.services(),
      clock: runtime.clock,
      signal,
      stackTags: stack.tags,
      systemTags: [
        { Key: 'aws:cloudformation:stack-name', Value: stack.stackName },
        { Key: 'aws:cloudformation:stack-id', Value: stack.stackId },
        { Key: 'aws:cloudformation:logical-id', Value: logicalId },
      ],
      ...(creationPolicy ? { creationPolicy } : {}),
      physicalName(maxLength, options = {}) {
        const name = generatedName(stack.stackName, logicalId, maxLength);
        return options.lowercase ? name.toLowerCase() : name;
      },
    };
  }

  // ------------------------------------------------------------------ create

  async #create(stack: StackRecord): Promise<void> {
    this.#stackEvent(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
    const { failed, timedOut } = await this.#createResources(stack);
    // The sandbox stopped (or the service was reset) mid-create: the stack stays as it is.
    if (this.#signal.aborted) return;
    let cause: string | undefined;
    if (timedOut) cause = 'Stack creation time exceeded the specified timeout.';
    else if (failed.length > 0) cause = `The following resource(s) failed to create: [${failed.join(', ')}].`;
    else {
      try {
        stack.outputs = this.#outputs(stack);
        delete stack.statusReason;
        this.#stackEvent(stack, 'CREATE_COMPLETE');
      } catch (error) {
        cause = `${(error as Error).message.replace(/\.?$/, '.')}`;
      }
    }
    if (cause !== undefined) await this.#afterFailedCreate(stack, cause);
    const queued = stack.deleteRequested;
    if (queued && stack.status !== 'DELETE_COMPLETE' && !this.#signal.aborted) {
      delete stack.deleteRequested;
      await this.#delete(stack, queued.retain, queued.token);
    }
  }

  /** After a failed create: `cause` is the first sentence of the stack's reason (reference §2.2.2). */
  async #afterFailedCreate(stack: StackRecord, cause: string): Promise<void> {
    if (this.#signal.aborted) return;
    if (stack.onFailure === 'DO_NOTHING' || stack.disableRollback) {
      // Without the closing period here (reference §2.2.2, doc D2).
      this.#stackEvent(stack, 'CREATE_FAILED', cause.slice(0, -1));
      return;
    }
    if (stack.onFailure === 'DELETE') {
      await this.#delete(stack, new Set(), stack.clientRequestToken, `${cause} Delete requested by user.`);
      return;
    }
    const reason = `${cause} Rollback requested by user.`;
    this.#stackEvent(stack, 'ROLLBACK_IN_PROGRESS', reason);
    const notDeleted = await this.#deleteResources(stack, new Set(), true);
    stack.deletionTime = new Date();
    if (notDeleted.length > 0) {
      const why = `The following resource(s) failed to delete: [${notDeleted.join(', ')}]. `;
      this.#stackEvent(stack, 'ROLLBACK_FAILED', why);
      return;
    }
    // The ROLLBACK_COMPLETE event has no reason; the stack keeps its trigger's text (reference §2.2.2).
    stack.status = 'ROLLBACK_COMPLETE';
    this.#deps.store.event(stack, {
      LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId,
      ResourceType: STACK_TYPE,
      ResourceStatus: 'ROLLBACK_COMPLETE',
    });
  }

  /** Creates the plan's resources; returns the failed and cancelled ones (empty on success). */
  async #createResources(stack: StackRecord): Promise<{ failed: string[]; timedOut: boolean }> {
    const { plan } = stack;
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#signal]);
    // TimeoutInMinutes: an AWS duration, so scaled; what is in flight then is cancelled.
    let timedOut = false;
    const timerStop = new AbortController();
    if (stack.timeoutInMinutes !== undefined) {
      const { clock } = this.#deps.runtime;
      clock
        .sleep(clock.scaled(stack.timeoutInMinutes * 60), AbortSignal.any([timerStop.signal, signal]))
        .then(
          () => {
            timedOut = true;
            controller.abort(new Error('stack creation timed out'));
          },
          () => {},
        );
    }
    const done = new Set<string>();
    const started = new Set<string>();
    const failed: string[] = [];
    const cancelled: string[] = [];
    const inflight = new Map<string, Promise<void>>();
    for (;;) {
      if (!controller.signal.aborted && !signal.aborted) {
        for (const id of plan.order) {
          if (started.has(id)) continue;
          if (![...(plan.dependencies.get(id) ?? [])].every((d) => done.has(d))) continue;
          started.add(id);
          const p = this.#createOne(stack, id, signal).then((outcome) => {
            inflight.delete(id);
            if (outcome === 'ok') done.add(id);
            else if (outcome === 'cancelled') cancelled.push(id);
            else {
              failed.push(id);
              controller.abort(new Error(`${id} failed`));
            }
          });
          inflight.set(id, p);
        }
      }
      if (inflight.size === 0) break;
      await Promise.race(inflight.values());
    }
    timerStop.abort();
    return { failed: [...failed, ...cancelled], timedOut };
  }

  async #createOne(stack: StackRecord, id: string, signal: AbortSignal): Promise<Outcome> {
    const decl = stack.plan.resources.get(id);
    const provider = this.#deps.providers.get(decl?.Type ?? '');
    if (!decl || !provider) throw new Error(`resource ${id} has no declaration or provider`);
    const rec: ResourceRecord = {
      logicalId: id,
      type: decl.Type,
      status: 'CREATE_IN_PROGRESS',
      attributes: {},
      timestamp: new Date(),
    };
    stack.resources.set(id, rec);
    const ctx = this.evalContext(stack);
    let creationPolicy: Record<string, unknown> | undefined;
    try {
      rec.properties = evaluate(decl.Properties ?? {}, ctx) as Record<string, unknown>;
      if (decl.CreationPolicy) creationPolicy = evaluate(decl.CreationPolicy, ctx) as Record<string, unknown>;
    } catch (error) {
      this.#resourceEvent(stack, rec);
      return this.#failCreate(
        stack,
        rec,
        error instanceof ServiceError ? new ResourceFailure(error.message) : error,
      );
    }
    this.#resourceEvent(stack, rec, undefined, true);
    const pctx = this.#providerContext(stack, id, signal, creationPolicy);
    try {
      if (signal.aborted) throw signal.reason;
      const created = await provider.create(rec.properties, pctx);
      rec.physicalId = created.physicalId;
      // Descriptors, not values: some attributes are read when asked (a target group's LoadBalancerArns).
      rec.attributes = Object.defineProperties({}, Object.getOwnPropertyDescriptors(created.attributes));
      this.#resourceEvent(stack, rec, 'Resource creation Initiated', true);
      await this.#deps.runtime.clock.sleep(this.#deps.runtime.clock.scaled(provider.createSeconds), signal);
      await provider.stabilize?.(created, pctx);
      rec.status = 'CREATE_COMPLETE';
      this.#resourceEvent(stack, rec);
      return 'ok';
    } catch (error) {
      if (signal.aborted && !(error instanceof ResourceFailure) && !(error instanceof ServiceError)) {
        rec.status = 'CREATE_FAILED';
        rec.statusReason = CANCELLED;
        this.#resourceEvent(stack, rec, CANCELLED);
        return 'cancelled';
      }
      return this.#failCreate(stack, rec, error);
    }
  }

  #failCreate(stack: StackRecord, rec: ResourceRecord, error: unknown): Outcome {
    if (!(error instanceof ResourceFailure) && !(error instanceof ServiceError)) {
      this.#deps.onInternalError?.(error, `cloudformation ${stack.stackName} creating ${rec.logicalId}`);
    }
    rec.status = 'CREATE_FAILED';
    rec.statusReason = failureReason(error);
    this.#resourceEvent(stack, rec, rec.statusReason);
    return 'failed';
  }

  #outputs(stack: StackRecord): OutputView[] {
    const ctx = this.evalContext(stack);
    const out: OutputView[] = [];
    for (const [key, o] of Object.entries(stack.plan.template.Outputs ?? {})) {
      if (o.Condition !== undefined && !stack.plan.conditions.get(o.Condition)) continue;
      const value = evaluate(o.Value, ctx);
      const exportName = o.Export ? evaluate(o.Export.Name, ctx) : undefined;
      if (exportName !== undefined) {
        // Export names are unique per account and region (reference §2.9; wording inferred there).
        const owner = this.#deps.store
          .live()
          .find((s) => s !== stack && s.outputs?.some((x) => x.ExportName === String(exportName)));
        if (owner)
          throw new Error(
            `Export with name ${String(exportName)} is already exported by stack ${owner.stackName}`,
          );
      }
      out.push({
        OutputKey: key,
        OutputValue: Array.isArray(value) ? value.join(',') : String(value),
        ...(o.Description !== undefined ? { Description: String(o.Description) } : {}),
        ...(exportName !== undefined ? { ExportName: String(exportName) } : {}),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------ delete

  async #delete(
    stack: StackRecord,
    retain: Set<string>,
    token?: string,
    reason = 'User Initiated',
  ): Promise<void> {
    if (token !== undefined) stack.clientRequestToken = token;
    // An export another stack imports keeps its stack: the delete is refused and the status stays (reference §2.9).
    for (const o of stack.outputs ?? []) {
      const name = o.ExportName;
      const importer =
        name === undefined
          ? undefined
          : this.#deps.store.live().find((s) => s !== stack && s.imports.has(name));
      if (importer) {
        const previous = stack.status;
        this.#stackEvent(stack, 'DELETE_IN_PROGRESS', reason);
        this.#stackEvent(
          stack,
          previous,
          `Export ${name} cannot be deleted as it is in use by ${importer.stackName}`,
        );
        return;
      }
    }
    stack.deletionTime = new Date();
    this.#stackEvent(stack, 'DELETE_IN_PROGRESS', reason);
    const notDeleted = await this.#deleteResources(stack, retain, false);
    if (this.#signal.aborted) return;
    if (notDeleted.length > 0) {
      this.#stackEvent(
        stack,
        'DELETE_FAILED',
        `The following resource(s) failed to delete: [${notDeleted.join(', ')}]. `,
      );
      return;
    }
    delete stack.statusReason;
    stack.outputs = undefined;
    this.#stackEvent(stack, 'DELETE_COMPLETE');
  }

  /** Deletes every resource not yet deleted, dependents first; returns the ones that failed to delete. */
  async #deleteResources(stack: StackRecord, retain: Set<string>, rollback: boolean): Promise<string[]> {
    const { plan } = stack;
    const settledOk = (r: ResourceRecord | undefined) =>
      r === undefined || r.status === 'DELETE_COMPLETE' || r.status === 'DELETE_SKIPPED';
    const targets = [...stack.resources.values()].filter((r) => !settledOk(r)).map((r) => r.logicalId);
    const dependents = new Map<string, string[]>();
    for (const id of targets) dependents.set(id, []);
    for (const [id, deps] of plan.dependencies) for (const d of deps) dependents.get(d)?.push(id);
    const started = new Set<string>();
    const failed: string[] = [];
    const inflight = new Map<string, Promise<void>>();
    const signal = this.#signal;
    for (;;) {
      if (!signal.aborted) {
        // Reverse creation order among the ready ones, so a sequential reading of events looks like AWS's.
        for (const id of [...targets].reverse()) {
          if (started.has(id)) continue;
          if (!(dependents.get(id) ?? []).every((d) => settledOk(stack.resources.get(d)))) continue;
          started.add(id);
          const p = this.#deleteOne(stack, id, retain, rollback).then((ok) => {
            inflight.delete(id);
            if (!ok) failed.push(id);
          });
          inflight.set(id, p);
        }
      }
      if (inflight.size === 0) break;
      await Promise.race(inflight.values());
    }
    // Resources never tried because something depending on them could not be deleted stay as they are.
    return failed;
  }

  async #deleteOne(stack: StackRecord, id: string, retain: Set<string>, rollback: boolean): Promise<boolean> {
    const rec = stack.resources.get(id);
    if (!rec) return true;
    const policy = stack.plan.resources.get(id)?.DeletionPolicy;
    const keep = retain.has(id) || policy === 'Retain' || (policy === 'RetainExceptOnCreate' && !rollback);
    if (keep && rec.physicalId !== undefined) {
      rec.status = 'DELETE_SKIPPED';
      this.#resourceEvent(stack, rec);
      return true;
    }
    const provider = this.#deps.providers.get(rec.type);
    rec.status = 'DELETE_IN_PROGRESS';
    delete rec.statusReason;
    this.#resourceEvent(stack, rec);
    try {
      if (rec.physicalId !== undefined && provider) {
        const pctx = this.#providerContext(stack, id, this.#signal);
        await provider.delete(
          { physicalId: rec.physicalId, properties: rec.properties ?? {}, attributes: rec.attributes },
          pctx,
        );
        await this.#deps.runtime.clock.sleep(
          this.#deps.runtime.clock.scaled(provider.deleteSeconds),
          this.#signal,
        );
      }
      rec.status = 'DELETE_COMPLETE';
      this.#resourceEvent(stack, rec);
      return true;
    } catch (error) {
      if (this.#signal.aborted) return false;
      if (!(error instanceof ResourceFailure) && !(error instanceof ServiceError)) {
        this.#deps.onInternalError?.(error, `cloudformation ${stack.stackName} deleting ${id}`);
      }
      rec.status = 'DELETE_FAILED';
      rec.statusReason = failureReason(error);
      this.#resourceEvent(stack, rec, rec.statusReason);
      return false;
    }
  }
}
