/**
 * The deployment engine: runs a created deployment to Succeeded / Failed / Stopped (aws-semantics 3.3–3.11).
 *
 * - In-place: targets in batches sized by the deployment config (OneAtATime / HalfAtATime / AllAtOnce or a custom
 *   `minimumHealthyHosts`), each target through its lifecycle events; with a load balancer BlockTraffic and
 *   AllowTraffic deregister and re-register it.
 * - Blue/green: see `blue-green.ts`.
 * - Rollback: a failed deployment (or a stopped one, on request) becomes `rollbackInfo`-linked to a new deployment
 *   of the last successful revision, `creator: codeDeployRollback`.
 * Steps shared by all of them (targets, batches, events) are in `steps.ts`.
 */
import { BlueGreen } from './blue-green.ts';
import { deploymentId as newDeploymentId } from './ids.ts';
import { IN_PLACE_WITH_LB, INSTALL_EVENTS } from './lifecycle.ts';
import {
  DeploymentFailure,
  type DeploymentListener,
  DeploymentSteps,
  type EngineDeps,
  noInstances,
  type Run,
  StopRequested,
} from './steps.ts';
import {
  ACTIVE_STATUSES,
  type DeploymentGroupRecord,
  type DeploymentRecord,
  type DeploymentStatus,
} from './store.ts';
import { Traffic } from './traffic.ts';

export type { DeploymentListener, EngineDeps } from './steps.ts';
export { HEALTH_CONSTRAINTS_MESSAGE } from './steps.ts';

/**
 * @example
 * const engine = new DeploymentEngine({ runtime, store, fleet, autoscaling, agent, traffic });
 * engine.start(record); // a DeploymentRecord in Created, already in the store
 * const done = await engine.waitFor(record, AbortSignal.timeout(600_000));
 * done.status; // 'Succeeded' | 'Failed' | 'Stopped'
 */
export class DeploymentEngine {
  readonly deps: EngineDeps;
  readonly #runs = new Map<string, Run>();
  readonly #steps: DeploymentSteps;
  readonly #blueGreen: BlueGreen;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    this.#steps = new DeploymentSteps(deps);
    this.#blueGreen = new BlueGreen(this.#steps);
  }

  /** Called after every status change of any deployment (and of its targets). Returns an unsubscribe function. */
  onChange(listener: DeploymentListener): () => void {
    this.#steps.listeners.add(listener);
    return () => this.#steps.listeners.delete(listener);
  }

  /** Starts running a deployment that is in `Created`. */
  start(d: DeploymentRecord): void {
    const run: Run = {
      controller: new AbortController(),
      halt: new AbortController(),
      halted: false,
      downloaded: new Set(),
    };
    this.#runs.set(d.deploymentId, run);
    run.done = this.#run(d, run).finally(() => this.#runs.delete(d.deploymentId));
  }

  /**
   * StopDeployment: no more events are scheduled; running scripts finish. Returns the API's `status`
   * (`Pending` while events are still running).
   */
  requestStop(d: DeploymentRecord, autoRollbackEnabled?: boolean): 'Pending' | 'Succeeded' {
    const run = this.#runs.get(d.deploymentId);
    if (!run) return 'Succeeded';
    run.stop ??= {
      autoRollbackEnabled,
      code: 'MANUAL_STOP',
      message: 'The deployment was stopped by a user request (StopDeployment).',
    };
    run.controller.abort(new StopRequested(run.stop.code, run.stop.message));
    return 'Pending';
  }

  /** ContinueDeployment; returns false when the deployment is not waiting for that. */
  continue(d: DeploymentRecord, waitType: 'READY_WAIT' | 'TERMINATION_WAIT'): boolean {
    const run = this.#runs.get(d.deploymentId);
    const wake = waitType === 'READY_WAIT' ? run?.continueReady : run?.skipTermination;
    if (!wake) return false;
    wake();
    return true;
  }

  /** In termination wait (ContinueDeployment TERMINATION_WAIT applies). */
  inTerminationWait(d: DeploymentRecord): boolean {
    return this.#runs.get(d.deploymentId)?.skipTermination !== undefined;
  }

  /** Resolves with the deployment once it is Succeeded, Failed or Stopped; rejects when `signal` aborts. */
  waitFor(d: DeploymentRecord, signal?: AbortSignal): Promise<DeploymentRecord> {
    if (!ACTIVE_STATUSES.has(d.status)) return Promise.resolve(d);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        off();
        reject(signal?.reason);
      };
      const off = this.onChange((x) => {
        if (x === d && !ACTIVE_STATUSES.has(d.status)) {
          off();
          signal?.removeEventListener('abort', onAbort);
          resolve(d);
        }
      });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Cancels every run (sandbox stop / reset) and waits for them to end. */
  async halt(): Promise<void> {
    const runs = [...this.#runs.values()];
    for (const run of runs) {
      run.halted = true;
      run.controller.abort(new Error('sandbox stopped'));
      run.halt.abort(new Error('sandbox stopped'));
    }
    await Promise.allSettled(runs.map((r) => r.done));
  }

  // ---- running -------------------------------------------------------------------------------------------

  async #run(d: DeploymentRecord, run: Run): Promise<void> {
    await new Promise((r) => setImmediate(r)); // CreateDeployment answers with the deployment still Created
    const { store } = this.deps;
    d.startTime = this.deps.runtime.clock.now();
    this.#steps.setStatus(d, 'InProgress');
    const dg = store.group(d.applicationName, d.deploymentGroupName);
    try {
      if (!dg)
        throw new DeploymentFailure(
          'DEPLOYMENT_GROUP_MISSING',
          `The deployment group ${d.deploymentGroupName} no longer exists.`,
        );
      if (d.creator === 'codeDeployRollback' && d.blueGreen) await this.#blueGreen.rollback(d, dg, run);
      else if (d.deploymentStyle.deploymentType === 'BLUE_GREEN') await this.#blueGreen.deploy(d, dg, run);
      else await this.#inPlace(d, dg, run);
      this.#finish(d, dg, 'Succeeded');
    } catch (error) {
      this.#steps.skipRemaining(d);
      if (run.halted) {
        this.#finish(d, dg, 'Stopped', {
          code: 'INTERNAL_ERROR',
          message: 'The sandbox stopped while the deployment ran.',
        });
        return;
      }
      const stopped =
        error instanceof StopRequested
          ? error
          : run.controller.signal.reason instanceof StopRequested
            ? run.controller.signal.reason
            : undefined;
      const status: DeploymentStatus = stopped ? 'Stopped' : 'Failed';
      const info = stopped
        ? { code: stopped.code, message: stopped.message }
        : error instanceof DeploymentFailure
          ? { code: error.code, message: error.message }
          : { code: 'INTERNAL_ERROR', message: `The sandbox engine failed: ${(error as Error).message}` };
      await this.#settleFailure(d, dg, run, status, info);
    }
  }

  /** Decides on rollback; without one, a blue/green deployment puts blue back itself before it reports. */
  async #settleFailure(
    d: DeploymentRecord,
    dg: DeploymentGroupRecord | undefined,
    run: Run,
    status: DeploymentStatus,
    info: { code: string; message: string },
  ): Promise<void> {
    const config = d.autoRollbackConfiguration;
    const enabled = config?.enabled === true;
    const events = config?.events ?? [];
    const wanted =
      status === 'Failed'
        ? enabled && events.includes('DEPLOYMENT_FAILURE')
        : info.code === 'MANUAL_STOP' &&
          (run.stop?.autoRollbackEnabled ?? (enabled && events.includes('DEPLOYMENT_STOP_ON_REQUEST')));
    const good = dg?.lastSuccessfulDeployment
      ? this.deps.store.deployments.get(dg.lastSuccessfulDeployment.deploymentId)
      : undefined;
    if (wanted && dg && good && d.creator !== 'codeDeployRollback') {
      const rollback = this.#createRollback(d, dg, good);
      d.rollbackInfo = {
        rollbackDeploymentId: rollback.deploymentId,
        rollbackMessage: `Automatic rollback in progress: deployment ${rollback.deploymentId} redeploys the revision of ${good.deploymentId}.`,
      };
      this.#finish(d, dg, status, info);
      // The rollback is now the group's latest attempt.
      dg.lastAttemptedDeployment = {
        deploymentId: rollback.deploymentId,
        status: 'Created',
        createTime: rollback.createTime,
      };
      this.start(rollback);
      return;
    }
    if (wanted) {
      d.rollbackInfo = {
        rollbackMessage: good
          ? 'Automatic rollback was not performed: a rollback deployment is not rolled back again.'
          : 'Automatic rollback was not performed: the deployment group has no earlier successful deployment to roll back to.',
      };
    }
    if (d.blueGreen && dg) {
      try {
        await this.#blueGreen.restore(d, dg, d.blueGreen, new AbortController().signal, undefined);
      } catch (error) {
        d.deploymentStatusMessages.push(
          `Restoring the original instances failed: ${(error as Error).message}`,
        );
      }
    }
    this.#finish(d, dg, status, info);
  }

  #createRollback(d: DeploymentRecord, dg: DeploymentGroupRecord, good: DeploymentRecord): DeploymentRecord {
    const now = this.deps.runtime.clock.now();
    const r: DeploymentRecord = {
      deploymentId: newDeploymentId(),
      applicationName: d.applicationName,
      deploymentGroupName: d.deploymentGroupName,
      deploymentGroupId: d.deploymentGroupId,
      deploymentConfigName: d.deploymentConfigName,
      previousRevision: d.revision,
      revision: good.revision,
      status: 'Created',
      createTime: now,
      creator: 'codeDeployRollback',
      ignoreApplicationStopFailures: d.ignoreApplicationStopFailures,
      autoRollbackConfiguration: d.autoRollbackConfiguration,
      updateOutdatedInstancesOnly: false,
      rollbackInfo: {
        rollbackTriggeringDeploymentId: d.deploymentId,
        rollbackMessage: `Rollback of deployment ${d.deploymentId} to the last successful revision (deployment ${good.deploymentId}).`,
      },
      deploymentStyle: d.deploymentStyle,
      instanceTerminationWaitTimeStarted: false,
      blueGreenDeploymentConfiguration: d.blueGreenDeploymentConfiguration,
      loadBalancerInfo: d.loadBalancerInfo,
      fileExistsBehavior: 'OVERWRITE',
      deploymentStatusMessages: [],
      revisionDir: good.revisionDir,
      targets: new Map(),
      targetsKnown: false,
      ...(d.blueGreen ? { blueGreen: { ...d.blueGreen } } : {}),
    };
    this.deps.store.deployments.set(r.deploymentId, r);
    dg.targetRevision = r.revision;
    this.#steps.event('deployment', 'Created', r.deploymentId, undefined, `rollback of ${d.deploymentId}`);
    return r;
  }

  #finish(
    d: DeploymentRecord,
    dg: DeploymentGroupRecord | undefined,
    status: DeploymentStatus,
    info?: { code: string; message: string },
  ): void {
    d.completeTime = this.deps.runtime.clock.now();
    if (info) d.errorInformation = info;
    if (dg) {
      const last = {
        deploymentId: d.deploymentId,
        status,
        endTime: d.completeTime,
        createTime: d.createTime,
      };
      dg.lastAttemptedDeployment = last;
      if (status === 'Succeeded') dg.lastSuccessfulDeployment = last;
    }
    const triggering = d.rollbackInfo?.rollbackTriggeringDeploymentId;
    const original = triggering ? this.deps.store.deployments.get(triggering) : undefined;
    if (original?.rollbackInfo) {
      original.rollbackInfo.rollbackMessage =
        status === 'Succeeded'
          ? `Automatic rollback succeeded: deployment ${d.deploymentId} restored the last successful revision.`
          : `Automatic rollback failed: deployment ${d.deploymentId} is ${status}.`;
    }
    this.#steps.setStatus(d, status);
  }

  // ---- in-place ------------------------------------------------------------------------------------------

  async #inPlace(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
    const ids =
      d.targetIds ?? dg.autoScalingGroups.flatMap((name) => this.deps.autoscaling.instancesOf(name));
    if (ids.length === 0) throw noInstances();
    const events = Traffic.controls(d.deploymentStyle, d.loadBalancerInfo)
      ? IN_PLACE_WITH_LB
      : INSTALL_EVENTS;
    for (const id of ids) this.#steps.addTarget(d, id, events);
    d.targetsKnown = true;
    this.#steps.notify(d);
    await this.#steps.batches(d, run, ids, events, true);
  }
}
