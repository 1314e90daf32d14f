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
import type { ErrorCode } from '@aws-sdk/client-codedeploy';
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
 * const engine = new DeploymentEngine({ runtime, settings: { rollbackLinkDelayMs: 15_000 }, store, fleet, autoscaling, agent, traffic });
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
    return this.#until(d, () => !ACTIVE_STATUSES.has(d.status), signal);
  }

  /**
   * Like {@link waitFor}, then also until CodeDeploy has decided on the rollback: `rollbackInfo` written (a
   * rollback deployment linked, or a message saying why there is none) or no rollback applies. The link comes
   * `settings.rollbackLinkDelayMs` (scaled) after the final status, as on AWS.
   */
  waitSettled(d: DeploymentRecord, signal?: AbortSignal): Promise<DeploymentRecord> {
    return this.#until(d, () => !ACTIVE_STATUSES.has(d.status) && !d.rollbackLinkPending, signal);
  }

  #until(d: DeploymentRecord, done: () => boolean, signal?: AbortSignal): Promise<DeploymentRecord> {
    if (done()) return Promise.resolve(d);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        off();
        reject(signal?.reason);
      };
      const off = this.onChange((x) => {
        if (x === d && done()) {
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
      const info: { code: ErrorCode; message: string } = stopped
        ? { code: stopped.code, message: stopped.message }
        : error instanceof DeploymentFailure
          ? { code: error.code, message: error.message }
          : { code: 'INTERNAL_ERROR', message: `The sandbox engine failed: ${(error as Error).message}` };
      await this.#settleFailure(d, dg, run, status, info);
    }
  }

  /**
   * Decides on rollback (aws-semantics 3.10). Without one, a blue/green deployment puts blue back itself before it
   * reports. With one, the status is reported first and `rollbackInfo` (the rollback deployment and its link, or
   * the message saying why there is none) only `settings.rollbackLinkDelayMs` later, as AWS does.
   */
  async #settleFailure(
    d: DeploymentRecord,
    dg: DeploymentGroupRecord | undefined,
    run: Run,
    status: DeploymentStatus,
    info: { code: ErrorCode; message: string },
  ): Promise<void> {
    const config = d.autoRollbackConfiguration;
    const enabled = config?.enabled === true;
    const events = config?.events ?? [];
    // StopDeployment's autoRollbackEnabled decides for a stop when given, whatever the group's events say.
    const wanted =
      status === 'Failed'
        ? enabled && events.includes('DEPLOYMENT_FAILURE')
        : info.code === 'MANUAL_STOP' &&
          (run.stop?.autoRollbackEnabled ?? (enabled && events.includes('DEPLOYMENT_STOP_ON_REQUEST')));
    if (!wanted) {
      await this.#restoreOriginal(d, dg);
      this.#finish(d, dg, status, info);
      return;
    }
    const good = dg?.lastSuccessfulDeployment
      ? this.deps.store.deployments.get(dg.lastSuccessfulDeployment.deploymentId)
      : undefined;
    // Where a rollback can go: the group's last successful revision (a rollback is not rolled back again).
    const to = dg && good && d.creator !== 'codeDeployRollback' ? { dg, good } : undefined;
    const delayMs = this.deps.settings.rollbackLinkDelayMs;
    if (!to) await this.#restoreOriginal(d, dg);
    if (delayMs <= 0) {
      // No delay asked for: the link is there when the status turns final.
      const rollback = to ? this.#linkRollback(d, to.dg, to.good) : this.#noRollback(d, good);
      this.#finish(d, dg, status, info);
      if (to && rollback) this.#startRollback(to.dg, rollback);
      return;
    }
    d.rollbackLinkPending = true;
    this.#finish(d, dg, status, info);
    try {
      await this.deps.runtime.clock.sleep(this.deps.runtime.clock.scaled(delayMs / 1000), run.halt.signal);
    } catch {
      // The sandbox stopped or was reset meanwhile: no rollback is started any more.
      d.rollbackLinkPending = false;
      this.#steps.notify(d);
      return;
    }
    d.rollbackLinkPending = false;
    if (!to) {
      this.#noRollback(d, good);
      this.#steps.notify(d);
      return;
    }
    const busy = this.deps.store.activeDeployment(d.applicationName, d.deploymentGroupName);
    if (busy) {
      // Someone deployed to the group between the status and the rollback: CodeDeploy cannot start one.
      d.rollbackInfo = {
        rollbackMessage: `Automatic rollback was not performed: deployment ${busy.deploymentId} was already active in the deployment group.`,
      };
      await this.#restoreOriginal(d, dg);
      this.#steps.notify(d);
      return;
    }
    const rollback = this.#linkRollback(d, to.dg, to.good);
    this.#steps.notify(d);
    this.#startRollback(to.dg, rollback);
  }

  /** A blue/green deployment that is not rolled back puts its original fleet back itself. */
  async #restoreOriginal(d: DeploymentRecord, dg: DeploymentGroupRecord | undefined): Promise<void> {
    if (!d.blueGreen || !dg) return;
    try {
      await this.#blueGreen.restore(d, dg, d.blueGreen, new AbortController().signal, undefined);
    } catch (error) {
      d.deploymentStatusMessages.push(`Restoring the original instances failed: ${(error as Error).message}`);
    }
  }

  /** Creates the rollback deployment and links it both ways (`rollbackInfo`); `start` it after. */
  #linkRollback(d: DeploymentRecord, dg: DeploymentGroupRecord, good: DeploymentRecord): DeploymentRecord {
    const rollback = this.#createRollback(d, dg, good);
    d.rollbackInfo = {
      rollbackDeploymentId: rollback.deploymentId,
      rollbackMessage: `Automatic rollback in progress: deployment ${rollback.deploymentId} redeploys the revision of ${good.deploymentId}.`,
    };
    return rollback;
  }

  #startRollback(dg: DeploymentGroupRecord, rollback: DeploymentRecord): void {
    // The rollback is now the group's latest attempt.
    dg.lastAttemptedDeployment = {
      deploymentId: rollback.deploymentId,
      status: 'Created',
      createTime: rollback.createTime,
    };
    this.start(rollback);
  }

  /** `rollbackInfo` saying why no rollback deployment was made. */
  #noRollback(d: DeploymentRecord, good: DeploymentRecord | undefined): undefined {
    d.rollbackInfo = {
      rollbackMessage: good
        ? 'Automatic rollback was not performed: a rollback deployment is not rolled back again.'
        : 'Automatic rollback was not performed: the deployment group has no earlier successful deployment to roll back to.',
    };
    return undefined;
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
    info?: { code: ErrorCode; message: string },
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
