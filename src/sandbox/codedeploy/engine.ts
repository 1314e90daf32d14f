/**
 * The deployment engine: runs a created deployment to Succeeded / Failed / Stopped (aws-semantics 3.3–3.11).
 *
 * - In-place: targets in batches sized by the deployment config (OneAtATime / HalfAtATime / AllAtOnce or a custom
 *   `minimumHealthyHosts`), each target through its lifecycle events; with a load balancer BlockTraffic and
 *   AllowTraffic deregister and re-register it.
 * - Blue/green (COPY_AUTO_SCALING_GROUP): green group `CodeDeploy_<dg>_<id>`, install on green, optional `Ready`
 *   wait, allow traffic on green, block it on blue, switch the deployment group to green, terminate blue after the
 *   scaled wait.
 * - Rollback: a failed deployment (or a stopped one, on request) becomes `rollbackInfo`-linked to a new deployment
 *   of the last successful revision, `creator: codeDeployRollback`.
 */
import type { AutoScalingService } from '../autoscaling/index.ts';
import type { Fleet, Instance } from '../fleet/index.ts';
import type { SandboxRuntime } from '../types.ts';
import type { Agent, AgentContext, EventOutcome } from './agent.ts';
import { deploymentId as newDeploymentId, instanceArn } from './ids.ts';
import {
  ALLOW_EVENTS,
  BLOCK_EVENTS,
  IGNORABLE_EVENTS,
  IN_PLACE_WITH_LB,
  INSTALL_EVENTS,
  PREVIOUS_REVISION_EVENTS,
} from './lifecycle.ts';
import {
  ACTIVE_STATUSES,
  type BlueGreenState,
  type CodeDeployStore,
  type DeploymentGroupRecord,
  type DeploymentRecord,
  type DeploymentStatus,
  type TargetRecord,
} from './store.ts';
import { Traffic } from './traffic.ts';

/** The message AWS gives a deployment that failed its health constraints (aws-semantics 3.3, observed). */
export const HEALTH_CONSTRAINTS_MESSAGE =
  'The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems.';

/** Blue termination wait when the group does not say (minutes). */
const DEFAULT_TERMINATION_WAIT_MINUTES = 5;

class DeploymentFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

class StopRequested extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

interface Run {
  /** Aborted by StopDeployment or the sandbox stopping: no more events are scheduled, waits end. */
  readonly controller: AbortController;
  /** Aborted only when the sandbox stops: running hook scripts are killed (StopDeployment lets them finish). */
  readonly halt: AbortController;
  stop?: { autoRollbackEnabled?: boolean; code: string; message: string };
  halted: boolean;
  /** Wakes the Ready wait (ContinueDeployment READY_WAIT). */
  continueReady?: () => void;
  /** Ends the blue termination wait (ContinueDeployment TERMINATION_WAIT). */
  skipTermination?: () => void;
  /** Instances that downloaded this deployment's bundle (their other hooks use it). */
  readonly downloaded: Set<string>;
  done?: Promise<void>;
}

export interface EngineDeps {
  runtime: SandboxRuntime;
  store: CodeDeployStore;
  fleet: Fleet;
  autoscaling: AutoScalingService;
  agent: Agent;
  traffic: Traffic;
}

export type DeploymentListener = (deployment: DeploymentRecord) => void;

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
  readonly #listeners = new Set<DeploymentListener>();

  constructor(deps: EngineDeps) {
    this.deps = deps;
  }

  /** Called after every status change of any deployment (and of its targets). Returns an unsubscribe function. */
  onChange(listener: DeploymentListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
    this.#setStatus(d, 'InProgress');
    const dg = store.group(d.applicationName, d.deploymentGroupName);
    try {
      if (!dg)
        throw new DeploymentFailure(
          'DEPLOYMENT_GROUP_MISSING',
          `The deployment group ${d.deploymentGroupName} no longer exists.`,
        );
      if (d.creator === 'codeDeployRollback' && d.blueGreen) await this.#rollbackBlueGreen(d, dg, run);
      else if (d.deploymentStyle.deploymentType === 'BLUE_GREEN') await this.#blueGreen(d, dg, run);
      else await this.#inPlace(d, dg, run);
      this.#finish(d, dg, 'Succeeded');
    } catch (error) {
      this.#skipRemaining(d);
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
        await this.#restoreBlue(d, dg, d.blueGreen, new AbortController().signal, undefined);
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
    this.#event('deployment', 'Created', r.deploymentId, undefined, `rollback of ${d.deploymentId}`);
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
    this.#setStatus(d, status);
  }

  // ---- in-place ------------------------------------------------------------------------------------------

  async #inPlace(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
    const ids = dg.autoScalingGroups.flatMap((name) => this.deps.autoscaling.instancesOf(name));
    if (ids.length === 0) throw noInstances();
    const events = Traffic.controls(d.deploymentStyle, d.loadBalancerInfo)
      ? IN_PLACE_WITH_LB
      : INSTALL_EVENTS;
    for (const id of ids) this.#addTarget(d, id, events);
    d.targetsKnown = true;
    this.#notify(d);
    await this.#batches(d, run, ids, events, true);
  }

  /**
   * Runs `events` on `ids` in batches per the deployment config, enforcing its health rule (aws-semantics 3.8).
   * Returns the ids that succeeded.
   */
  async #batches(
    d: DeploymentRecord,
    run: Run,
    ids: string[],
    events: readonly string[],
    final: boolean,
  ): Promise<string[]> {
    const config = this.deps.store.configs.get(d.deploymentConfigName);
    const n = ids.length;
    const oneAtATime =
      d.deploymentConfigName === 'CodeDeployDefault.OneAtATime' || !config?.minimumHealthyHosts;
    const mhh = config?.minimumHealthyHosts;
    const minHealthy = !mhh
      ? n - 1
      : mhh.type === 'HOST_COUNT'
        ? mhh.value
        : Math.ceil((n * mhh.value) / 100);
    if (!oneAtATime && config && !config.builtIn && n > 0 && minHealthy >= n) {
      throw new DeploymentFailure(
        'HEALTH_CONSTRAINTS_INVALID',
        `The deployment cannot start: the deployment config ${config.deploymentConfigName} needs ${minHealthy} healthy instances but the deployment group has only ${n}.`,
      );
    }
    const size = oneAtATime ? 1 : Math.max(1, n - minHealthy);
    const succeeded: string[] = [];
    let failedCount = 0;
    for (let i = 0; i < n; i += size) {
      this.#checkpoint(run);
      const batch = ids.slice(i, i + size);
      const results = await Promise.all(batch.map((id) => this.#runTarget(d, run, id, events, final)));
      for (const [k, id] of batch.entries()) {
        if (results[k]) succeeded.push(id);
        else failedCount += 1;
      }
      this.#checkpoint(run);
      const isLast = i + size >= n;
      if (oneAtATime) {
        // OneAtATime: any failure but one on the very last instance (of several) fails the deployment.
        if (failedCount > 0 && (!isLast || n === 1)) throw healthConstraints();
      } else if (n - failedCount < minHealthy) {
        throw healthConstraints();
      }
    }
    if (!oneAtATime && succeeded.length < Math.max(1, minHealthy)) throw healthConstraints();
    if (oneAtATime && succeeded.length === 0) throw healthConstraints();
    return succeeded;
  }

  // ---- blue/green ----------------------------------------------------------------------------------------

  async #blueGreen(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
    const { autoscaling } = this.deps;
    const bgc = d.blueGreenDeploymentConfiguration ?? {};
    if (bgc.greenFleetProvisioningOption?.action !== 'COPY_AUTO_SCALING_GROUP') {
      throw new DeploymentFailure(
        'AUTO_SCALING_CONFIGURATION',
        'The sandbox provisions green fleets only with greenFleetProvisioningOption COPY_AUTO_SCALING_GROUP (DISCOVER_EXISTING needs EC2 tags the sandbox does not have).',
      );
    }
    const blueGroup = dg.autoScalingGroups[0];
    if (!blueGroup || !autoscaling.group(blueGroup)) {
      throw new DeploymentFailure(
        'AUTO_SCALING_CONFIGURATION',
        `The auto scaling group ${blueGroup ?? '(none)'} of deployment group ${dg.deploymentGroupName} does not exist.`,
      );
    }
    const blueIds = autoscaling.instancesOf(blueGroup);
    if (blueIds.length === 0) throw noInstances();
    const bg: BlueGreenState = {
      blueGroup,
      blueIds,
      greenIds: [],
      trafficShifted: false,
      blueBlocked: false,
      blueTerminated: false,
    };
    d.blueGreen = bg;
    this.#checkpoint(run);
    const greenGroup = `CodeDeploy_${dg.deploymentGroupName}_${d.deploymentId}`;
    bg.greenGroup = greenGroup;
    try {
      await autoscaling.copyGroup(blueGroup, greenGroup);
    } catch (error) {
      throw new DeploymentFailure(
        'AUTO_SCALING_CONFIGURATION',
        `Copying auto scaling group ${blueGroup} failed: ${(error as Error).message}`,
      );
    }
    bg.greenIds = autoscaling.instancesOf(greenGroup);
    for (const id of bg.greenIds) this.#addTarget(d, id, [...INSTALL_EVENTS, ...ALLOW_EVENTS], 'Green');
    for (const id of blueIds) this.#addTarget(d, id, BLOCK_EVENTS, 'Blue');
    d.targetsKnown = true;
    this.#notify(d);

    // 1. Install on green.
    const installed = await this.#batches(d, run, bg.greenIds, INSTALL_EVENTS, false);

    // 2. Wait for a manual reroute when asked to (Ready).
    const ready = bgc.deploymentReadyOption;
    if (ready?.actionOnTimeout === 'STOP_DEPLOYMENT') {
      for (const id of installed) this.#setTargetStatus(d, d.targets.get(id), 'Ready');
      this.#setStatus(d, 'Ready');
      await this.#waitReady(run, this.deps.runtime.clock.scaled((ready.waitTimeInMinutes ?? 0) * 60));
      this.#setStatus(d, 'InProgress');
    }
    this.#checkpoint(run);

    // 3. Allow traffic on green (all at once: the reroute), then 4. block it on blue.
    bg.trafficShifted = true;
    const allowed = await Promise.all(installed.map((id) => this.#runTarget(d, run, id, ALLOW_EVENTS, true)));
    if (allowed.some((ok) => !ok)) throw healthConstraints();
    this.#checkpoint(run);
    const blocked = await Promise.all(blueIds.map((id) => this.#runTarget(d, run, id, BLOCK_EVENTS, true)));
    bg.blueBlocked = true;
    if (blocked.some((ok) => !ok)) throw healthConstraints();

    // 5. The deployment group now deploys to green.
    // Green's group keeps the target groups (blue's and the deployment group's), so its scale-outs join them.
    const blueRecord = autoscaling.group(blueGroup);
    const tgs = this.deps.traffic.targetGroups(d.loadBalancerInfo);
    const arns = new Set([
      ...(blueRecord?.targetGroupArns ?? []),
      ...(typeof tgs === 'string' ? [] : tgs.arns),
    ]);
    await autoscaling.attachTargetGroups(greenGroup, [...arns], false);
    autoscaling.detachTargetGroups(blueGroup);
    this.#switchGroup(dg, blueGroup, greenGroup);

    // 6. Terminate blue after the (scaled) wait, or keep it alive.
    const termination = bgc.terminateBlueInstancesOnDeploymentSuccess;
    if ((termination?.action ?? 'TERMINATE') === 'TERMINATE') {
      d.instanceTerminationWaitTimeStarted = true;
      this.#notify(d);
      const minutes = termination?.terminationWaitTimeInMinutes ?? DEFAULT_TERMINATION_WAIT_MINUTES;
      await this.#waitTermination(run, this.deps.runtime.clock.scaled(minutes * 60));
      await autoscaling.deleteGroup(blueGroup);
      bg.blueTerminated = true;
      this.#event('deployment', 'BlueTerminated', d.deploymentId, undefined, blueGroup);
    }
  }

  #switchGroup(dg: DeploymentGroupRecord, from: string, to: string): void {
    dg.autoScalingGroups = dg.autoScalingGroups.map((n) => (n === from ? to : n));
    const hook = dg.hooks.get(from);
    dg.hooks.delete(from);
    if (hook) dg.hooks.set(to, hook);
  }

  async #waitReady(run: Run, timeoutMs: number): Promise<void> {
    const timeout = new AbortController();
    try {
      await new Promise<void>((resolve, reject) => {
        run.continueReady = resolve;
        const signal = run.controller.signal;
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        this.deps.runtime.clock.sleep(timeoutMs, timeout.signal).then(
          () => {
            // STOP_DEPLOYMENT: no reroute within the wait time → the deployment is Stopped (aws-semantics 3.2).
            run.stop ??= {
              code: 'TIMEOUT',
              message:
                'The deployment was stopped because no ContinueDeployment arrived within the deploymentReadyOption wait time.',
            };
            reject(new StopRequested(run.stop.code, run.stop.message));
          },
          (error) => reject(error),
        );
      });
    } finally {
      run.continueReady = undefined;
      timeout.abort();
    }
  }

  async #waitTermination(run: Run, ms: number): Promise<void> {
    const skip = new AbortController();
    run.skipTermination = () => skip.abort();
    try {
      await this.deps.runtime.clock.sleep(ms, AbortSignal.any([skip.signal, run.controller.signal]));
    } catch (error) {
      if (!skip.signal.aborted) throw error;
    } finally {
      run.skipTermination = undefined;
    }
  }

  /**
   * Puts the original fleet back: traffic to blue again if it had been shifted, green deregistered and its group
   * deleted. With `d` given (a rollback deployment) every step is recorded as lifecycle events on Blue (Allow) and
   * Green (Block), as the AppSpec hooks table says.
   */
  async #restoreBlue(
    owner: DeploymentRecord,
    dg: DeploymentGroupRecord,
    bg: BlueGreenState,
    signal: AbortSignal,
    recorded: { run: Run } | undefined,
  ): Promise<void> {
    const { autoscaling, traffic } = this.deps;
    const lb = owner.loadBalancerInfo;
    if (bg.greenGroup && dg.autoScalingGroups.includes(bg.greenGroup)) {
      const greenRecord = autoscaling.group(bg.greenGroup);
      if (autoscaling.group(bg.blueGroup))
        await autoscaling.attachTargetGroups(bg.blueGroup, greenRecord?.targetGroupArns ?? [], false);
      this.#switchGroup(dg, bg.greenGroup, bg.blueGroup);
    }
    if (recorded) {
      const blue = bg.blueTerminated ? [] : bg.blueIds.filter((id) => this.deps.fleet.get(id));
      const allowed = await Promise.all(
        blue.map((id) =>
          this.#runTarget(owner, recorded.run, id, ALLOW_EVENTS, true, { rollbackBlue: true }),
        ),
      );
      if (allowed.some((ok) => !ok)) throw healthConstraints();
      const green = bg.greenIds.filter((id) => this.deps.fleet.get(id));
      await Promise.all(
        green.map((id) =>
          this.#runTarget(owner, recorded.run, id, BLOCK_EVENTS, true, { rollbackGreen: true }),
        ),
      );
    } else if (Traffic.controls(owner.deploymentStyle, lb)) {
      if (!bg.blueTerminated && (bg.trafficShifted || bg.blueBlocked)) {
        for (const id of bg.blueIds) if (this.deps.fleet.get(id)) await traffic.allow(lb, id, signal);
      }
      if (bg.trafficShifted) {
        for (const id of bg.greenIds) if (this.deps.fleet.get(id)) await traffic.block(lb, id, signal);
      }
    }
    if (bg.greenGroup) await autoscaling.deleteGroup(bg.greenGroup);
  }

  async #rollbackBlueGreen(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
    const bg = d.blueGreen as BlueGreenState;
    if (bg.blueTerminated) {
      throw new DeploymentFailure(
        'INTERNAL_ERROR',
        `The original instances of auto scaling group ${bg.blueGroup} were terminated; traffic cannot be routed back to them.`,
      );
    }
    const blue = bg.blueIds.filter((id) => this.deps.fleet.get(id));
    const green = bg.greenIds.filter((id) => this.deps.fleet.get(id));
    for (const id of blue) this.#addTarget(d, id, ALLOW_EVENTS, 'Blue');
    for (const id of green) this.#addTarget(d, id, BLOCK_EVENTS, 'Green');
    d.targetsKnown = true;
    this.#notify(d);
    await this.#restoreBlue(d, dg, bg, run.controller.signal, { run });
    d.blueGreen = undefined; // nothing of green is left to restore
  }

  // ---- targets -------------------------------------------------------------------------------------------

  #addTarget(d: DeploymentRecord, id: string, events: readonly string[], label?: 'Blue' | 'Green'): void {
    const { runtime } = this.deps;
    const target: TargetRecord = {
      deploymentId: d.deploymentId,
      targetId: id,
      targetArn: instanceArn(runtime.region, runtime.accountId, id),
      status: 'Pending',
      lastUpdatedAt: runtime.clock.now(),
      lifecycleEvents: events.map((name) => ({ lifecycleEventName: name, status: 'Pending' })),
      ...(label ? { instanceLabel: label } : {}),
    };
    d.targets.set(id, target);
  }

  /** Runs `events` of one target in order; returns false when one failed (the rest are then Skipped). */
  async #runTarget(
    d: DeploymentRecord,
    run: Run,
    id: string,
    events: readonly string[],
    final: boolean,
    mode: { rollbackBlue?: boolean; rollbackGreen?: boolean } = {},
  ): Promise<boolean> {
    const target = d.targets.get(id);
    const instance = this.deps.fleet.get(id);
    if (!target) return false;
    this.#setTargetStatus(d, target, 'InProgress');
    const ctx: AgentContext | undefined = instance && {
      instance,
      deploymentId: d.deploymentId,
      applicationName: d.applicationName,
      deploymentGroupName: d.deploymentGroupName,
      deploymentGroupId: d.deploymentGroupId,
      revision: d.revision,
      signal: run.halt.signal,
    };
    for (const name of events) {
      const event = target.lifecycleEvents.find((e) => e.lifecycleEventName === name);
      if (!event) continue;
      if (run.controller.signal.aborted) {
        this.#skipTarget(d, target);
        return false;
      }
      event.status = 'InProgress';
      event.startTime = this.deps.runtime.clock.now();
      this.#event('lifecycleEvent', 'InProgress', d.deploymentId, id, name);
      this.#touch(d, target);
      let outcome: EventOutcome;
      if (!ctx || !instance) {
        outcome = {
          ok: false,
          diagnostics: {
            errorCode: 'UnknownError',
            scriptName: '',
            message: `Instance ${id} no longer exists (terminated)`,
            logTail: '',
          },
        };
      } else {
        try {
          outcome = await this.#execute(d, run, ctx, instance, name, mode);
        } catch (error) {
          if (run.controller.signal.aborted) {
            outcome = {
              ok: false,
              diagnostics: {
                errorCode: 'UnknownError',
                scriptName: '',
                message: 'The deployment was stopped while this event ran',
                logTail: '',
              },
            };
          } else {
            outcome = {
              ok: false,
              diagnostics: {
                errorCode: 'UnknownError',
                scriptName: '',
                message: (error as Error).message,
                logTail: '',
              },
            };
          }
        }
      }
      if (!outcome.ok && IGNORABLE_EVENTS.has(name) && d.ignoreApplicationStopFailures) {
        outcome = {
          ok: true,
          diagnostics: {
            ...outcome.diagnostics,
            message: `${outcome.diagnostics.message} (ignored: ignoreApplicationStopFailures)`,
          },
        };
      }
      event.endTime = this.deps.runtime.clock.now();
      event.status = outcome.ok ? 'Succeeded' : 'Failed';
      event.diagnostics = outcome.diagnostics;
      this.#event('lifecycleEvent', event.status, d.deploymentId, id, name);
      if (!outcome.ok) {
        for (const rest of target.lifecycleEvents) {
          if (rest.status === 'Pending') {
            rest.status = 'Skipped';
            rest.endTime = event.endTime;
          }
        }
        this.#setTargetStatus(d, target, 'Failed');
        return false;
      }
      this.#touch(d, target);
    }
    if (final) {
      if (ctx && run.downloaded.has(id)) this.deps.agent.markSucceeded(ctx);
      this.#setTargetStatus(d, target, 'Succeeded');
    }
    return true;
  }

  async #execute(
    d: DeploymentRecord,
    run: Run,
    ctx: AgentContext,
    instance: Instance,
    name: string,
    mode: { rollbackBlue?: boolean; rollbackGreen?: boolean },
  ): Promise<EventOutcome> {
    const { agent, traffic } = this.deps;
    const signal = run.controller.signal;
    switch (name) {
      case 'DownloadBundle': {
        const outcome = await agent.downloadBundle(ctx, d.revisionDir);
        if (outcome.ok) run.downloaded.add(instance.instanceId);
        return outcome;
      }
      case 'Install':
        return agent.install(ctx, d.fileExistsBehavior);
      case 'BlockTraffic':
        return traffic.block(d.loadBalancerInfo, instance.instanceId, signal);
      case 'AllowTraffic':
        return traffic.allow(d.loadBalancerInfo, instance.instanceId, signal);
      default: {
        // Which revision's scripts run (aws-semantics 3.6): ApplicationStop and the Block hooks use the last
        // successful revision on the instance (the most recent one on green during a blue/green rollback); the
        // others use this deployment's bundle once it is downloaded, else the last successful one.
        let bundle: string | undefined;
        if (PREVIOUS_REVISION_EVENTS.has(name)) {
          bundle = mode.rollbackGreen ? agent.mostRecentBundle(ctx) : agent.lastSuccessfulBundle(ctx);
        } else {
          bundle = run.downloaded.has(instance.instanceId)
            ? agent.archiveDir(ctx)
            : agent.lastSuccessfulBundle(ctx);
        }
        return agent.runHooks(ctx, name, bundle);
      }
    }
  }

  #skipTarget(d: DeploymentRecord, target: TargetRecord): void {
    const now = this.deps.runtime.clock.now();
    let ran = false;
    for (const e of target.lifecycleEvents) {
      if (e.status === 'Pending') {
        e.status = 'Skipped';
        e.endTime = now;
      } else ran = true;
    }
    this.#setTargetStatus(d, target, ran ? 'Failed' : 'Skipped');
  }

  /** After a failure or stop: targets that never ran are Skipped; those mid-way keep what they reached. */
  #skipRemaining(d: DeploymentRecord): void {
    for (const t of d.targets.values()) {
      if (t.status === 'Pending' || t.status === 'Ready' || t.status === 'InProgress') this.#skipTarget(d, t);
    }
  }

  #checkpoint(run: Run): void {
    if (run.controller.signal.aborted) throw run.controller.signal.reason;
  }

  // ---- events --------------------------------------------------------------------------------------------

  #setStatus(d: DeploymentRecord, status: DeploymentStatus): void {
    d.status = status;
    this.#event('deployment', status, d.deploymentId, undefined, d.errorInformation?.code);
    this.#notify(d);
  }

  #setTargetStatus(
    d: DeploymentRecord,
    target: TargetRecord | undefined,
    status: TargetRecord['status'],
  ): void {
    if (!target || target.status === status) return;
    target.status = status;
    this.#event('target', status, d.deploymentId, target.targetId, target.instanceLabel);
    this.#touch(d, target);
  }

  #touch(d: DeploymentRecord, target: TargetRecord): void {
    target.lastUpdatedAt = this.deps.runtime.clock.now();
    this.#notify(d);
  }

  #notify(d: DeploymentRecord): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(d);
      } catch {
        // a listener's bug must not break the deployment
      }
    }
  }

  #event(kind: string, status: string, deploymentId: string, targetId?: string, detail?: string): void {
    this.deps.runtime.events.append({
      service: 'codedeploy',
      kind,
      status,
      deploymentId,
      ...(targetId ? { targetId } : {}),
      ...(detail ? { detail } : {}),
    });
  }
}

function healthConstraints(): DeploymentFailure {
  return new DeploymentFailure('HEALTH_CONSTRAINTS', HEALTH_CONSTRAINTS_MESSAGE);
}

function noInstances(): DeploymentFailure {
  return new DeploymentFailure(
    'NO_INSTANCES',
    'The deployment failed because no instances were found for your deployment group. Check your deployment group settings to make sure the tags for your Amazon EC2 instances or Auto Scaling groups correctly identify the instances you want to deploy to, and then try again.',
  );
}
