/**
 * The hooks the harness's steps need, registered by `defineHarnessSteps()` (never on import): one sandbox for
 * the run (target `sandbox` without `HARNESS_ENDPOINT`), one Harness per scenario, teardown after every scenario
 * whatever happened, the evidence of a failure attached to it, a scenario failed when it left something
 * unchecked (a watched load balancer nobody asserted on, a forced failure nobody proved), and, when asked, a
 * Markdown summary of the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GetPipelineStateCommand } from '@aws-sdk/client-codepipeline';
import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  After,
  AfterAll,
  Before,
  BeforeAll,
  type HookTarget,
  Status,
  setParallelCanAssign,
} from '@cucumber/cucumber';
import type { HarnessConfig } from '../src/config.ts';
import { HarnessError, NotLiveError } from '../src/errors.ts';
import { formatDoctor, runDoctor } from '../src/doctor/index.ts';
import { Harness } from '../src/harness.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import type { Sample } from '../src/traffic/sample.ts';
import { beginScenario, findScenario, type HarnessScenario, type WorldLike } from './scenario.ts';
import {
  type CucumberWorker,
  cucumberWorker,
  mergeSummaryParts,
  type ScenarioSummary,
  workerRunId,
  writeSummaryPart,
} from './workers.ts';

/** What the hooks need to know, resolved by `defineHarnessSteps`. */
export interface HookSettings {
  config: HarnessConfig;
  /** Markdown summary path, or undefined to write nothing. */
  summary: string | undefined;
  timeScale: number;
  /** For BeforeAll/AfterAll (starting and stopping the sandbox, ending probes). */
  hookTimeoutMs: number;
  log: ((line: string) => void) | undefined;
  /** Run the doctor before the first scenario (and with its test-target check when `destructive`). */
  preflight: { destructive: boolean } | false;
}

/**
 * Registers the hooks; returns a getter for the run's sandbox (undefined on AWS or before BeforeAll).
 */
export function defineHarnessHooks(settings: HookSettings): () => Sandbox | undefined {
  const { config } = settings;
  const target = config.target;
  const summaries: ScenarioSummary[] = [];
  /** How the scenarios noticed changes (events, or polling and why), with how many did: said once in the report. */
  const watching = new Map<string, number>();
  let sandbox: Sandbox | undefined;
  let preflightFailed = false;
  // In cucumber's --parallel, each worker (a thread that loads this file again) runs as <run id>-w<n> with a
  // sandbox and a stack of its own; the coordinator hands its run id down (workers' env is a copy of its own).
  const worker = cucumberWorker();
  if (!worker) process.env.HARNESS_RUN_ID = config.runId;
  let runId = config.runId;
  // One pipeline and one branch: scenarios on an existing stack would supersede each other's executions.
  if (config.stack === 'existing') setParallelCanAssign((_pickle, running) => running.length === 0);

  // cucumber exports HookTarget as a type only: its value, as cucumber compares it.
  const coordinator = 'COORDINATOR' as HookTarget;
  // Coordinator-only (in a serial run too): a merge of this run's workers' summary parts at the end, and no stale
  // part of an earlier, killed run with the same id in it.
  BeforeAll({ on: coordinator }, () => {
    if (settings.summary) mergeSummaryParts(settings.summary, config.runId);
  });
  AfterAll({ on: coordinator }, () => {
    const merged = settings.summary ? mergeSummaryParts(settings.summary, config.runId) : undefined;
    if (!settings.summary || !merged) return;
    // How each worker's scenarios noticed changes, counted over all of them.
    const how = new Map<string, number>();
    for (const r of merged.rows) if (r.watched) how.set(r.watched, (how.get(r.watched) ?? 0) + 1);
    writeFileSync(settings.summary, summaryMarkdown(config, merged.rows, merged.workerRuns, how));
  });

  BeforeAll({ timeout: settings.hookTimeoutMs }, async () => {
    if (worker) runId = workerRunId(config.runId, worker.index);
    // The id every scenario of this run uses (and the one `sweep --run` takes), said before anything is created.
    process.stderr.write(`${runLine(config, runId, worker)}\n`);
    if (worker?.index === 0 && config.stack === 'existing' && worker.total > 1) {
      process.stderr.write(
        `codepipeline-harness: stack existing, so the scenarios run one at a time although cucumber has ${worker.total} ` +
          "workers: the team's stack has one pipeline and one source branch, and scenarios in parallel would " +
          "supersede each other's executions\n",
      );
    }
    if (target === 'sandbox' && !config.endpoint) {
      const { startSandbox } = await import('../src/sandbox/index.ts');
      sandbox = await startSandbox({ timeScale: settings.timeScale });
    }
    if (!settings.preflight) return;
    // One clear answer before the first scenario: a run that cannot work stops here, not once per scenario.
    const report = await runDoctor({
      ...(sandbox ? { config: { endpoint: sandbox.endpoint } } : {}),
      destructive: settings.preflight.destructive,
    });
    if (report.ok) return;
    preflightFailed = true;
    if (settings.summary) {
      mkdirSync(dirname(settings.summary), { recursive: true });
      writeFileSync(settings.summary, preflightMarkdown(config, formatDoctor(report)));
    }
    await sandbox?.stop();
    sandbox = undefined;
    const failed = report.checks.filter((c) => c.ok === false).length;
    throw new Error(
      `preflight failed (${failed} check${failed === 1 ? '' : 's'}): no scenario was run\n${formatDoctor(report)}`,
    );
  });

  AfterAll({ timeout: settings.hookTimeoutMs }, async () => {
    await sandbox?.stop();
    if (settings.summary && !preflightFailed) {
      mkdirSync(dirname(settings.summary), { recursive: true });
      // A worker's rows wait beside the summary for the coordinator, which writes the one summary of the run.
      if (worker) writeSummaryPart(settings.summary, runId, summaries);
      else writeFileSync(settings.summary, summaryMarkdown(config, summaries, [], watching));
    }
  });

  Before({ tags: '@sandbox-only' }, function (this: WorldLike) {
    if (target === 'aws') {
      this.log('skipped on AWS: this scenario inspects the sandbox itself (its processes and ports)');
      return 'skipped';
    }
    return undefined;
  });

  Before({ timeout: settings.hookTimeoutMs }, async function (this: WorldLike) {
    // The run's (or this worker's) id for every scenario, never a fresh one: a thread's scenarios run one after
    // another and each tears its stack down before the next creates one, so the names (cph-<run id>-*) are free.
    const harness = await Harness.start({
      config: { runId },
      ...(sandbox ? { sandbox } : {}),
      ...(settings.log ? { log: settings.log } : {}),
    });
    beginScenario(this, harness);
  });

  After({ timeout: settings.hookTimeoutMs }, async function (this: WorldLike, { result, pickle }) {
    const scenario = findScenario(this);
    if (!scenario) return;
    const failed = result?.status === Status.FAILED;
    // Evidence first (it needs the stack), then teardown whatever happened; neither may skip the other.
    const note = (what: string) => (error: unknown) => scenario.log(`could not ${what}: ${String(error)}`);
    if (failed) await attachFailureEvidence(scenario).catch(note('attach the failure evidence'));
    if (scenario.probe && !scenario.probeReport)
      await scenario.stopProbe().catch(note('stop the traffic probe'));
    const watch = scenario.harness.watch.report();
    const how =
      watch.mode === 'events'
        ? "events (the run's EventBridge rule → SQS queue)"
        : `polling: ${watch.reason}`;
    watching.set(how, (watching.get(how) ?? 0) + 1);
    const { teardown, leaks } = await scenario.harness.close();
    await scenario.attachJson('teardown', { teardown, leaks });
    summaries.push({
      runId,
      watched: how,
      startedAt: scenario.startedAt,
      name: pickle.name,
      status: result?.status ?? 'UNKNOWN',
      seconds: (Date.now() - scenario.startedAt) / 1000,
      note: scenario.probeReport
        ? `${scenario.probeReport.requests} requests, ${scenario.probeReport.failures.total} failed, longest outage ${scenario.probeReport.longestOutageMs} ms`
        : '',
    });
    if (teardown.failed.length) {
      throw new Error(
        `teardown failed for ${teardown.failed.map((f) => `${f.kind} ${f.id}: ${f.reason}`).join('; ')}`,
      );
    }
    if (!leaks.clean) {
      throw new Error(`the scenario left ${leaks.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ')}`);
    }
    const unchecked = scenario.unchecked.filter((u) => !u.checked);
    if (!failed && unchecked.length) {
      throw new Error(
        `the scenario left unchecked: ${unchecked.map((u) => u.what).join('; ')}; add a step that checks it`,
      );
    }
  });

  return () => sandbox;
}

/** Pipeline state (approval tokens removed), the deployment and the error's last observed state. */
async function attachFailureEvidence(world: HarnessScenario): Promise<void> {
  const { harness } = world;
  const error = world.failure;
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

/**
 * The run's (or a worker's) id as the console says it, with the sweep that cleans up after a killed run: a
 * parallel run's workers each print their own id, and each is swept by its own.
 */
function runLine(config: HarnessConfig, runId: string, worker: CucumberWorker | undefined): string {
  const sweep =
    config.stack === 'ephemeral'
      ? `; if it is killed, clean up with: codepipeline-harness sweep --run ${runId}`
      : '';
  const of = worker ? `worker ${worker.index + 1} of ${worker.total} of run ${config.runId}, ` : '';
  return `codepipeline-harness: run id ${runId} (${of}target ${config.target}, stack ${config.stack})${sweep}`;
}

function runMarkdown(config: HarnessConfig, workerRuns: readonly string[] = []): string {
  if (workerRuns.length > 0) {
    const ids = workerRuns.map((r) => `\`${r}\``).join(', ');
    return config.stack === 'ephemeral'
      ? `Run id: \`${config.runId}\`, in ${workerRuns.length} parallel workers, each with its own stack: ${ids} (a killed run is cleaned up with \`codepipeline-harness sweep ${workerRuns.map((r) => `--run ${r}`).join(' ')}\`).`
      : `Run id: \`${config.runId}\`, ${workerRuns.length} workers (${ids}) taking turns: the existing stack has one pipeline, so its scenarios ran one at a time.`;
  }
  return config.stack === 'ephemeral'
    ? `Run id: \`${config.runId}\` (a killed run is cleaned up with \`codepipeline-harness sweep --run ${config.runId}\`).`
    : `Run id: \`${config.runId}\`.`;
}

function preflightMarkdown(config: HarnessConfig, doctor: string): string {
  return [
    '# Acceptance summary',
    '',
    `Target: ${config.target}. ${runMarkdown(config)} The preflight failed, so no scenario was run. What \`codepipeline-harness doctor\` found:`,
    '',
    '```',
    doctor.trimEnd(),
    '```',
    '',
  ].join('\n');
}

function summaryMarkdown(
  config: HarnessConfig,
  rows: readonly ScenarioSummary[],
  workerRuns: readonly string[] = [],
  watching: ReadonlyMap<string, number> = new Map(),
): string {
  const passed = rows.filter((r) => r.status === Status.PASSED).length;
  const parallel = workerRuns.length > 0;
  const lines = [
    '# Acceptance summary',
    '',
    `Target: ${config.target}. ${runMarkdown(config, workerRuns)} ${rows.length} scenarios: ${passed} passed, ${rows.length - passed} not passed.`,
    '',
    parallel
      ? '| scenario | result | seconds | run id | traffic |'
      : '| scenario | result | seconds | traffic |',
    parallel ? '|---|---|---|---|---|' : '|---|---|---|---|',
    ...rows.map((r) =>
      parallel
        ? `| ${r.name} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.runId} | ${r.note} |`
        : `| ${r.name} | ${r.status} | ${r.seconds.toFixed(1)} | ${r.note} |`,
    ),
    '',
    ...(watching.size > 0
      ? [
          `How changes were noticed: ${[...watching].map(([how, n]) => `${how} (${n} scenario${n === 1 ? '' : 's'})`).join('; ')}.`,
          '',
        ]
      : []),
    'Details and evidence: cucumber-report.html. Machine-readable: cucumber-junit.xml, cucumber-messages.ndjson.',
    '',
  ];
  return lines.join('\n');
}
