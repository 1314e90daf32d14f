/**
 * `Harness`: one run against one pipeline. It holds the config, the clients, the ledger and the timeline, and
 * offers the release flow of DESIGN.md §5.2 as methods that call the library's functions. The cucumber World,
 * the vitest helper and the CLI all use it; none of them has logic of its own.
 */
import type { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { createClients, destroyClients, type HarnessClients } from './aws/clients.ts';
import { type HarnessConfig, type HarnessConfigInput, loadConfig, sandboxTimeScale } from './config.ts';
import type { Attempt } from './attempt.ts';
import {
  type DeploymentObservation,
  type DeploymentOfOptions,
  type DeploymentOutcome,
  deploymentsSince,
  tryWaitForDeployment,
  type WaitForDeploymentOptions,
  waitForDeployment,
  waitForDeploymentEnd,
} from './deploy/deployment.ts';
import { assertStoppable, pushUnhealthyRevision } from './deploy/force.ts';
import { stopDeployment } from './deploy/stop.ts';
import {
  checkRollback,
  expectRollback,
  type RollbackOptions,
  type RollbackProof,
} from './deploy/rollback.ts';
import { lifecycleEvents, type TargetLifecycle } from './deploy/targets.ts';
import { HarnessError } from './errors.ts';
import type { ApprovalOptions, ApprovalResult } from './pipeline/approval.ts';
import type { ExecutionRef, StageObservation } from './pipeline/observe.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import type { StageStatus } from './pipeline/stages.ts';
import { Timeline } from './pipeline/timeline.ts';
import { poll } from './poll.ts';
import { gitAuthFor } from './source/git.ts';
import { type PushResult, pushRevision } from './source/push.ts';
import { RUN_TAG, type StackNames, stackNames } from './stack/names.ts';
import type { ProvisionedStack, StackOptions } from './stack/stack.ts';
import { createEphemeralStack } from './stack/cloudformation/create.ts';
import { stackLeftovers } from './stack/cloudformation/sweep.ts';
import { emptyBucket } from './teardown/empty-bucket.ts';
import { type AdoptedStack, adoptExistingStack } from './stack/existing-stack.ts';
import { AsFound } from './stack/as-found.ts';
import { type PipelineShape, readPipelineShape } from './stack/pipeline-shape.ts';
import { seedRepository } from './stack/seed.ts';
import { Guard, awsTagLookup } from './teardown/guard.ts';
import { resolveRegion } from './aws/region.ts';
import { assertStackRegion } from './aws/stack-region.ts';
import { assertNoLeaks, checkLeaks, type LeakReport } from './teardown/leaks.ts';
import { assertTornDown, Ledger, type TeardownReport } from './teardown/ledger.ts';
import { Watch } from './watch/index.ts';
import { assertLive, checkLive, expectLive, type LiveOptions, type LiveResult } from './traffic/live.ts';
import { liveWhileEnding } from './traffic/overlap.ts';
import type { Sample } from './traffic/sample.ts';
import { probeTraffic, type ProbeReport, type TrafficProbe } from './traffic/probe.ts';
import { healthyIds, targetGroupsBehind, targetsIn } from './traffic/targets.ts';
import { loadBalancerUrl } from './traffic/url.ts';

/** A sandbox the harness can run against: what `startSandbox()` returns. */
export interface SandboxHandle {
  readonly endpoint: string;
  /** The credentials it accepts; the run's clients and git pushes use them. @default test/test */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  stop(): Promise<void>;
}

/** Options of {@link Harness.start}. */
export interface HarnessOptions {
  /** Configuration from code; merged over the file and `HARNESS_*` env (see `loadConfig`). */
  config?: HarnessConfigInput;
  /** Environment to read `HARNESS_*` from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Config file (JSON or YAML). */
  configFile?: string;
  /** Clients you built (e.g. with your own credentials, or mocked). */
  clients?: Partial<HarnessClients>;
  /**
   * For the sandbox target: a running sandbox to use. Without one (and without `config.endpoint`), the
   * harness starts its own and stops it in `close()`.
   */
  sandbox?: SandboxHandle;
  /** Time scale of a sandbox the harness starts (0 < scale <= 1). @default 0.02 */
  timeScale?: number;
  /** Progress lines (stage changes as they happen). @default none */
  log?: (line: string) => void;
}

/** One push followed through the pipeline to every target. */
export interface Release {
  push: PushResult;
  execution: ExecutionRef;
  deploymentId: string;
  /** The deployment's end: `Succeeded`. */
  outcome: DeploymentOutcome;
  /** The new version on every target, with the evidence. */
  live: LiveResult;
  /** The traffic probe over the whole release (absent with `{ probe: false }`). */
  probe?: ProbeReport;
}

/** A deployment of our execution followed to success: see {@link Harness.followDeployment}. */
export interface FollowedDeployment {
  deploymentId: string;
  /** `Succeeded`; or `InProgress` with `phase: 'traffic-shifted'` when followed only to the traffic shift. */
  outcome: DeploymentOutcome;
  /** The Deploy stage of our execution: Succeeded (still InProgress when followed only to the traffic shift). */
  stage: StageObservation;
  /** The live check asked for with `liveCheck` (result form: `assertLive` turns "not live" into the error). */
  live?: LiveResult;
}

/** Options of {@link Harness.followDeployment}. */
export interface FollowDeploymentOptions {
  /**
   * End at the traffic shift (blue terminating) instead of at `Succeeded`.
   * @default config `deploy.liveAtTrafficShift` (`HARNESS_LIVE_AT_TRAFFIC_SHIFT`)
   */
  liveAtTrafficShift?: boolean;
  /**
   * Also check that every target serves `version`, starting when traffic has shifted (blue/green), while blue's
   * termination wait and the stage run on; in-place, after the end. `seen`: a running probe's answers, which
   * count instead of new requests while they suffice. The result is `live`. @default no live check
   */
  liveCheck?: { version: string; seen?: () => readonly Sample[] };
}

/** A deployment made to fail on purpose, with what was observed. */
export interface ForcedFailure {
  kind: 'bad-revision' | 'stop-deployment';
  push: PushResult;
  execution: ExecutionRef;
  deploymentId: string;
  /** The forced deployment's end (Failed or Stopped), with its rollback link. */
  outcome: DeploymentOutcome;
}

/**
 * One run of the harness.
 *
 * @example
 * ```ts
 * const harness = await Harness.start();              // sandbox: starts one
 * try {
 *   await harness.provision();                         // sample stack, first version live
 *   const release = await harness.release();           // push → stages → approve → deploy → live
 *   console.log(release.live?.version, release.probe?.failures.total);
 * } finally {
 *   await harness.close();                             // teardown + leak check + stop
 * }
 * ```
 */
export class Harness {
  readonly config: HarnessConfig;
  readonly clients: HarnessClients & { codecommit: CodeCommitClient };
  readonly ledger = new Ledger();
  readonly timeline = new Timeline();
  readonly guard: Guard;
  /**
   * How the run learns of changes (setting `events`, `HARNESS_EVENTS`): AWS's events through an EventBridge rule and
   * an SQS queue of the run, else polling. `watch.describe()` says which, and why.
   */
  readonly watch: Watch;
  #pipeline: Pipeline;
  #names: StackNames | undefined;
  #stack: ProvisionedStack | undefined;
  #shape: Promise<PipelineShape> | undefined;
  /** Stack `existing`: the undo of everything the run does to it. */
  readonly #asFound: AsFound | undefined;
  /** Deployments the run stopped with autoRollbackEnabled: a rollback is expected whatever the group's events. */
  readonly #stoppedWithRollback = new Set<string>();
  #url: string | undefined;
  #targetGroupArns: Promise<string[]> | undefined;
  #currentVersion: string | undefined;
  readonly #ownedSandbox: SandboxHandle | undefined;
  readonly #log: (line: string) => void;
  readonly #probes = new Set<TrafficProbe>();
  #closing: Promise<CloseReport> | undefined;

  private constructor(
    config: HarnessConfig,
    clients: HarnessClients & { codecommit: CodeCommitClient },
    owned: SandboxHandle | undefined,
    log?: (line: string) => void,
  ) {
    this.config = config;
    this.clients = clients;
    this.#ownedSandbox = owned;
    this.#log = log ?? (() => {});
    this.guard = new Guard({
      ledger: this.ledger,
      testTargetTag: config.testTargetTag,
      tagsOf: awsTagLookup(clients),
    });
    this.watch = new Watch({
      setting: config.events,
      clients: { events: clients.events, sqs: clients.sqs },
      ledger: this.ledger,
      runId: config.runId,
      log: (line) => this.#log(line),
    });
    this.#pipeline = Pipeline.fromConfig(config, clients, { timeline: this.timeline, watch: this.watch });
    this.#asFound =
      config.stack === 'existing'
        ? new AsFound({
            config,
            clients,
            ledger: this.ledger,
            pipeline: () => this.#pipeline.context,
            shape: () => this.pipelineShape(),
            release: (push) => this.follow(push, { probe: false }),
            log: (line) => this.#log(line),
          })
        : undefined;
    this.timeline.onChange((e) =>
      this.#log(
        `${e.at.toISOString().slice(11, 23)} ${[e.stage ?? 'execution', e.action].filter(Boolean).join(' / ')} → ${e.status}`,
      ),
    );
  }

  /**
   * Loads the config, connects to the target (starting a sandbox when the target is the sandbox and none is
   * given) and builds the clients.
   */
  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const load = (overrides = options.config) =>
      loadConfig({
        ...(overrides ? { overrides } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(options.configFile ? { file: options.configFile } : {}),
      });
    const region = await resolveRegion(load(), options.env);
    let config = region.config;
    options.log?.(`region ${region.said}`);
    // A setting naming another region (a clone URL, the app URL, an endpoint) would be "not found" here.
    assertStackRegion(config);
    let owned: SandboxHandle | undefined;
    if (config.target === 'sandbox' && !config.endpoint) {
      if (!options.sandbox)
        owned = await startOwnSandbox(
          sandboxTimeScale(options.timeScale ?? 0.02, 'Harness.start({ timeScale })'),
        );
      const sandbox = options.sandbox ?? owned;
      // Loaded again rather than copied: the config stays what loadConfig made (one source of settings).
      config = load({
        ...options.config,
        endpoint: sandbox!.endpoint,
        runId: config.runId,
        ...(sandbox!.credentials ? { sandboxCredentials: { ...sandbox!.credentials } } : {}),
      });
    }
    try {
      return new Harness(config, createClients(config, options.clients), owned, options.log);
    } catch (error) {
      await owned?.stop();
      throw error;
    }
  }

  /** The pipeline follower (names and timeouts from config, or from the provisioned stack). */
  get pipeline(): Pipeline {
    return this.#pipeline;
  }

  /** Names of the stack in use: the provisioned one, else those of the config. */
  get names(): StackNames | undefined {
    return this.#names;
  }

  /** The version the load balancer is expected to serve now (the last successful release's). */
  get currentVersion(): string | undefined {
    return this.#currentVersion;
  }

  /**
   * Creates the sample stack (`stack: ephemeral`) and releases its first version through the pipeline, so the
   * load balancer serves a known version before anything else happens. On AWS the stack is the capstone template
   * through CloudFormation (`createEphemeralStack`; deleted by teardown), on AWS and on the sandbox alike.
   * Blue/green by default (`deploymentType`), blue kept `deploy.blueTerminationMinutes` after a success.
   */
  async provision(
    options: Pick<
      StackOptions,
      'deploymentType' | 'executionMode' | 'instances' | 'deploymentConfigName' | 'blueTerminationMinutes'
    > = {},
  ): Promise<Release> {
    if (this.config.stack === 'existing') {
      throw new HarnessError(
        'provision() creates the sample stack, but stack is "existing" (HARNESS_STACK): the run adopts your stack ' +
          'with ready()/adopt(); set HARNESS_STACK=ephemeral to have the run create its own',
      );
    }
    // The config's run id, as given: its schema refused one that cannot name resources (never replaced here).
    const runId = this.config.runId;
    const names = stackNames(runId);
    this.#names = names;
    const chosen = { blueTerminationMinutes: this.config.deploy.blueTerminationMinutes, ...options };
    // One path on AWS and on the sandbox: the capstone template through CloudFormation.
    const stack = await this.#createStack(names, chosen);
    this.#stack = stack;
    // The names the stack's outputs give (the template derives them as stackNames() does).
    this.#names = stack.names;
    this.#pipeline = Pipeline.fromConfig(this.config, this.clients, {
      timeline: this.timeline,
      pipelineName: stack.names.pipelineName,
      watch: this.watch,
    });
    await this.#watchReleases();
    const seed = await seedRepository({
      repoUrl: stack.repositoryUrl,
      runId,
      version: `v1-${runId}`,
      auth: gitAuthFor(this.config),
    });
    const push: PushResult = {
      commitId: seed.commitId,
      version: `v1-${runId}`,
      message: seed.message,
      branch: 'main',
    };
    return this.follow(push, { probe: false });
  }

  /**
   * The capstone stack through CloudFormation (`sample-app/infra/capstone.yaml`), its events in the log as they
   * happen, recorded in the ledger before the first wait; see `createEphemeralStack`.
   */
  async #createStack(
    names: StackNames,
    chosen: Pick<
      StackOptions,
      'deploymentType' | 'executionMode' | 'instances' | 'deploymentConfigName' | 'blueTerminationMinutes'
    >,
  ): Promise<ProvisionedStack> {
    const { cloudformation } = this.clients;
    if (!cloudformation) {
      throw new HarnessError(
        'stack "ephemeral" creates the sample stack through CloudFormation, but the harness has no CloudFormation ' +
          'client: leave clients.cloudformation to the harness, or pass one',
      );
    }
    return createEphemeralStack({
      clients: { ...this.clients, cloudformation },
      ledger: this.ledger,
      names,
      ...chosen,
      timeout: this.config.timeouts.stack,
      roleArn: this.config.stackRoleArn,
      emptyBucket,
      log: (line) => this.#log(line),
      interval: this.#interval(),
    });
  }

  /**
   * Gets the stack ready for a scenario and returns the version it serves: on an `ephemeral` stack,
   * {@link Harness.provision} (the sample stack and its first release); on an `existing` one,
   * {@link Harness.adopt} (the team's pipeline, as it is).
   */
  async ready(): Promise<AdoptedStack> {
    if (this.config.stack === 'ephemeral') {
      const first = await this.provision();
      return { version: first.push.version, evidence: first.live.evidence };
    }
    return this.adopt();
  }

  /**
   * The pipeline as its declaration describes it (stages, execution mode, the Source action's repository and
   * branch, the Deploy action's deployment group), read once.
   *
   * @throws HarnessError when it cannot be read or a configured stage/action name is not in it.
   */
  pipelineShape(): Promise<PipelineShape> {
    this.#shape ??= readPipelineShape({
      codepipeline: this.clients.codepipeline,
      pipelineName: this.#pipeline.name,
      stages: this.config.stages,
      approvalActionName: this.config.approvalActionName,
      region: this.config.region,
    });
    this.#shape.catch(() => {
      this.#shape = undefined;
    });
    return this.#shape;
  }

  /**
   * Uses an existing stack: checks the pipeline has the configured stages and reads the version every target
   * of the load balancer serves now, which becomes the "previous version" of the scenario. Creates nothing;
   * everything the run does to it (pushes, executions, approvals, deployments) is undone by teardown.
   *
   * @throws HarnessError when the pipeline is missing, a configured name is not in it, or the targets serve
   *   different versions.
   */
  async adopt(): Promise<AdoptedStack> {
    await this.pipelineShape();
    const adopted = await adoptExistingStack({
      url: await this.url(),
      path: this.config.probe.path,
      requestTimeoutMs: this.config.probe.requestTimeoutMs,
      checkLive: (version) => this.checkLive(version),
    });
    this.#currentVersion = adopted.version;
    return adopted;
  }

  /** Repository URL, branch and app dir of the pipeline's source. */
  get source(): { repoUrl: string; branch: string; appDir: string } {
    const repoUrl = this.#stack?.repositoryUrl ?? this.config.source.repositoryUrl;
    if (!repoUrl) {
      throw new HarnessError(
        'no source repository: call provision() on the sandbox, or set source.repositoryUrl (HARNESS_SOURCE_REPOSITORY_URL)',
      );
    }
    return { repoUrl, branch: this.config.source.branch, appDir: this.config.source.appDir };
  }

  /**
   * Pushes a new unique version (optionally unhealthy, with a failing unit test, or with a ValidateService that
   * waits a few seconds first: a window to stop the deployment mid-way before traffic shifts).
   */
  async push(
    options: { unhealthy?: boolean; failingTest?: boolean; slowValidation?: boolean } = {},
  ): Promise<PushResult> {
    const src = this.source;
    if (options.unhealthy || options.failingTest) {
      await this.guard.assert({
        kind: 'pipeline',
        id: this.#pipeline.name,
        action: `push ${options.unhealthy ? 'an unhealthy revision' : 'a failing unit test'} to`,
      });
    }
    await this.#beforePush(src);
    // Before the push: the rule must exist when the execution's first events are emitted.
    await this.#watchReleases();
    const result = await pushRevision({
      repoUrl: src.repoUrl,
      branch: src.branch,
      appDir: src.appDir,
      runId: this.config.runId,
      auth: gitAuthFor(this.config),
      ...(options.unhealthy ? { unhealthy: true } : {}),
      ...(options.failingTest ? { files: { 'test/release-gate.test.js': FAILING_TEST } } : {}),
      ...(options.slowValidation ? { files: { 'config/health.json': SLOW_VALIDATION } } : {}),
    });
    this.#log(`pushed ${result.version} as ${result.commitId.slice(0, 10)}`);
    return result;
  }

  /** Before a push to an existing stack: the guard on its source, and the branch head recorded. */
  async #beforePush(src: { repoUrl: string; branch: string; appDir: string }): Promise<void> {
    await this.#asFound?.beforePush(src);
  }

  /** The execution our commit started (never "the latest"). See `findExecution`. */
  async findExecution(push: Pick<PushResult, 'commitId'>): Promise<ExecutionRef> {
    const execution = await this.#pipeline.findExecution({ commitId: push.commitId });
    this.#recordExecution(execution);
    return execution;
  }

  /** Existing stack: whatever happens, teardown leaves nothing of our execution open. */
  #recordExecution(execution: ExecutionRef): void {
    this.#asFound?.started(execution);
  }

  /** Result form of {@link Harness.findExecution}. */
  async tryFindExecution(push: Pick<PushResult, 'commitId'>): Promise<Attempt<ExecutionRef>> {
    const found = await this.#pipeline.tryFindExecution({ commitId: push.commitId });
    if (found.ok) this.#recordExecution(found.value);
    return found;
  }

  /** Waits for a stage of our execution, with that stage's deadline from config. See `waitForStage`. */
  waitForStage(
    execution: ExecutionRef,
    stage: string,
    status: StageStatus = 'Succeeded',
  ): Promise<StageObservation> {
    return this.#pipeline.waitForStage(execution, stage, status);
  }

  /** Result form of {@link Harness.waitForStage}. */
  tryWaitForStage(
    execution: ExecutionRef,
    stage: string,
    status: StageStatus = 'Succeeded',
  ): Promise<Attempt<StageObservation>> {
    return this.#pipeline.tryWaitForStage(execution, stage, status);
  }

  /** Approves our execution's approval (stage/action from config; a summary naming the run). See `approve`. */
  approve(execution: ExecutionRef, options: Partial<ApprovalOptions> = {}): Promise<ApprovalResult> {
    return this.#pipeline.approve(execution, this.#answer('Approved', options));
  }

  /** Result form of {@link Harness.approve}. */
  tryApprove(
    execution: ExecutionRef,
    options: Partial<ApprovalOptions> = {},
  ): Promise<Attempt<ApprovalResult>> {
    return this.#pipeline.tryApprove(execution, this.#answer('Approved', options));
  }

  /** Rejects our execution's approval. See `reject`. */
  reject(execution: ExecutionRef, options: Partial<ApprovalOptions> = {}): Promise<ApprovalResult> {
    return this.#pipeline.reject(execution, this.#answer('Rejected', options));
  }

  /** Result form of {@link Harness.reject}. */
  tryReject(
    execution: ExecutionRef,
    options: Partial<ApprovalOptions> = {},
  ): Promise<Attempt<ApprovalResult>> {
    return this.#pipeline.tryReject(execution, this.#answer('Rejected', options));
  }

  #answer(status: 'Approved' | 'Rejected', options: Partial<ApprovalOptions>): ApprovalOptions {
    return { summary: `${status} by codepipeline-harness run ${this.config.runId}`, ...options };
  }

  /** The deployment the Deploy stage (config `stages.deploy`) started for our execution. See `deploymentOf`. */
  deploymentOf(execution: ExecutionRef, options: DeploymentOfOptions = {}): Promise<string> {
    return this.#pipeline.deploymentOf(execution, options);
  }

  /**
   * Deployment waits: poll intervals (`poll.*`), the deploy deadline (`timeouts.deploy`), `deploy.continueReady`,
   * the rollback expected of a deployment the run stopped, and every phase on the timeline (or the log).
   */
  #deploymentWait(
    deploymentId: string,
    options: { execution?: ExecutionRef; liveAtTrafficShift?: boolean; rollbackLinkTimeout?: number } = {},
  ): WaitForDeploymentOptions {
    // No instance pending or in progress any more (from the last GetDeployment): the termination wait is next.
    let instancesDone = false;
    return {
      timeout: this.config.timeouts.deploy,
      // With the live check at the traffic shift: woken by instance events, and once every instance has done its
      // part read again shortly after them (the termination wait that marks the shift begins after blue's last
      // BlockTraffic, with no event of its own).
      ...this.watch.pollOptions(
        options.liveAtTrafficShift
          ? { deploymentId, instances: true, followUpMs: [300, 1500], followUpIf: () => instancesDone }
          : { deploymentId },
        this.#interval(),
      ),
      watch: this.watch,
      continueReady: this.config.deploy.continueReady,
      liveAtTrafficShift: options.liveAtTrafficShift ?? false,
      rollbackExpected: this.#stoppedWithRollback.has(deploymentId),
      ...(options.rollbackLinkTimeout !== undefined
        ? { rollbackLinkTimeout: options.rollbackLinkTimeout }
        : {}),
      onChange: (_status, o) => {
        const overview = o.info.deploymentOverview;
        const busy = (overview?.Pending ?? 0) + (overview?.InProgress ?? 0);
        instancesDone = overview !== undefined && busy === 0 && (overview.Succeeded ?? 0) > 0;
        this.#deploymentChanged(o, options.execution);
      },
    };
  }

  /**
   * A deployment's phases as a row of the Deploy stage on the timeline (`TrafficShifted` while blue terminates),
   * or in the log when no execution is known; a ContinueDeployment sent is logged.
   */
  #deploymentChanged(o: DeploymentObservation, execution: ExecutionRef | undefined): void {
    if (o.continued && o.status === 'Ready') {
      this.#log(
        `deployment ${o.deploymentId} Ready: sent ContinueDeployment (READY_WAIT), deploy.continueReady`,
      );
    }
    if (!execution) {
      this.#log(`deployment ${o.deploymentId} → ${o.summary}`);
      return;
    }
    this.timeline.record({
      pipelineExecutionId: execution.pipelineExecutionId,
      stage: this.config.stages.deploy,
      action: `deployment ${o.deploymentId}`,
      status: o.phase === 'traffic-shifted' ? 'TrafficShifted' : o.status,
      externalExecutionId: o.deploymentId,
      detail: o.summary,
    });
  }

  /** Sets up the watch on the pipeline and deployment group in use (once; events or polling, said once). */
  async #watchReleases(): Promise<void> {
    await this.watch.start({
      pipelineName: this.#pipeline.name,
      applicationName: this.#names?.applicationName ?? this.config.applicationName,
      deploymentGroupName: this.#names?.deploymentGroupName ?? this.config.deploymentGroupName,
    });
  }

  #interval(): NonNullable<WaitForDeploymentOptions['interval']> {
    const { minIntervalMs, maxIntervalMs, factor } = this.config.poll;
    return { min: minIntervalMs, max: maxIntervalMs, factor };
  }

  /** Waits for a deployment to succeed (to its end: `Succeeded`). See `waitForDeployment`. */
  waitForDeployment(deploymentId: string): Promise<DeploymentOutcome> {
    return waitForDeployment(this.clients.codedeploy, deploymentId, this.#deploymentWait(deploymentId));
  }

  /** Result form of {@link Harness.waitForDeployment}. */
  tryWaitForDeployment(deploymentId: string): Promise<Attempt<DeploymentOutcome>> {
    return tryWaitForDeployment(this.clients.codedeploy, deploymentId, this.#deploymentWait(deploymentId));
  }

  /**
   * Waits for a deployment to end, however it ends (with its rollback link when one is expected, within
   * `timeouts.rollback` for a deployment the run stopped itself). See `waitForDeploymentEnd`.
   */
  waitForDeploymentEnd(deploymentId: string): Promise<DeploymentOutcome> {
    const stopped = this.#stoppedWithRollback.has(deploymentId);
    return waitForDeploymentEnd(
      this.clients.codedeploy,
      deploymentId,
      this.#deploymentWait(
        deploymentId,
        stopped ? { rollbackLinkTimeout: this.config.timeouts.rollback } : {},
      ),
    );
  }

  /**
   * Follows the deployment of our execution to success: the deployment the Deploy stage started, its end
   * (`Succeeded`), then the Deploy stage `Succeeded`. With `deploy.liveAtTrafficShift` (`HARNESS_LIVE_AT_TRAFFIC_SHIFT`)
   * it ends once traffic has shifted and blue is in its termination wait (`outcome.phase: 'traffic-shifted'`, the
   * stage still InProgress). A deployment in `Ready` is continued with `deploy.continueReady`, else it is an error.
   *
   * @throws DeploymentFailedError / DeploymentRolledBackError / DeploymentReadyError / ExecutionFailedError /
   *   WaitTimeoutError.
   */
  async followDeployment(
    execution: ExecutionRef,
    options: FollowDeploymentOptions = {},
  ): Promise<FollowedDeployment> {
    const deploymentId = await this.deploymentOf(execution);
    const liveAtTrafficShift = options.liveAtTrafficShift ?? this.config.deploy.liveAtTrafficShift;
    if (options.liveCheck) {
      return this.#followWithLiveCheck(execution, deploymentId, liveAtTrafficShift, options.liveCheck);
    }
    const outcome = await waitForDeployment(
      this.clients.codedeploy,
      deploymentId,
      this.#deploymentWait(deploymentId, { execution, liveAtTrafficShift }),
    );
    if (outcome.phase === 'traffic-shifted') {
      this.#log(
        `deployment ${deploymentId}: traffic shifted, blue terminating; live at the traffic shift (deploy.liveAtTrafficShift), Succeeded comes after blue's termination wait`,
      );
    }
    const stage = await this.waitForStage(
      execution,
      this.config.stages.deploy,
      outcome.phase === 'traffic-shifted' ? 'InProgress' : 'Succeeded',
    );
    return { deploymentId, outcome, stage };
  }

  /**
   * {@link followDeployment} with its live check started at the traffic shift (blue/green), overlapping blue's
   * termination wait and the stage's end instead of following them: src/traffic/overlap.ts.
   */
  async #followWithLiveCheck(
    execution: ExecutionRef,
    deploymentId: string,
    liveAtTrafficShift: boolean,
    check: NonNullable<FollowDeploymentOptions['liveCheck']>,
  ): Promise<FollowedDeployment> {
    const shifted = await waitForDeployment(
      this.clients.codedeploy,
      deploymentId,
      this.#deploymentWait(deploymentId, { execution, liveAtTrafficShift: true }),
    );
    const url = await this.url();
    if (shifted.phase === 'traffic-shifted') {
      this.#log(
        `deployment ${deploymentId}: traffic shifted; live check of ${check.version} started beside blue's termination wait`,
      );
    }
    const { value, live } = await liveWhileEnding({
      live: (signal) =>
        checkLive(url, check.version, {
          ...this.#liveOptions(),
          signal,
          ...(check.seen ? { seen: check.seen } : {}),
        }),
      end: async () => {
        const outcome =
          shifted.phase === 'traffic-shifted' && !liveAtTrafficShift
            ? await waitForDeployment(
                this.clients.codedeploy,
                deploymentId,
                this.#deploymentWait(deploymentId, { execution }),
              )
            : shifted;
        const stage = await this.waitForStage(
          execution,
          this.config.stages.deploy,
          outcome.phase === 'traffic-shifted' ? 'InProgress' : 'Succeeded',
        );
        return { outcome, stage };
      },
    });
    return { deploymentId, ...value, live };
  }

  /** Deployments created in the stack's deployment group since `since` (all pages). See `deploymentsSince`. */
  deploymentsSince(since: Date): Promise<string[]> {
    return deploymentsSince(this.clients.codedeploy, {
      applicationName: this.#names?.applicationName ?? this.config.applicationName,
      deploymentGroupName: this.#names?.deploymentGroupName ?? this.config.deploymentGroupName,
      since,
    });
  }

  /** Lifecycle events per target of a deployment. */
  lifecycleEvents(deploymentId: string): Promise<TargetLifecycle[]> {
    return lifecycleEvents(this.clients.codedeploy, deploymentId);
  }

  /** The URL users reach: `appUrl` (`HARNESS_APP_URL`), else the load balancer's DNS name and listener. */
  async url(): Promise<string> {
    this.#url ??=
      this.config.appUrl ??
      (await loadBalancerUrl(
        this.clients.elbv2,
        this.#names?.loadBalancerName ?? this.config.loadBalancerName,
        {
          port: this.config.listenerPort,
          ...(this.config.target === 'sandbox' && this.config.endpoint
            ? { endpoint: this.config.endpoint }
            : {}),
        },
      ));
    return this.#url;
  }

  /** The target groups behind the stack's load balancer, read once (a failed read is tried again next time). */
  #targetGroups(): Promise<string[]> {
    this.#targetGroupArns ??= targetGroupsBehind(
      this.clients.elbv2,
      this.#names?.loadBalancerName ?? this.config.loadBalancerName,
    );
    this.#targetGroupArns.catch(() => {
      this.#targetGroupArns = undefined;
    });
    return this.#targetGroupArns;
  }

  /** Live-check options from config; every healthy target of the load balancer must answer. */
  #liveOptions(): LiveOptions {
    return {
      consecutive: this.config.probe.consecutive,
      everyTarget: this.config.probe.everyTarget,
      // "Every instance" is every target registered healthy behind the listener, re-read while traffic shifts.
      // The target groups are read once; their targets' health each time.
      expectedTargets: async () =>
        healthyIds(await targetsIn(this.clients.elbv2, await this.#targetGroups())),
      timeout: this.config.timeouts.live,
      intervalMs: this.config.probe.intervalMs,
      requestTimeoutMs: this.config.probe.requestTimeoutMs,
      path: this.config.probe.path,
    };
  }

  /** Result form: does every target serve `version`? With the evidence. */
  async checkLive(version: string): Promise<LiveResult> {
    return checkLive(await this.url(), version, this.#liveOptions());
  }

  /** Assert form of {@link checkLive}: throws `NotLiveError` with the evidence. */
  async expectLive(version: string): Promise<LiveResult> {
    return expectLive(await this.url(), version, this.#liveOptions());
  }

  /** Starts probing the load balancer; `stop()` returns the report. Stopped by `close()` at the latest. */
  async startProbe(): Promise<TrafficProbe> {
    const probe = probeTraffic(await this.url(), {
      intervalMs: this.config.probe.intervalMs,
      requestTimeoutMs: this.config.probe.requestTimeoutMs,
      path: this.config.probe.path,
    });
    this.#probes.add(probe);
    return {
      get samples() {
        return probe.samples;
      },
      stop: async () => {
        this.#probes.delete(probe);
        return probe.stop();
      },
    };
  }

  /**
   * Follows a pushed commit to the end: its execution, Source and BuildAndTest, our approval, the deployment,
   * and the new version on every target, probing the load balancer throughout (unless `probe: false`).
   */
  async follow(push: PushResult, options: { probe?: boolean; approve?: boolean } = {}): Promise<Release> {
    await this.#watchReleases();
    const probe = options.probe === false ? undefined : await this.startProbe();
    try {
      const execution = await this.findExecution(push);
      await this.waitForStage(execution, this.config.stages.source);
      await this.waitForStage(execution, this.config.stages.build);
      if (options.approve !== false) await this.approve(execution);
      // The live check starts when traffic has shifted and counts the probe's answers (src/traffic/overlap.ts).
      const followed = await this.followDeployment(execution, {
        liveCheck: { version: push.version, ...(probe ? { seen: () => probe.samples } : {}) },
      });
      const { deploymentId, outcome } = followed;
      const live = assertLive(followed.live as LiveResult);
      this.#currentVersion = push.version;
      this.#asFound?.released(push.commitId);
      return {
        push,
        execution,
        deploymentId,
        outcome,
        live,
        ...(probe ? { probe: await probe.stop() } : {}),
      };
    } finally {
      await probe?.stop();
    }
  }

  /** Pushes a version bump and follows it until every target serves it. See {@link follow}. */
  async release(options: { probe?: boolean } = {}): Promise<Release> {
    return this.follow(await this.push(), options);
  }

  /**
   * Makes a deployment fail on purpose, on a pipeline this run created or one tagged as a test target (the
   * guard refuses anything else before a commit is pushed):
   * `bad-revision` releases a revision whose health check fails (ValidateService fails);
   * `stop-deployment` stops a healthy release's deployment mid-way with auto rollback.
   * Returns once the forced deployment has ended.
   */
  async forceFailedDeploy(kind: 'bad-revision' | 'stop-deployment'): Promise<ForcedFailure> {
    const pipelineName = this.#pipeline.name;
    await this.guard.assert({
      kind: 'pipeline',
      id: pipelineName,
      action: `force a failed deploy (${kind}) on`,
    });
    const src = this.source;
    const shape = await this.pipelineShape();
    if (kind === 'bad-revision') await this.#beforePush(src);
    await this.#watchReleases();
    const push =
      kind === 'bad-revision'
        ? await pushUnhealthyRevision({
            guard: this.guard,
            pipeline: shape,
            push: {
              repoUrl: src.repoUrl,
              branch: src.branch,
              appDir: src.appDir,
              runId: this.config.runId,
              auth: gitAuthFor(this.config),
            },
          })
        : await this.push({ slowValidation: true });
    const execution = await this.findExecution(push);
    await this.waitForStage(execution, this.config.stages.build);
    await this.approve(execution, {
      summary: `Forced failure (${kind}) by codepipeline-harness run ${this.config.runId}`,
    });
    const deploymentId = await this.deploymentOf(execution);
    if (kind === 'stop-deployment') {
      const stop = { guard: this.guard, codedeploy: this.clients.codedeploy, deploymentId, pipeline: shape };
      // Guarded first, so that StopDeployment is the only call between the moment and the stop.
      await assertStoppable(stop);
      // Stop mid-way: once a lifecycle event has started on some target, before the deployment ends.
      await poll(
        async () => {
          const targets = await this.lifecycleEvents(deploymentId);
          return targets.flatMap((t) =>
            t.events.filter((e) => e.status !== 'Pending').map((e) => `${t.targetId} ${e.name} ${e.status}`),
          );
        },
        {
          timeout: this.config.timeouts.deploy,
          interval: this.#interval(),
          isDone: (started) => started.length > 0,
          what: `deployment ${deploymentId} to start a lifecycle event`,
          expectChange: true,
        },
      );
      await stopDeployment(this.clients.codedeploy, deploymentId, { autoRollbackEnabled: true });
      // StopDeployment(autoRollbackEnabled) rolls back whatever the group's auto-rollback events say.
      this.#stoppedWithRollback.add(deploymentId);
      this.#log(`stopped deployment ${deploymentId} with auto rollback`);
    }
    const outcome = await this.waitForDeploymentEnd(deploymentId);
    if (kind === 'stop-deployment' && outcome.status === 'Succeeded') {
      // Not the pipeline's failure: the stop landed after the deployment could still be stopped.
      throw new HarnessError(
        `the stop of deployment ${deploymentId} came too late: it ended Succeeded, so this forced failure proves ` +
          'nothing about rollback (the harness could not stop it in time; try again, or give the deployment a ' +
          'longer lifecycle, e.g. a slower ValidateService)',
        { lastState: outcome.info },
      );
    }
    return { kind, push, execution, deploymentId, outcome };
  }

  /** The rollback checks of a forced failure, with the Deploy stage and the previous version live. */
  async #rollbackOptions(
    forced: ForcedFailure,
    previousVersion: string | undefined,
  ): Promise<RollbackOptions> {
    return {
      timeout: this.config.timeouts.rollback,
      interval: this.#interval(),
      rollbackExpected:
        forced.kind === 'stop-deployment' || this.#stoppedWithRollback.has(forced.deploymentId),
      pipeline: {
        context: this.#pipeline.context,
        execution: forced.execution,
        stage: this.config.stages.deploy,
      },
      live: { url: await this.url(), version: previousVersion, options: this.#liveOptions() },
    };
  }

  /**
   * Result form of {@link Harness.expectRollback}: every check, passed or not, in `proof.checks`.
   * See `checkRollback`.
   */
  async checkRollback(forced: ForcedFailure, previousVersion = this.#currentVersion): Promise<RollbackProof> {
    return checkRollback(
      this.clients.codedeploy,
      forced.deploymentId,
      await this.#rollbackOptions(forced, previousVersion),
    );
  }

  /**
   * Proves the rollback of a forced failure: the deployment ended Failed/Stopped, a rollback deployment
   * (`codeDeployRollback`) is linked both ways and succeeded, the pipeline execution failed at the Deploy
   * stage, and every target serves `previousVersion` (default: the last released version) again.
   * See `expectRollback`.
   *
   * @throws RollbackNotProvenError naming every check that failed.
   */
  async expectRollback(
    forced: ForcedFailure,
    previousVersion = this.#currentVersion,
  ): Promise<RollbackProof> {
    return expectRollback(
      this.clients.codedeploy,
      forced.deploymentId,
      await this.#rollbackOptions(forced, previousVersion),
    );
  }

  /**
   * Result form of {@link Harness.teardown}: deletes everything the run created (reverse order, idempotent,
   * retried, within `timeouts.teardown`, plus `timeouts.stack` when the run created a stack) and reports what
   * failed instead of throwing.
   */
  async tryTeardown(): Promise<TeardownReport> {
    for (const probe of [...this.#probes]) await probe.stop();
    this.#probes.clear();
    // The long poll ends before its queue is deleted (the ledger deletes rule and queue).
    await this.watch.close();
    if (this.#asFound) this.#asFound.tearingDown = true;
    try {
      // A stack of the run gets its own deadline on top (`timeouts.stack`: its delete waits for CloudFormation).
      const { teardown, stack } = this.config.timeouts;
      const ownsStack = this.ledger.entries.some((e) => e.kind === 'stack');
      return await this.ledger.tryTeardown({ timeoutMs: ownsStack ? teardown + stack : teardown });
    } finally {
      if (this.#asFound) this.#asFound.tearingDown = false;
    }
  }

  /**
   * Deletes everything the run created.
   *
   * @throws LeakError listing every resource it could not delete.
   */
  async teardown(): Promise<TeardownReport> {
    return assertTornDown(await this.tryTeardown());
  }

  #leakScope(): Parameters<typeof checkLeaks> extends [unknown, ...infer Rest] ? Rest : never {
    const names = this.#names;
    return [
      { key: RUN_TAG, value: names?.runId ?? this.config.runId },
      names ? { namePrefix: `${names.prefix}-`, deploymentGroups: [names.deploymentGroupName] } : {},
    ];
  }

  /**
   * Lists what of this run is left (`clean` after a good teardown). On an ephemeral stack: every resource of
   * the run (see `checkLeaks`). On an existing stack, by id and without listing the account: an execution,
   * approval or deployment of the run still open, a `CodeDeploy_*` fleet of a deployment of ours that did not go
   * live, the branch not holding the tree it was found with (see `checkOpenWork`).
   */
  async checkLeaks(): Promise<LeakReport> {
    if (this.config.stack === 'ephemeral') {
      const report = await checkLeaks(this.clients, ...this.#leakScope());
      // The run's stack too, by its run tag: a stack left is a leak, whatever of its resources is gone.
      const stacks = this.clients.cloudformation
        ? await stackLeftovers(this.clients.cloudformation, this.#names?.runId ?? this.config.runId)
        : [];
      const leftovers = [...report.leftovers, ...stacks, ...(await this.watch.leftovers())];
      return { clean: leftovers.length === 0, leftovers };
    }
    const found = await this.#asFound!.checkLeaks(
      this.#names?.deploymentGroupName ?? this.config.deploymentGroupName,
    );
    const watched = await this.watch.leftovers();
    return watched.length === 0 ? found : { clean: false, leftovers: [...found.leftovers, ...watched] };
  }

  /**
   * Assert form of {@link Harness.checkLeaks}.
   * @throws LeakError listing what is left.
   */
  async expectNoLeaks(): Promise<LeakReport> {
    return assertNoLeaks(await this.checkLeaks());
  }

  /**
   * Tears down, proves with a leak check that nothing of the run is left, closes the clients and stops a sandbox
   * the harness started. Idempotent: every call returns the report of the first.
   */
  close(): Promise<CloseReport> {
    this.#closing ??= (async () => {
      try {
        const teardown = await this.tryTeardown();
        const leaks = await this.checkLeaks();
        return { teardown, leaks };
      } finally {
        destroyClients(this.clients);
        await this.#ownedSandbox?.stop();
      }
    })();
    return this.#closing;
  }
}

/** What `close()` did and found. */
export interface CloseReport {
  teardown: TeardownReport;
  /** `clean` when nothing of the run is left. */
  leaks: LeakReport;
}

/** The health switch on, with ValidateService waiting first (see sample-app/scripts/validate_service.sh). */
const SLOW_VALIDATION = '{ "healthy": true, "validateDelaySeconds": 10 }\n';

/** A unit test that fails, for the build gate: the buildspec's `node --test` must stop the release. */
const FAILING_TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('release gate: this commit breaks a unit test on purpose', () => {
  assert.equal(1 + 1, 3, 'codepipeline-harness pushed a failing test to prove BuildAndTest stops the release');
});
`;

async function startOwnSandbox(timeScale: number): Promise<SandboxHandle> {
  const { startSandbox } = await import('./sandbox/index.ts');
  return startSandbox({ timeScale });
}
