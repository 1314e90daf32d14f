/**
 * `npm run chaos -- --runs N [--throttle 0.3] [--errors 0.05] [--lost 0] [--seed S] [--all | --tags EXPR]`
 *
 * Runs the acceptance suite (this repository's features with steps/support.ts, cucumber in a child process) N
 * times on a sandbox that throttles and fails a share of every API call (its own fault injection, given through
 * HARNESS_SANDBOX_FAULTS; each run its own seed: seed, seed + 1, ...), after one fault-free run to compare with.
 * Prints runs green / runs, the API calls the sandbox answered, the retries it caused (every throttled or 5xx
 * answer is one retry of the client's) and the time added against the fault-free run, each failure with its
 * cause; writes every figure to reports/chaos.json. Each run's cucumber reports are in reports/chaos/<run>/.
 *
 *   --runs N        runs with faults                                          default 3
 *   --throttle R    share of API calls answered with the service's throttling error  default 0.3
 *   --errors R      share answered 503 ServiceUnavailable (before being handled)     default 0.05
 *   --lost R        share of PutApprovalResult and StopDeployment calls handled and then answered 503 (a lost
 *                   response: the retry meets an approval already answered, a deployment already stopped)  default 0
 *   --seed S        seed of the first run's faults                            default: from the clock (printed)
 *   --tags EXPR     which scenarios                                           default "not @slow" (the fast ones)
 *   --all           every scenario (same as --tags "")
 *   --no-baseline   skip the fault-free run (no "time added" then)
 *   --run-timeout D one run's limit, e.g. 20m                                 default 20m
 *
 * Exit code 0 when every run with faults is green, 1 otherwise, 2 for bad arguments.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const REPORTS = join(ROOT, 'reports');

const USAGE = `Usage: npm run chaos -- --runs N [--throttle 0.3] [--errors 0.05] [--lost 0] [--seed S] [--all | --tags EXPR]
           [--no-baseline] [--run-timeout 20m]
`;

interface Options {
  runs: number;
  throttle: number;
  errors: number;
  lost: number;
  seed: number;
  tags: string;
  baseline: boolean;
  runTimeoutMs: number;
}

/** One scenario or hook that did not pass, with its cause. */
interface Failure {
  scenario: string;
  step: string;
  status: string;
  message: string;
}

interface SandboxCounts {
  calls: number;
  throttled: number;
  errors: number;
  lostResponses: number;
}

interface RunResult {
  name: string;
  seed: number | undefined;
  green: boolean;
  exitCode: number;
  seconds: number;
  scenarios: { total: number; passed: number; notPassed: number };
  sandbox: SandboxCounts;
  failures: Failure[];
  reports: string;
  /** Set when the run hit --run-timeout and was killed. */
  killed?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function rate(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) fail(`${flag} must be a share between 0 and 1 (e.g. 0.3 for 30%), got '${value}'`);
  return n;
}

function duration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) fail(`--run-timeout must be a duration like 90s, 20m or 1h, got '${value}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function parseOptions(argv: string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        throttle: { type: 'string' },
        errors: { type: 'string' },
        lost: { type: 'string' },
        seed: { type: 'string' },
        tags: { type: 'string' },
        all: { type: 'boolean' },
        'no-baseline': { type: 'boolean' },
        'run-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a whole number >= 1, got '${values.runs}'`);
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
  if (!Number.isInteger(seed)) fail(`--seed must be a whole number, got '${values.seed}'`);
  if (values.all && values.tags !== undefined) fail('give --all or --tags, not both');
  return {
    runs,
    throttle: rate(values.throttle as string | undefined, '--throttle', 0.3),
    errors: rate(values.errors as string | undefined, '--errors', 0.05),
    lost: rate(values.lost as string | undefined, '--lost', 0),
    seed,
    tags: values.all ? '' : ((values.tags as string | undefined) ?? 'not @slow'),
    baseline: !values['no-baseline'],
    runTimeoutMs: duration((values['run-timeout'] as string | undefined) ?? '20m'),
  };
}

/** The fault spec of one run: the same shape as PUT /_sandbox/faults. */
function faultSpec(options: Options, seed: number): object {
  const rules: object[] = [];
  if (options.throttle > 0) rules.push({ type: 'throttle', rate: options.throttle });
  if (options.errors > 0) rules.push({ type: 'error', status: 503, rate: options.errors });
  if (options.lost > 0) {
    for (const [service, operation] of [
      ['codepipeline', 'PutApprovalResult'],
      ['codedeploy', 'StopDeployment'],
    ]) {
      rules.push({ service, operation, type: 'error', status: 503, rate: options.lost, phase: 'response' });
    }
  }
  return { seed, rules };
}

/** cucumber-js's entry script (its package exports no bin path). */
function cucumberBin(): string {
  const bin = join(ROOT, 'node_modules', '@cucumber', 'cucumber', 'bin', 'cucumber.js');
  if (!existsSync(bin)) throw new Error(`cucumber-js not found at ${bin}: run npm install`);
  return bin;
}

/** Runs cucumber once in `dir` (its reports and summary land there) with `faults` in HARNESS_SANDBOX_FAULTS. */
async function runOnce(
  name: string,
  seed: number | undefined,
  faults: object,
  options: Options,
): Promise<RunResult> {
  const dir = join(REPORTS, 'chaos', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const stats = join(dir, 'sandbox-stats.ndjson');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HARNESS_TARGET: 'sandbox',
    HARNESS_SANDBOX_FAULTS: JSON.stringify(faults),
    HARNESS_SANDBOX_STATS: stats,
    CI: process.env.CI ?? '1',
  };
  // The run starts its own sandbox (the steps' BeforeAll): nothing may point it at another one.
  for (const key of ['HARNESS_ENDPOINT', 'HARNESS_STACK', 'HARNESS_CONFIG']) delete env[key];
  const args = [
    cucumberBin(),
    // An empty config of our own (as `codepipeline-harness run` does), so cucumber.json's formats, which
    // write to reports/, are not merged in; cucumber joins --config onto the working directory.
    '--config',
    relative(dir, join(ROOT, 'features', 'run-command.cucumber.json')),
    '--import',
    join(ROOT, 'steps', 'support.ts'),
    '--format',
    'summary:cucumber-summary.txt',
    '--format',
    'message:cucumber-messages.ndjson',
    '--format',
    'junit:cucumber-junit.xml',
    '--strict',
    ...(options.tags ? ['--tags', options.tags] : []),
    join(ROOT, 'features'),
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, options.runTimeoutMs);
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const exitCode = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  }).finally(() => {
    clearTimeout(timer);
    process.off('SIGINT', forward).off('SIGTERM', forward);
  });
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(join(dir, 'output.txt'), output);

  const outcome = readMessages(join(dir, 'cucumber-messages.ndjson'));
  if (exitCode !== 0 && outcome.failures.length === 0) {
    // Failed outside any scenario or step (a hook, a crash, a kill): the output's tail says why.
    outcome.failures.push({
      scenario: '(run)',
      step: killed ? `killed after ${options.runTimeoutMs / 60_000} min` : `exit code ${exitCode}`,
      status: 'FAILED',
      message: lastLines(output, 8),
    });
  }
  return {
    name,
    seed,
    green: exitCode === 0 && outcome.scenarios.notPassed === 0 && outcome.scenarios.total > 0,
    exitCode,
    seconds: Math.round(seconds * 10) / 10,
    scenarios: outcome.scenarios,
    sandbox: readStats(stats),
    failures: outcome.failures,
    reports: relative(ROOT, dir),
    ...(killed ? { killed } : {}),
  };
}

/** Every scenario's end and every step or hook that did not pass, from the cucumber messages. */
function readMessages(file: string): { scenarios: RunResult['scenarios']; failures: Failure[] } {
  const scenarios = { total: 0, passed: 0, notPassed: 0 };
  const failures: Failure[] = [];
  if (!existsSync(file)) return { scenarios, failures };
  const pickles = new Map<string, string>();
  const testCases = new Map<string, { pickleId: string; steps: Map<string, string> }>();
  const started = new Map<string, string>();
  const stepText = new Map<string, string>();
  const hookName = new Map<string, string>();
  const worst = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as Record<string, any>;
    if (m.pickle) {
      pickles.set(m.pickle.id, m.pickle.name);
      for (const s of m.pickle.steps ?? []) stepText.set(s.id, s.text);
    } else if (m.hook) {
      hookName.set(m.hook.id, m.hook.name ?? `hook at ${m.hook.sourceReference?.uri ?? '?'}`);
    } else if (m.testCase) {
      const steps = new Map<string, string>();
      for (const s of m.testCase.testSteps ?? []) {
        steps.set(
          s.id,
          s.pickleStepId
            ? (stepText.get(s.pickleStepId) ?? 'a step')
            : `hook ${hookName.get(s.hookId) ?? ''}`.trim(),
        );
      }
      testCases.set(m.testCase.id, { pickleId: m.testCase.pickleId, steps });
    } else if (m.testCaseStarted) {
      started.set(m.testCaseStarted.id, m.testCaseStarted.testCaseId);
    } else if (m.testStepFinished) {
      const result = m.testStepFinished.testStepResult;
      const testCase = testCases.get(started.get(m.testStepFinished.testCaseStartedId) ?? '');
      const scenario = pickles.get(testCase?.pickleId ?? '') ?? '?';
      const status = String(result?.status ?? 'UNKNOWN');
      const rank = ['PASSED', 'SKIPPED', 'PENDING', 'UNDEFINED', 'AMBIGUOUS', 'UNKNOWN', 'FAILED'];
      const key = m.testStepFinished.testCaseStartedId;
      if (rank.indexOf(status) > rank.indexOf(worst.get(key) ?? 'PASSED')) worst.set(key, status);
      if (status !== 'PASSED' && status !== 'SKIPPED') {
        failures.push({
          scenario,
          step: testCase?.steps.get(m.testStepFinished.testStepId) ?? '?',
          status,
          message: firstLines(result?.message ?? result?.exception?.message ?? '', 6),
        });
      }
    } else if (m.testCaseFinished) {
      if (m.testCaseFinished.willBeRetried) continue;
      const status = worst.get(m.testCaseFinished.testCaseStartedId) ?? 'PASSED';
      scenarios.total += 1;
      if (status === 'PASSED' || status === 'SKIPPED') scenarios.passed += 1;
      else scenarios.notPassed += 1;
    } else if (m.testRunHookFinished) {
      const result = m.testRunHookFinished.result;
      if (result && result.status !== 'PASSED') {
        failures.push({
          scenario: '(BeforeAll/AfterAll)',
          step: 'a hook of the run',
          status: String(result.status),
          message: firstLines(result.message ?? result.exception?.message ?? '', 6),
        });
      }
    }
  }
  return { scenarios, failures };
}

/** The API calls the run's sandbox(es) answered, and the faults they injected (HARNESS_SANDBOX_STATS). */
function readStats(file: string): SandboxCounts {
  const counts = { calls: 0, throttled: 0, errors: 0, lostResponses: 0 };
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const s = JSON.parse(line) as SandboxCounts;
    counts.calls += s.calls;
    counts.throttled += s.throttled;
    counts.errors += s.errors;
    counts.lostResponses += s.lostResponses;
  }
  return counts;
}

function firstLines(text: string, n: number): string {
  return text.split('\n').slice(0, n).join('\n').trim();
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n').trim();
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function line(run: RunResult): string {
  const s = run.sandbox;
  return (
    `${run.name.padEnd(9)} ${run.green ? 'green' : 'RED  '} ${String(run.seconds.toFixed(1)).padStart(6)} s  ` +
    `${run.scenarios.passed}/${run.scenarios.total} scenarios  ${String(s.calls).padStart(5)} API calls  ` +
    `${String(s.throttled).padStart(4)} throttled  ${String(s.errors).padStart(3)} 5xx` +
    (s.lostResponses ? ` (${s.lostResponses} lost responses)` : '') +
    (run.seed === undefined ? '' : `  seed ${run.seed}`)
  );
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const profile =
    `${options.throttle * 100}% throttled and ${options.errors * 100}% 503 on every operation` +
    (options.lost
      ? `, ${options.lost * 100}% of PutApprovalResult/StopDeployment answered 503 after landing`
      : '') +
    `; scenarios: ${options.tags ? `--tags "${options.tags}"` : 'all'}`;
  process.stdout.write(
    `chaos: ${options.runs} run(s), ${profile}; seeds ${options.seed}..${options.seed + options.runs - 1}\n`,
  );
  const started = new Date();
  const results: RunResult[] = [];
  let baseline: RunResult | undefined;
  if (options.baseline) {
    baseline = await runOnce('baseline', undefined, { rules: [] }, options);
    process.stdout.write(`${line(baseline)}  (no faults)\n`);
  }
  for (let i = 0; i < options.runs; i++) {
    const seed = options.seed + i;
    const result = await runOnce(`run-${i + 1}`, seed, faultSpec(options, seed), options);
    results.push(result);
    process.stdout.write(`${line(result)}\n`);
    for (const f of result.failures)
      process.stdout.write(`          ${f.status} ${f.scenario} / ${f.step}: ${f.message.split('\n')[0]}\n`);
  }

  const green = results.filter((r) => r.green).length;
  const calls = results.reduce((a, r) => a + r.sandbox.calls, 0);
  const throttled = results.reduce((a, r) => a + r.sandbox.throttled, 0);
  const errors = results.reduce((a, r) => a + r.sandbox.errors, 0);
  const meanSeconds = mean(results.map((r) => r.seconds));
  const added = baseline ? meanSeconds - baseline.seconds : undefined;
  const summary = {
    date: started.toISOString(),
    node: process.version,
    cores: cpus().length,
    profile: {
      throttle: options.throttle,
      errors: options.errors,
      lost: options.lost,
      tags: options.tags || null,
      seeds: results.map((r) => r.seed),
    },
    runs: results.length,
    green,
    apiCalls: { total: calls, perRun: Math.round(calls / results.length) },
    retries: {
      total: throttled + errors,
      throttled,
      serverErrors: errors,
      shareOfCalls: calls ? Math.round((1000 * (throttled + errors)) / calls) / 1000 : 0,
    },
    seconds: {
      baseline: baseline?.seconds ?? null,
      meanWithFaults: Math.round(meanSeconds * 10) / 10,
      added: added === undefined ? null : Math.round(added * 10) / 10,
      addedShare:
        added === undefined || !baseline?.seconds
          ? null
          : Math.round((1000 * added) / baseline.seconds) / 1000,
    },
    baseline: baseline ?? null,
    results,
  };
  const out = join(REPORTS, 'chaos.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);

  process.stdout.write(
    `\nruns green: ${green} / ${results.length}\n` +
      `API calls: ${calls} (${summary.apiCalls.perRun} a run)\n` +
      `retries (throttled / 5xx answers seen): ${throttled + errors} = ${throttled} throttled + ${errors} 5xx, ` +
      `${percent(throttled + errors, calls)} of calls\n` +
      (baseline
        ? `time: ${meanSeconds.toFixed(1)} s a run with faults vs ${baseline.seconds.toFixed(1)} s without: ` +
          `${added! >= 0 ? '+' : ''}${added!.toFixed(1)} s (${percent(added!, baseline.seconds)})` +
          (baseline.green ? '' : ' (the fault-free run was not green itself)') +
          '\n'
        : 'time added: no fault-free run (--no-baseline)\n') +
      `summary: ${relative(process.cwd(), out)}; each run's reports: reports/chaos/<run>/\n`,
  );
  return green === results.length ? 0 : 1;
}

process.exitCode = await main();
