/**
 * What every kind of deployment shares: its targets and their lifecycle events (run through the agent or the
 * load balancer), batches sized by the deployment config (aws-semantics 3.8), and the status changes reported
 * to listeners and to the sandbox event log.
 */
import type { ErrorCode } from '@aws-sdk/client-codedeploy';
import type { AutoScalingService } from '../autoscaling/index.ts';
import type { Fleet, Instance } from '../fleet/index.ts';
import type { SandboxRuntime } from '../types.ts';
import type { Agent, AgentContext, EventOutcome } from './agent.ts';
import { instanceArn } from './ids.ts';
import { IGNORABLE_EVENTS, PREVIOUS_REVISION_EVENTS } from './lifecycle.ts';
import type { CodeDeployStore, DeploymentRecord, DeploymentStatus, TargetRecord } from './store.ts';
import type { Traffic } from './traffic.ts';

/** The message AWS gives a deployment that failed its health constraints (aws-semantics 3.3, observed). */
export const HEALTH_CONSTRAINTS_MESSAGE =
  'The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems.';

export class DeploymentFailure extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export class StopRequested extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Run {
  /** Aborted by StopDeployment or the sandbox stopping: no more events are scheduled, waits end. */
  readonly controller: AbortController;
  /** Aborted only when the sandbox stops: running hook scripts are killed (StopDeployment lets them finish). */
  readonly halt: AbortController;
  stop?: { autoRollbackEnabled?: boolean; code: ErrorCode; message: string };
  halted: boolean;
  /** Wakes the Ready wait (ContinueDeployment READY_WAIT). */
  continueReady?: () => void;
  /** Ends the blue termination wait (ContinueDeployment TERMINATION_WAIT). */
  skipTermination?: () => void;
  /** Instances that downloaded this deployment's bundle (their other hooks use it). */
  readonly downloaded: Set<string>;
  done?: Promise<void>;
}

/** Behaviour of the sandbox's CodeDeploy that tests may change while it runs. */
export interface CodeDeploySettings {
  /**
   * How long after a failed or stopped deployment's final status CodeDeploy writes its `rollbackInfo` (and
   * creates the rollback deployment), in AWS milliseconds: multiplied by the time scale. On AWS the link is
   * not there when the status turns `Failed`/`Stopped` (DESIGN.md §4 "AWS as it is"); a client that reads
   * `rollbackInfo` together with the status misses it.
   * @default 15000 (ms of AWS time; 300 ms at time scale 0.02)
   */
  rollbackLinkDelayMs: number;
}

/** The AWS-time delay between a deployment's final status and its rollback link (see `CodeDeploySettings`). */
export const DEFAULT_ROLLBACK_LINK_DELAY_MS = 15_000; // ms of AWS time

export interface EngineDeps {
  runtime: SandboxRuntime;
  settings: CodeDeploySettings;
  store: CodeDeployStore;
  fleet: Fleet;
  autoscaling: AutoScalingService;
  agent: Agent;
  traffic: Traffic;
}

export type DeploymentListener = (deployment: DeploymentRecord) => void;

export function healthConstraints(): DeploymentFailure {
  return new DeploymentFailure('HEALTH_CONSTRAINTS', HEALTH_CONSTRAINTS_MESSAGE);
}

export function noInstances(): DeploymentFailure {
  return new DeploymentFailure(
    'NO_INSTANCES',
    'The deployment failed because no instances were found for your deployment group. Check your deployment group settings to make sure the tags for your Amazon EC2 instances or Auto Scaling groups correctly identify the instances you want to deploy to, and then try again.',
  );
}

/**
 * @example
 * const steps = new DeploymentSteps(deps);
 * for (const id of ids) steps.addTarget(d, id, INSTALL_EVENTS);
 * const succeeded = await steps.batches(d, run, ids, INSTALL_EVENTS, true); // throws HEALTH_CONSTRAINTS when too many fail
 */
export class DeploymentSteps {
  readonly deps: EngineDeps;
  readonly listeners = new Set<DeploymentListener>();

  constructor(deps: EngineDeps) {
    this.deps = deps;
  }

  /**
   * Runs `events` on `ids` in batches per the deployment config, enforcing its health rule (aws-semantics 3.8).
   * Returns the ids that succeeded.
   */
  async batches(
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
    // Server configs always have a value; a Lambda/ECS config's missing one counts as NaN (no check passes on it).
    const value = mhh?.value ?? Number.NaN;
    const minHealthy = !mhh ? n - 1 : mhh.type === 'HOST_COUNT' ? value : Math.ceil((n * value) / 100);
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
      this.checkpoint(run);
      const batch = ids.slice(i, i + size);
      const results = await Promise.all(batch.map((id) => this.runTarget(d, run, id, events, final)));
      for (const [k, id] of batch.entries()) {
        if (results[k]) succeeded.push(id);
        else failedCount += 1;
      }
      this.checkpoint(run);
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

  // ---- targets -------------------------------------------------------------------------------------------

  addTarget(d: DeploymentRecord, id: string, events: readonly string[], label?: 'Blue' | 'Green'): void {
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
  async runTarget(
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
    this.setTargetStatus(d, target, 'InProgress');
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
        this.skipTarget(d, target);
        return false;
      }
      event.status = 'InProgress';
      event.startTime = this.deps.runtime.clock.now();
      this.event('lifecycleEvent', 'InProgress', d.deploymentId, id, name);
      this.touch(d, target);
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
      this.event('lifecycleEvent', event.status, d.deploymentId, id, name);
      if (!outcome.ok) {
        for (const rest of target.lifecycleEvents) {
          if (rest.status === 'Pending') {
            rest.status = 'Skipped';
            rest.endTime = event.endTime;
          }
        }
        this.setTargetStatus(d, target, 'Failed');
        return false;
      }
      this.touch(d, target);
    }
    if (final) {
      if (ctx && run.downloaded.has(id)) this.deps.agent.markSucceeded(ctx);
      this.setTargetStatus(d, target, 'Succeeded');
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

  skipTarget(d: DeploymentRecord, target: TargetRecord): void {
    const now = this.deps.runtime.clock.now();
    let ran = false;
    for (const e of target.lifecycleEvents) {
      if (e.status === 'Pending') {
        e.status = 'Skipped';
        e.endTime = now;
      } else ran = true;
    }
    this.setTargetStatus(d, target, ran ? 'Failed' : 'Skipped');
  }

  /** After a failure or stop: targets that never ran are Skipped; those mid-way keep what they reached. */
  skipRemaining(d: DeploymentRecord): void {
    for (const t of d.targets.values()) {
      if (t.status === 'Pending' || t.status === 'Ready' || t.status === 'InProgress') this.skipTarget(d, t);
    }
  }

  checkpoint(run: Run): void {
    if (run.controller.signal.aborted) throw run.controller.signal.reason;
  }

  // ---- events --------------------------------------------------------------------------------------------

  setStatus(d: DeploymentRecord, status: DeploymentStatus): void {
    d.status = status;
    this.event('deployment', status, d.deploymentId, undefined, d.errorInformation?.code);
    this.notify(d);
  }

  setTargetStatus(
    d: DeploymentRecord,
    target: TargetRecord | undefined,
    status: TargetRecord['status'],
  ): void {
    if (!target || target.status === status) return;
    target.status = status;
    this.event('target', status, d.deploymentId, target.targetId, target.instanceLabel);
    this.touch(d, target);
  }

  touch(d: DeploymentRecord, target: TargetRecord): void {
    target.lastUpdatedAt = this.deps.runtime.clock.now();
    this.notify(d);
  }

  notify(d: DeploymentRecord): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(d);
      } catch {
        // a listener's bug must not break the deployment
      }
    }
  }

  event(kind: string, status: string, deploymentId: string, targetId?: string, detail?: string): void {
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
