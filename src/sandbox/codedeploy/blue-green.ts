/**
 * Blue/green with COPY_AUTO_SCALING_GROUP (aws-semantics 3.6 table, 3.11): a green copy of the group, the revision
 * installed on green, an optional `Ready` wait for ContinueDeployment, traffic allowed on green and blocked on
 * blue, the deployment group switched to green, blue terminated after the (scaled) wait. A rollback (or a failure
 * without one) routes traffic back to blue while it exists and deletes green.
 */
import { ALLOW_EVENTS, BLOCK_EVENTS, INSTALL_EVENTS } from './lifecycle.ts';
import {
  DeploymentFailure,
  type DeploymentSteps,
  type EngineDeps,
  healthConstraints,
  noInstances,
  type Run,
  StopRequested,
} from './steps.ts';
import type { BlueGreenState, DeploymentGroupRecord, DeploymentRecord } from './store.ts';
import { Traffic } from './traffic.ts';

/** Blue termination wait when the group does not say (minutes). */
const DEFAULT_TERMINATION_WAIT_MINUTES = 5;

/**
 * @example
 * const blueGreen = new BlueGreen(steps);
 * await blueGreen.deploy(d, dg, run); // green serves, the group points at CodeDeploy_<dg>_<id>, blue is gone
 */
export class BlueGreen {
  readonly steps: DeploymentSteps;

  constructor(steps: DeploymentSteps) {
    this.steps = steps;
  }

  get deps(): EngineDeps {
    return this.steps.deps;
  }

  async deploy(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
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
    this.steps.checkpoint(run);
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
    for (const id of bg.greenIds) this.steps.addTarget(d, id, [...INSTALL_EVENTS, ...ALLOW_EVENTS], 'Green');
    for (const id of blueIds) this.steps.addTarget(d, id, BLOCK_EVENTS, 'Blue');
    d.targetsKnown = true;
    this.steps.notify(d);

    // 1. Install on green.
    const installed = await this.steps.batches(d, run, bg.greenIds, INSTALL_EVENTS, false);

    // 2. Wait for a manual reroute when asked to (Ready).
    const ready = bgc.deploymentReadyOption;
    if (ready?.actionOnTimeout === 'STOP_DEPLOYMENT') {
      for (const id of installed) this.steps.setTargetStatus(d, d.targets.get(id), 'Ready');
      this.steps.setStatus(d, 'Ready');
      await this.#waitReady(run, this.deps.runtime.clock.scaled((ready.waitTimeInMinutes ?? 0) * 60));
      this.steps.setStatus(d, 'InProgress');
    }
    this.steps.checkpoint(run);

    // 3. Allow traffic on green (all at once: the reroute), then 4. block it on blue.
    bg.trafficShifted = true;
    const allowed = await Promise.all(
      installed.map((id) => this.steps.runTarget(d, run, id, ALLOW_EVENTS, true)),
    );
    if (allowed.some((ok) => !ok)) throw healthConstraints();
    this.steps.checkpoint(run);
    const blocked = await Promise.all(
      blueIds.map((id) => this.steps.runTarget(d, run, id, BLOCK_EVENTS, true)),
    );
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
    this.switchGroup(dg, blueGroup, greenGroup);

    // 6. Terminate blue after the (scaled) wait, or keep it alive. As on AWS the deployment stays InProgress
    // through the wait, with instanceTerminationWaitTimeStarted true from its start (aws-semantics 3.4): traffic is
    // on green already, Succeeded comes only once blue is gone.
    const termination = bgc.terminateBlueInstancesOnDeploymentSuccess;
    if ((termination?.action ?? 'TERMINATE') === 'TERMINATE') {
      d.instanceTerminationWaitTimeStarted = true;
      this.steps.notify(d);
      const minutes = termination?.terminationWaitTimeInMinutes ?? DEFAULT_TERMINATION_WAIT_MINUTES;
      await this.#waitTermination(run, this.deps.runtime.clock.scaled(minutes * 60));
      await autoscaling.deleteGroup(blueGroup);
      bg.blueTerminated = true;
      this.steps.event('deployment', 'BlueTerminated', d.deploymentId, undefined, blueGroup);
    }
  }

  switchGroup(dg: DeploymentGroupRecord, from: string, to: string): void {
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
  async restore(
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
      this.switchGroup(dg, bg.greenGroup, bg.blueGroup);
    }
    if (recorded) {
      const blue = bg.blueTerminated ? [] : bg.blueIds.filter((id) => this.deps.fleet.get(id));
      const allowed = await Promise.all(
        blue.map((id) =>
          this.steps.runTarget(owner, recorded.run, id, ALLOW_EVENTS, true, { rollbackBlue: true }),
        ),
      );
      if (allowed.some((ok) => !ok)) throw healthConstraints();
      const green = bg.greenIds.filter((id) => this.deps.fleet.get(id));
      await Promise.all(
        green.map((id) =>
          this.steps.runTarget(owner, recorded.run, id, BLOCK_EVENTS, true, { rollbackGreen: true }),
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

  async rollback(d: DeploymentRecord, dg: DeploymentGroupRecord, run: Run): Promise<void> {
    const bg = d.blueGreen as BlueGreenState;
    if (bg.blueTerminated) {
      throw new DeploymentFailure(
        'INTERNAL_ERROR',
        `The original instances of auto scaling group ${bg.blueGroup} were terminated; traffic cannot be routed back to them.`,
      );
    }
    const blue = bg.blueIds.filter((id) => this.deps.fleet.get(id));
    const green = bg.greenIds.filter((id) => this.deps.fleet.get(id));
    for (const id of blue) this.steps.addTarget(d, id, ALLOW_EVENTS, 'Blue');
    for (const id of green) this.steps.addTarget(d, id, BLOCK_EVENTS, 'Green');
    d.targetsKnown = true;
    this.steps.notify(d);
    await this.restore(d, dg, bg, run.controller.signal, { run });
    d.blueGreen = undefined; // nothing of green is left to restore
  }
}
