/**
 * The World of the harness's cucumber steps: one `Harness` per scenario, the pushes and executions the
 * scenario is following, and the evidence to attach. Steps stay one to five lines by calling into it.
 */
import { World, type IWorldOptions } from '@cucumber/cucumber';
import type { ExecutionFailedError } from '../src/errors.ts';
import type { Harness } from '../src/harness.ts';
import type { ForcedFailure, Release } from '../src/harness.ts';
import type { ExecutionRef } from '../src/pipeline/observe.ts';
import { probeSvg, timelineSvg } from '../src/report/svg.ts';
import { lifecycleTable, responsesTable } from '../src/report/tables.ts';
import type { PushResult } from '../src/source/push.ts';
import type { ProbeReport, TrafficProbe } from '../src/traffic/probe.ts';
import type { Sample } from '../src/traffic/sample.ts';

/** Something a step produced that a later step must look at, or the scenario fails (see hooks). */
export interface Unchecked {
  what: string;
  checked: boolean;
}

export class HarnessWorld extends World {
  /** Set by the Before hook. */
  harness!: Harness;
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
  readonly unchecked: Unchecked[] = [];

  constructor(options: IWorldOptions) {
    super(options);
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

  /** Remembers a release's results and attaches its evidence. */
  async recordRelease(release: Release): Promise<void> {
    this.deploymentId = release.deploymentId;
    await this.attachTimeline(release.execution);
  }
}
