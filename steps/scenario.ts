/**
 * What the harness's steps know about one scenario: its `Harness`, the pushes and executions it follows, and the
 * evidence to attach. It lives beside the scenario's World (any World: a team's own too), not in it: the steps
 * reach it with `harnessScenario(this)`, so a team's World needs no base class of ours.
 */
import type { ExecutionFailedError } from '../src/errors.ts';
import type { Harness } from '../src/harness.ts';
import type { ForcedFailure } from '../src/harness.ts';
import type { ExecutionRef } from '../src/pipeline/observe.ts';
import { probeSvg, timelineSvg } from '../src/report/svg.ts';
import { lifecycleTable, responsesTable } from '../src/report/tables.ts';
import type { PushResult } from '../src/source/push.ts';
import type { LiveResult } from '../src/traffic/live.ts';
import type { ProbeReport, TrafficProbe } from '../src/traffic/probe.ts';
import type { Sample } from '../src/traffic/sample.ts';

/** Something a step produced that a later step must look at, or the scenario fails (see hooks). */
export interface Unchecked {
  what: string;
  checked: boolean;
}

/** The stage names the features use (the sample's), by role. */
const SAMPLE_STAGES: Readonly<Record<string, 'source' | 'build' | 'approval' | 'deploy'>> = {
  Source: 'source',
  BuildAndTest: 'build',
  Approval: 'approval',
  Deploy: 'deploy',
};

/** What the steps need of a cucumber World: every World cucumber builds has both. */
export interface WorldLike {
  attach: (data: string | Buffer, mediaType?: string | { mediaType: string; fileName?: string }) => unknown;
  log: (text: string) => unknown;
}

/**
 * One scenario of the harness's steps.
 *
 * @example
 * ```js
 * // a team's own step, beside ours
 * Then('our smoke check passes', async function () {
 *   const { harness } = harnessScenario(this);
 *   const live = await harness.checkLive(harness.currentVersion);
 *   if (!live.live) throw new Error(live.reason);
 * });
 * ```
 */
export class HarnessScenario {
  readonly harness: Harness;
  readonly #world: WorldLike;
  /** Every push of the scenario, oldest first. */
  readonly pushes: PushResult[] = [];
  /** The push whose execution the scenario is following. */
  current: PushResult | undefined;
  readonly executions = new Map<string, ExecutionRef>();
  /** When each commit was pushed (before the push started), by commit id. */
  readonly pushedAt = new Map<string, Date>();
  /** The version served before the scenario changed anything. */
  previousVersion: string | undefined;
  deploymentId: string | undefined;
  forced: ForcedFailure | undefined;
  /** The error of the step that failed (set by the step wrapper; the After hook attaches its evidence). */
  failure: unknown;
  /** The last execution failure a step expected and caught. */
  lastFailure: ExecutionFailedError | undefined;
  probe: TrafficProbe | undefined;
  probeReport: ProbeReport | undefined;
  /** The live check the deployment step ran from the traffic shift on (result form), for the step that asserts it. */
  liveChecked: LiveResult | undefined;
  readonly unchecked: Unchecked[] = [];
  readonly startedAt = Date.now();

  constructor(world: WorldLike, harness: Harness) {
    this.#world = world;
    this.harness = harness;
  }

  log(text: string): void {
    this.#world.log(text);
  }

  async attach(data: string | Buffer, mediaType: string | { mediaType: string; fileName?: string }) {
    await this.#world.attach(data, mediaType);
  }

  /**
   * The pipeline's name for a stage the features name as the sample does (`Source`, `BuildAndTest`, `Approval`,
   * `Deploy`): the configured `stages.*` (`HARNESS_STAGE_*`), so the same features run on a team's pipeline whose
   * stages are called otherwise. Any other name is the pipeline's own.
   */
  stage(name: string): string {
    const role = SAMPLE_STAGES[name];
    return role ? this.harness.config.stages[role] : name;
  }

  /** The push being followed; a clear error when a step runs before any push. */
  get push(): PushResult {
    if (!this.current)
      throw new Error('no push yet in this scenario: a "When we push ..." step must come first');
    return this.current;
  }

  /** Pushes through the harness, remembering when. */
  async pushRelease(options: { failingTest?: boolean } = {}): Promise<PushResult> {
    const at = new Date();
    const push = await this.harness.push(options);
    this.pushedAt.set(push.commitId, at);
    this.pushes.push(push);
    return push;
  }

  /** The execution of a push (found once, then remembered). */
  async executionOf(push: PushResult = this.push): Promise<ExecutionRef> {
    let execution = this.executions.get(push.commitId);
    if (!execution) {
      execution = await this.harness.findExecution(push);
      this.executions.set(push.commitId, execution);
    }
    return execution;
  }

  /** Records something a later step must check. */
  expectCheck(what: string): Unchecked {
    const item = { what, checked: false };
    this.unchecked.push(item);
    return item;
  }

  /** Marks every pending check whose description starts with `prefix` as done. */
  checked(prefix: string): void {
    for (const u of this.unchecked) if (u.what.startsWith(prefix)) u.checked = true;
  }

  /** Stops the traffic probe (once) and keeps its report. */
  async stopProbe(): Promise<ProbeReport> {
    if (!this.probeReport) {
      if (!this.probe)
        throw new Error('the load balancer is not being watched: add "Given we watch the load balancer"');
      this.probeReport = await this.probe.stop();
      await this.attachProbe(this.probeReport);
    }
    return this.probeReport;
  }

  async attachSvg(svg: string): Promise<void> {
    await this.attach(Buffer.from(svg, 'utf8'), 'image/svg+xml');
  }

  async attachJson(name: string, value: unknown): Promise<void> {
    await this.attach(JSON.stringify(value, null, 2), {
      mediaType: 'application/json',
      fileName: `${name}.json`,
    });
  }

  async attachMarkdown(text: string): Promise<void> {
    await this.attach(text, 'text/markdown');
  }

  async attachTimeline(execution: ExecutionRef): Promise<void> {
    const entries = this.harness.timeline.entries.filter(
      (e) => e.pipelineExecutionId === execution.pipelineExecutionId,
    );
    await this.attachSvg(
      timelineSvg(entries, { title: `Stage timeline of execution ${execution.pipelineExecutionId}` }),
    );
  }

  async attachLifecycle(deploymentId: string, title = `Lifecycle events of ${deploymentId}`): Promise<void> {
    await this.attachMarkdown(lifecycleTable(await this.harness.lifecycleEvents(deploymentId), title));
  }

  async attachProbe(report: ProbeReport): Promise<void> {
    await this.attachSvg(probeSvg(report));
  }

  async attachResponses(samples: readonly Sample[], title: string): Promise<void> {
    await this.attachMarkdown(responsesTable(samples, title));
  }
}

const scenarios = new WeakMap<object, HarnessScenario>();

/** Starts the harness's part of a scenario (the Before hook does). */
export function beginScenario(world: WorldLike, harness: Harness): HarnessScenario {
  const scenario = new HarnessScenario(world, harness);
  scenarios.set(world, scenario);
  return scenario;
}

/** The harness's part of the scenario whose World is `world`, if it has begun. */
export function findScenario(world: object): HarnessScenario | undefined {
  return scenarios.get(world);
}

/**
 * The harness's part of the scenario whose World is `world` (call it with `this` in a step).
 *
 * @throws Error naming the fix when the harness's hooks did not run (defineHarnessSteps() not called).
 */
export function harnessScenario(world: object): HarnessScenario {
  const scenario = scenarios.get(world);
  if (!scenario) {
    throw new Error(
      'no harness in this scenario: call defineHarnessSteps() from one of your cucumber support files ' +
        '(it registers the Before hook that starts the harness)',
    );
  }
  return scenario;
}
