/**
 * Hooks: one sandbox for the whole run (target `sandbox`), one Harness per scenario, teardown after every
 * scenario whatever happened, the evidence of a failure attached to it, and a scenario failed when it left
 * something unchecked (a watched load balancer nobody asserted on, a forced failure nobody proved).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { GetPipelineStateCommand } from '@aws-sdk/client-codepipeline';
import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  After,
  AfterAll,
  Before,
  BeforeAll,
  setDefaultTimeout,
  setWorldConstructor,
  Status,
} from '@cucumber/cucumber';
import { Harness } from '../src/harness.ts';
import { HarnessError, NotLiveError } from '../src/errors.ts';
import { newRunId } from '../src/stack/names.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import type { Sample } from '../src/traffic/sample.ts';
import { HarnessWorld } from './world.ts';

setWorldConstructor(HarnessWorld);
// A release on the sandbox takes seconds; on AWS a blue/green deployment takes many minutes.
setDefaultTimeout((process.env.HARNESS_TARGET === 'aws' ? 45 : 3) * 60_000);

const target = process.env.HARNESS_TARGET === 'aws' ? 'aws' : 'sandbox';
const quiet = Boolean(process.env.CI) || !process.stderr.isTTY;
let sandbox: Sandbox | undefined;

/** The run's sandbox (target `sandbox`), for steps that inspect it; undefined on AWS. */
export function runSandbox(): Sandbox | undefined {
  return sandbox;
}

interface ScenarioSummary {
  name: string;
  status: string;
  seconds: number;
  note: string;
}
const summaries: ScenarioSummary[] = [];
const started = new WeakMap<object, number>();

BeforeAll(async () => {
  if (target !== 'sandbox') return;
  const { startSandbox } = await import('../src/sandbox/index.ts');
  sandbox = await startSandbox({ timeScale: Number(process.env.HARNESS_TIME_SCALE ?? 0.02) });
});

AfterAll(async () => {
  await sandbox?.stop();
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/summary.md', summaryMarkdown(summaries));
});

Before({ tags: '@sandbox-only' }, function (this: HarnessWorld) {
  if (target === 'aws') {
    this.log('skipped on AWS: this scenario inspects the sandbox itself (its processes and ports)');
    return 'skipped';
  }
  return undefined;
});

Before(async function (this: HarnessWorld) {
  started.set(this, Date.now());
  this.harness = await Harness.start({
    config: target === 'sandbox' ? { runId: newRunId() } : {},
    ...(sandbox ? { sandbox } : {}),
    ...(quiet ? {} : { log: (line: string) => process.stderr.write(`      ${line}\n`) }),
  });
});

After(async function (this: HarnessWorld, { result, pickle }) {
  if (!this.harness) return;
  const failed = result?.status === Status.FAILED;
  // Evidence first (it needs the stack), then teardown whatever happened; neither may skip the other.
  const note = (what: string) => (error: unknown) => this.log(`could not ${what}: ${String(error)}`);
  if (failed) await attachFailureEvidence(this, this.failure).catch(note('attach the failure evidence'));
  if (this.probe && !this.probeReport) await this.stopProbe().catch(note('stop the traffic probe'));
  const closed = await this.harness.close();
  if (closed) {
    await this.attachJson('teardown', closed);
    const { teardown, leaks } = closed;
    if (teardown.failed.length) {
      throw new Error(
        `teardown failed for ${teardown.failed.map((f) => `${f.kind} ${f.id}: ${f.reason}`).join('; ')}`,
      );
    }
    if (!leaks.clean) {
      throw new Error(`the scenario left ${leaks.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ')}`);
    }
  }
  const unchecked = this.unchecked.filter((u) => !u.checked);
  summaries.push({
    name: pickle.name,
    status: result?.status ?? 'UNKNOWN',
    seconds: (Date.now() - (started.get(this) ?? Date.now())) / 1000,
    note: this.probeReport
      ? `${this.probeReport.requests} requests, ${this.probeReport.failures.total} failed, longest outage ${this.probeReport.longestOutageMs} ms`
      : '',
  });
  if (!failed && unchecked.length) {
    throw new Error(
      `the scenario left unchecked: ${unchecked.map((u) => u.what).join('; ')}; add a step that checks it`,
    );
  }
});

/** Pipeline state (approval tokens removed), the deployment and the error's last observed state. */
async function attachFailureEvidence(world: HarnessWorld, error: unknown): Promise<void> {
  const { harness } = world;
  // Evidence is best effort (the stack may be half made), but a piece that cannot be read says so in the report.
  const missing = (what: string) => (e: unknown) => {
    world.log(`could not read ${what} for the evidence: ${String(e)}`);
    return undefined;
  };
  if (error instanceof HarnessError && error.lastState !== undefined) {
    await world.attachJson('last-observed-state', withoutSecrets(error.lastState));
  }
  if (error instanceof NotLiveError) {
    await world.attachResponses(
      (error.evidence as Sample[]).slice(-20),
      `The last responses of the load balancer (${error.version} expected)`,
    );
  }
  const name = harness.pipeline.name;
  const state = await harness.clients.codepipeline
    .send(new GetPipelineStateCommand({ name }))
    .catch(missing(`the state of pipeline ${name}`));
  if (state) await world.attachJson('pipeline-state', withoutSecrets({ ...state, $metadata: undefined }));
  const deploymentId = world.forced?.deploymentId ?? world.deploymentId;
  if (deploymentId) {
    const info = await harness.clients.codedeploy
      .send(new GetDeploymentCommand({ deploymentId }))
      .catch(missing(`deployment ${deploymentId}`));
    if (info) await world.attachJson('deployment', withoutSecrets(info.deploymentInfo));
    await world.attachLifecycle(deploymentId).catch(missing(`the lifecycle events of ${deploymentId}`));
  }
  for (const execution of world.executions.values()) await world.attachTimeline(execution);
}

/** Drops approval tokens and anything named like a credential, at any depth. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !/^(token|secret.*|password|credentials?|authorization|sessionToken)$/i.test(k))
        .map(([k, v]) => [k, withoutSecrets(v)]),
    );
  }
  return value;
}

function summaryMarkdown(rows: readonly ScenarioSummary[]): string {
  const passed = rows.filter((r) => r.status === Status.PASSED).length;
  const lines = [
    '# Acceptance summary',
    '',
    `Target: ${target}. ${rows.length} scenarios: ${passed} passed, ${rows.length - passed} not passed.`,
    '',
    '| scenario | result | seconds | traffic |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.note} |`),
    '',
    'Details and evidence: cucumber-report.html. Machine-readable: cucumber-junit.xml, cucumber-messages.ndjson.',
    '',
  ];
  return lines.join('\n');
}
