/**
 * CodeDeploy (EC2/on-premises) on the sandbox's local fleet: applications, deployment groups, deployment configs,
 * tags and real deployments (in-place and blue/green, with rollback) whose hooks run on fleet instances.
 *
 * Internal API for other services (in-process):
 * - {@link CodeDeployService.createDeployment}`(input & { artifactDir? })` — what CodePipeline's CodeDeploy action
 *   calls with the build output directory as the revision; returns `{ deploymentId }`. Throws the same
 *   `ServiceError`s as the CreateDeployment API (e.g. `DeploymentLimitExceededException`).
 * - {@link CodeDeployService.getDeploymentInfo}`(id)` — the GetDeployment `deploymentInfo` (or undefined).
 * - {@link CodeDeployService.onDeploymentChange}`(listener)` — called with the `deploymentInfo` after every change of
 *   any deployment (status, targets, events); returns an unsubscribe function.
 * - {@link CodeDeployService.waitForDeployment}`(id, signal?, { settled? })` — resolves with the final `deploymentInfo`
 *   (Succeeded / Failed / Stopped); with `settled: true` only once `rollbackInfo` is written too (it comes
 *   `settings.rollbackLinkDelayMs` after the status, as on AWS).
 * - {@link CodeDeployService.registerRevision}`(location, dir)` — makes an S3/GitHub revision location deployable
 *   through the API (the sandbox has no S3): its bundle is `dir`.
 *
 * @example
 * const { deploymentId } = await codedeploy.createDeployment({
 *   applicationName: 'web', deploymentGroupName: 'web-bg', artifactDir: buildOutputDir,
 * });
 * const info = await codedeploy.waitForDeployment(deploymentId, AbortSignal.timeout(600_000));
 * info.status; // 'Succeeded' | 'Failed' | 'Stopped'
 * const settled = await codedeploy.waitForDeployment(deploymentId, undefined, { settled: true });
 * settled.rollbackInfo?.rollbackDeploymentId; // after an auto rollback: written after the status, as on AWS
 */
import type { AutoScalingService } from '../autoscaling/index.ts';
import { isTargetRegistry, type TargetRegistry } from '../autoscaling/target-registry.ts';
import type { Elbv2Service } from '../elbv2/index.ts';
import type { Fleet } from '../fleet/index.ts';
import type { Handler, SandboxRuntime, SandboxService } from '../types.ts';
import { Agent } from './agent.ts';
import { deploymentHandlers } from './deployment-handlers.ts';
import { type CreateDeploymentInput, Deployments } from './deployments.ts';
import { DeploymentEngine } from './engine.ts';
import { type CodeDeploySettings, DEFAULT_ROLLBACK_LINK_DELAY_MS } from './steps.ts';
import { configHandlers } from './handlers.ts';
import { CodeDeployStore, type RevisionLocation } from './store.ts';
import { Traffic } from './traffic.ts';
import { deploymentInfo } from './views.ts';

export type { CreateDeploymentInput } from './deployments.ts';
export type { CodeDeploySettings } from './steps.ts';
export { DEFAULT_ROLLBACK_LINK_DELAY_MS } from './steps.ts';
export type { RevisionLocation } from './store.ts';

export interface CodeDeployDeps {
  fleet: Fleet;
  autoscaling: AutoScalingService;
  elbv2: Elbv2Service;
}

/** The GetDeployment `deploymentInfo` shape. */
export type DeploymentInfo = ReturnType<typeof deploymentInfo>;

export class CodeDeployService implements SandboxService {
  readonly name = 'codedeploy' as const;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly runtime: SandboxRuntime;
  readonly deps: CodeDeployDeps;
  readonly store = new CodeDeployStore();
  readonly agent: Agent;
  readonly engine: DeploymentEngine;
  readonly deployments: Deployments;
  /** Behaviour a test may change while the sandbox runs (read at each use), e.g. `settings.rollbackLinkDelayMs = 0`. */
  readonly settings: CodeDeploySettings;
  /** Bumped by reset/stop so a launch hook under way starts no deployment afterwards. */
  #generation = 0;

  constructor(runtime: SandboxRuntime, deps: CodeDeployDeps, settings: Partial<CodeDeploySettings> = {}) {
    this.runtime = runtime;
    this.deps = deps;
    const delay = settings.rollbackLinkDelayMs ?? DEFAULT_ROLLBACK_LINK_DELAY_MS;
    if (!(delay >= 0) || !Number.isFinite(delay)) {
      throw new RangeError(
        `rollbackLinkDelayMs must be a finite number of AWS milliseconds >= 0 (got ${delay}); 0 writes rollbackInfo with the final status`,
      );
    }
    this.settings = { rollbackLinkDelayMs: delay };
    // ELBv2 is built after AutoScaling, so CodeDeploy (built after both) hands it to AutoScaling.
    const registry = (): TargetRegistry | undefined =>
      isTargetRegistry(deps.elbv2) ? deps.elbv2 : undefined;
    const lb = registry();
    if (lb) deps.autoscaling.useTargetRegistry(lb);
    this.agent = new Agent(runtime);
    this.engine = new DeploymentEngine({
      runtime,
      settings: this.settings,
      store: this.store,
      fleet: deps.fleet,
      autoscaling: deps.autoscaling,
      agent: this.agent,
      traffic: new Traffic(runtime, registry),
    });
    this.deployments = new Deployments(runtime, this.store, this.engine);
    deps.autoscaling.groups.launchHook = {
      wants: (group) => this.#groupsDeployingTo(group).length > 0,
      run: (group, ids) => this.#deployToLaunched(group, ids),
    };
    this.handlers = {
      ...configHandlers({ runtime, store: this.store, autoscaling: deps.autoscaling }),
      ...deploymentHandlers(this.deployments),
    };
  }

  /** Creates and starts a deployment; `artifactDir` is the local revision (e.g. the build output). */
  async createDeployment(
    input: CreateDeploymentInput & { artifactDir?: string },
  ): Promise<{ deploymentId: string }> {
    const d = await this.deployments.create(input);
    return { deploymentId: d.deploymentId };
  }

  getDeploymentInfo(deploymentId: string): DeploymentInfo | undefined {
    const d = this.store.deployments.get(deploymentId);
    return d ? deploymentInfo(d) : undefined;
  }

  onDeploymentChange(listener: (info: DeploymentInfo) => void): () => void {
    return this.engine.onChange((d) => listener(deploymentInfo(d)));
  }

  /**
   * Resolves with the final deploymentInfo; rejects when `signal` aborts or the deployment does not exist. With
   * `settled`, only once CodeDeploy has also decided on the rollback (`rollbackInfo` written, or none applies).
   */
  async waitForDeployment(
    deploymentId: string,
    signal?: AbortSignal,
    options: { settled?: boolean } = {},
  ): Promise<DeploymentInfo> {
    const d = this.store.deployments.get(deploymentId);
    if (!d) throw new Error(`waitForDeployment: no deployment ${deploymentId} in this sandbox`);
    const done = options.settled ? this.engine.waitSettled(d, signal) : this.engine.waitFor(d, signal);
    return deploymentInfo(await done);
  }

  registerRevision(location: RevisionLocation, dir: string): Promise<void> {
    return this.deployments.registerRevision(location, dir);
  }

  /** The group's running deployment, else one whose rollback is about to start (its link not written yet). */
  #busy(app: string, group: string) {
    return (
      this.store.activeDeployment(app, group) ??
      [...this.store.deployments.values()].find(
        (d) => d.applicationName === app && d.deploymentGroupName === group && d.rollbackLinkPending,
      )
    );
  }

  /** Deployment groups that would deploy to a new instance of the auto scaling group (they deployed before). */
  #groupsDeployingTo(group: string) {
    return [...this.store.groups.values()].filter(
      (g) => g.autoScalingGroups.includes(group) && g.lastSuccessfulDeployment !== undefined,
    );
  }

  /**
   * What CodeDeploy does for instances an auto scaling group launches (its launch lifecycle hook): a deployment
   * with `creator: autoscaling` of each such deployment group's last successful revision to just those
   * instances, after any deployment already running in the group. True when every one succeeded.
   */
  async #deployToLaunched(group: string, ids: string[]): Promise<boolean> {
    const generation = this.#generation;
    for (const dg of this.#groupsDeployingTo(group)) {
      // After the running deployment, and after the rollback it may start (linked a moment after its status).
      for (
        let busy = this.#busy(dg.applicationName, dg.deploymentGroupName);
        busy && generation === this.#generation;
        busy = this.#busy(dg.applicationName, dg.deploymentGroupName)
      ) {
        await this.engine.waitSettled(busy);
      }
      const good =
        dg.lastSuccessfulDeployment && this.store.deployments.get(dg.lastSuccessfulDeployment.deploymentId);
      if (!good || generation !== this.#generation) return false;
      const d = await this.deployments.create(
        {
          applicationName: dg.applicationName,
          deploymentGroupName: dg.deploymentGroupName,
          revision: good.revision,
        },
        'autoscaling',
        {
          targetIds: ids,
          revisionDir: good.revisionDir,
          // The instances join the target groups when they go InService, so no traffic control here.
          deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
        },
      );
      if ((await this.engine.waitFor(d)).status !== 'Succeeded') return false;
    }
    return true;
  }

  async reset(): Promise<void> {
    this.#generation += 1;
    await this.engine.halt();
    this.store.clear();
    this.agent.clear();
    this.deployments.revisions.clear();
  }

  async stop(): Promise<void> {
    this.#generation += 1;
    await this.engine.halt();
  }
}
