/**
 * The doctor: one pass, before the first scenario, over everything a run needs from its target, each answered
 * with ✓ or with ✗ and the one thing to set or do. In order: the config loads; the sandbox answers (target
 * sandbox); credentials resolve and the region; the pipeline and its stage/approval names; the source repository
 * and branch; the deployment group; the load balancer and its healthy targets; the app answering with a version;
 * with `destructive`, the pipeline's test-target tag. A check that fails skips the checks that need it (saying
 * so); every check has a deadline; nothing here throws for what it finds, and nothing secret is reported.
 *
 * The CLI (`codepipeline-harness doctor`), a cucumber BeforeAll and `run` all call {@link runDoctor}.
 */
import type { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { createClients, type HarnessClients } from '../aws/clients.ts';
import { resolveRegion } from '../aws/region.ts';
import { type HarnessConfig, type HarnessConfigInput, loadConfig } from '../config.ts';
import { ConfigError, formatDuration, HarnessError, WaitTimeoutError } from '../errors.ts';
import { errorLine } from '../poll.ts';
import { redact } from '../source/git.ts';
import {
  type CheckContext,
  type CheckOutcome,
  type CredentialsSeen,
  checkAppVersion,
  checkCredentials,
  checkDeploymentGroup,
  checkLoadBalancer,
  checkPipeline,
  checkSandbox,
  checkSource,
  checkTestTargetTag,
  type DeploymentGroupSeen,
  type LoadBalancerSeen,
  outcomeOf,
  type PipelineSeen,
} from './checks.ts';
import { explainAwsError } from './explain.ts';

/** The checks, in the order they run. */
export type DoctorCheckName =
  | 'config'
  | 'sandbox'
  | 'credentials'
  | 'pipeline'
  | 'source'
  | 'deployment-group'
  | 'load-balancer'
  | 'app-version'
  | 'test-target-tag';

/** One check: passed, failed (with the fix) or skipped (with the reason in `detail`). */
export interface DoctorCheck {
  name: DoctorCheckName;
  ok: boolean | 'skipped';
  /** What was found, one line; for a skipped check, why it was skipped. */
  detail: string;
  /** What to set or do, one line; present when `ok` is false. */
  fix?: string;
  /** How long the check took, in ms. */
  durationMs: number;
}

/** What the doctor found. Plain data: `JSON.stringify` it as is. */
export interface DoctorReport {
  /** True when no check failed (skipped checks do not fail). */
  ok: boolean;
  /** From the config, when it loads. */
  target?: HarnessConfig['target'];
  stack?: HarnessConfig['stack'];
  region?: string;
  checks: DoctorCheck[];
  /** The whole pass, in ms. */
  durationMs: number;
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Configuration from code; merged over the file and `HARNESS_*` env, as `Harness.start` does. */
  config?: HarnessConfigInput;
  /** Environment to read `HARNESS_*` (and `AWS_PROFILE`, for the fixes) from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Config file (JSON or YAML). @default env.HARNESS_CONFIG */
  configFile?: string;
  /** Clients you built (your own credentials, or mocked); the missing ones are built from the config. */
  clients?: Partial<HarnessClients>;
  /** Also check what `@destructive` scenarios need: the test-target tag, automatic rollback. @default false */
  destructive?: boolean;
  /** Deadline of each check, in ms. @default 20000 (20s) */
  timeoutMs?: number;
}

const STACK_CHECKS: readonly DoctorCheckName[] = [
  'pipeline',
  'source',
  'deployment-group',
  'load-balancer',
  'app-version',
];

/** Runs `work` with a deadline: its signal aborts then, and the result is a `WaitTimeoutError` whatever `work` does. */
async function withDeadline<T>(
  ms: number,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new WaitTimeoutError(`${what}: no answer within ${formatDuration(ms)}`, ms);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  const running = work(controller.signal);
  // A call that ignores the signal may still settle after the deadline: that must not be an unhandled rejection.
  running.catch(() => {});
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The checks of one pass, and what makes the later ones skip. */
class Pass {
  readonly checks: DoctorCheck[] = [];
  /** Why every check from now on is skipped (a failure that would fail them all the same way). */
  blocked: string | undefined;
  readonly #timeoutMs: number;
  readonly #scrub: (text: string) => string;

  constructor(timeoutMs: number, scrub: (text: string) => string) {
    this.#timeoutMs = timeoutMs;
    this.#scrub = scrub;
  }

  /** Skips checks, with the reason everything is blocked when something is. */
  skip(names: readonly DoctorCheckName[], reason: string): void {
    const detail = this.blocked ?? reason;
    for (const name of names) this.checks.push({ name, ok: 'skipped', detail, durationMs: 0 });
  }

  record(name: DoctorCheckName, outcome: CheckOutcome, durationMs: number): boolean {
    this.checks.push({
      name,
      ok: outcome.ok,
      detail: this.#scrub(outcome.detail),
      ...(outcome.ok ? {} : { fix: this.#scrub(outcome.fix ?? 'see the detail') }),
      durationMs: Math.round(durationMs),
    });
    if (outcome.blocks) this.blocked ??= outcome.blocks;
    return outcome.ok;
  }

  /** Runs one check within its deadline; an error it throws becomes its ✗. Returns whether it passed. */
  async run(
    name: DoctorCheckName,
    context: { region: string; endpoint?: string | undefined; env: Record<string, string | undefined> },
    check: (signal: AbortSignal) => Promise<CheckOutcome>,
  ): Promise<boolean> {
    if (this.blocked) {
      this.skip([name], this.blocked);
      return false;
    }
    const started = performance.now();
    let outcome: CheckOutcome;
    try {
      outcome = await withDeadline(this.#timeoutMs, `the ${name} check`, check);
    } catch (error) {
      const explained = explainAwsError(error, { iamAction: 'the call', resource: name, ...context });
      outcome = explained
        ? outcomeOf(explained)
        : {
            ok: false,
            detail: `the ${name} check failed: ${errorLine(error)}`,
            fix: 'see the detail; this is unexpected, please report it with the output of --json',
          };
    }
    return this.record(name, outcome, performance.now() - started);
  }
}

/**
 * Checks, before a run, that the harness can run against the target the config names, and says what to set when
 * it cannot. Result form: never throws for what it finds (see {@link expectDoctor} for the assert form).
 *
 * @example
 * ```ts
 * const report = await runDoctor({ destructive: true });   // HARNESS_* from the environment
 * if (!report.ok) console.error(formatDoctor(report));
 * // ✗ pipeline          pipeline awscicd-cap-pipeline has no stage "Deploy" (stages.deploy); its stages are ...
 * //     fix: set HARNESS_STAGE_DEPLOY=DeployBlueGreen
 * ```
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const destructive = options.destructive ?? false;
  const seenCredentials: CredentialsSeen = { secrets: [] };
  // Real secret keys are 40 characters and access key ids 20; the sandbox's "test" is neither secret nor worth
  // masking out of every word that contains it.
  const scrub = (text: string): string => {
    let out = redact(text); // user:password@ of any URL
    for (const secret of seenCredentials.secrets) if (secret.length >= 8) out = out.split(secret).join('***');
    const key = seenCredentials.accessKeyId;
    if (key && key.length >= 8) out = out.split(key).join(`…${key.slice(-4)}`);
    return out;
  };
  const pass = new Pass(options.timeoutMs ?? 20_000, scrub); // 20s per check
  const report = (config?: HarnessConfig): DoctorReport => ({
    ok: pass.checks.every((c) => c.ok !== false),
    ...(config ? { target: config.target, stack: config.stack, region: config.region } : {}),
    checks: pass.checks,
    durationMs: Math.round(performance.now() - started),
  });
  const later: DoctorCheckName[] = [
    'credentials',
    ...STACK_CHECKS,
    ...(destructive ? (['test-target-tag'] as const) : []),
  ];

  // 1. The config.
  let config: HarnessConfig;
  const configStarted = performance.now();
  try {
    config = (
      await resolveRegion(
        loadConfig({
          ...(options.config ? { overrides: options.config } : {}),
          env,
          ...(options.configFile ? { file: options.configFile } : {}),
        }),
        env,
      )
    ).config;
  } catch (error) {
    pass.record(
      'config',
      error instanceof ConfigError
        ? {
            ok: false,
            detail: `the configuration does not load (${error.key} from ${error.source})`,
            // A value that is not an env var NAME may well be the token itself: never echo it.
            fix:
              error.key === 'source.auth.tokenEnv'
                ? error.message.replace(/, got .* from /, ', got (not shown: it may be the token) from ')
                : error.message,
          }
        : {
            ok: false,
            detail: `the configuration does not load (${errorLine(error)})`,
            fix: errorLine(error),
          },
      performance.now() - configStarted,
    );
    pass.skip(later, 'needs a valid configuration');
    return report();
  }
  // stack ephemeral on aws: the run creates the capstone stack through CloudFormation (its names are the run's).
  const configOk = {
    ok: true,
    detail:
      `target ${config.target}, stack ${config.stack}, region ${config.region}, pipeline ${config.pipelineName}` +
      (config.endpoint ? `, endpoint ${config.endpoint}` : ''),
  };
  if (!pass.record('config', configOk, performance.now() - configStarted)) {
    pass.skip(later, 'needs a valid configuration');
    return report(config);
  }
  const where = { region: config.region, endpoint: config.endpoint, env };
  const stackChecks = [...STACK_CHECKS, ...(destructive ? (['test-target-tag'] as const) : [])];

  // 2. The sandbox.
  if (config.target === 'sandbox') {
    if (!config.endpoint) {
      if (config.stack === 'existing') {
        pass.record(
          'sandbox',
          {
            ok: false,
            detail:
              'stack existing on the sandbox, but no HARNESS_ENDPOINT: a sandbox the run starts holds no stack',
            fix: 'set HARNESS_ENDPOINT to the sandbox that holds your stack, or HARNESS_STACK=ephemeral',
          },
          0,
        );
        pass.skip(later, 'needs the sandbox');
      } else {
        pass.record(
          'sandbox',
          { ok: true, detail: 'no HARNESS_ENDPOINT: the run starts a sandbox of its own' },
          0,
        );
        pass.skip(['credentials'], 'the run signs with the sandbox it starts');
        pass.skip(stackChecks, 'the run creates its own stack');
      }
      return report(config);
    }
    const endpoint = config.endpoint;
    const credentials = config.sandboxCredentials;
    if (!(await pass.run('sandbox', where, (signal) => checkSandbox(endpoint, signal, credentials)))) {
      pass.skip(later, 'needs the sandbox');
      return report(config);
    }
  }

  let clients: ReturnType<typeof createClients>;
  try {
    clients = createClients(config, options.clients);
  } catch (error) {
    pass.record(
      'credentials',
      { ok: false, detail: `no clients (${errorLine(error)})`, fix: errorLine(error) },
      0,
    );
    pass.skip(stackChecks, 'needs the clients');
    return report(config);
  }
  try {
    const context = (signal: AbortSignal): CheckContext => ({ config, clients, env, destructive, signal });

    // 3. Credentials and region.
    if (
      !(await pass.run('credentials', where, (signal) => checkCredentials(context(signal), seenCredentials)))
    ) {
      pass.skip(stackChecks, 'needs working credentials');
      return report(config);
    }
    if (config.stack === 'ephemeral') {
      pass.skip(stackChecks, 'the run creates its own stack');
      return report(config);
    }

    // 4.-6. The pipeline, its source and its deployment group.
    const pipeline: PipelineSeen = {};
    await pass.run('pipeline', where, (signal) => checkPipeline(context(signal), pipeline));
    const shape = pipeline.shape;
    const deploymentGroup: DeploymentGroupSeen = {};
    if (shape) {
      await pass.run('source', where, (signal) => checkSource(context(signal), shape));
      await pass.run('deployment-group', where, (signal) =>
        checkDeploymentGroup(context(signal), shape, deploymentGroup),
      );
    } else {
      pass.skip(['source', 'deployment-group'], 'needs the pipeline');
    }

    // 7.-8. The load balancer and the app behind it.
    const loadBalancer: LoadBalancerSeen = {};
    await pass.run('load-balancer', where, (signal) =>
      checkLoadBalancer(context(signal), deploymentGroup, loadBalancer),
    );
    const url = loadBalancer.url;
    if (url) await pass.run('app-version', where, (signal) => checkAppVersion(context(signal), url));
    else pass.skip(['app-version'], "needs the load balancer's URL");

    // 9. The test-target tag.
    if (destructive) {
      if (shape)
        await pass.run('test-target-tag', where, (signal) => checkTestTargetTag(context(signal), shape));
      else pass.skip(['test-target-tag'], 'needs the pipeline');
    }
    return report(config);
  } finally {
    destroyOwn(clients, options.clients ?? {});
  }
}

/** Closes the sockets of the clients the doctor built, never those it was given. */
function destroyOwn(
  clients: HarnessClients & { codecommit: CodeCommitClient },
  given: Partial<HarnessClients>,
) {
  const own: Partial<HarnessClients> = {};
  for (const key of ['codepipeline', 'codedeploy', 'elbv2', 'autoscaling', 'codecommit'] as const) {
    if (!given[key]) Object.assign(own, { [key]: clients[key] });
  }
  for (const client of Object.values(own)) client?.destroy();
}

/**
 * Assert form of {@link runDoctor}: resolves with the report when no check failed.
 *
 * @throws HarnessError whose message is the formatted report (every ✗ with its fix); `lastState` is the report.
 * @example
 * ```ts
 * BeforeAll(async () => { await expectDoctor({ destructive: true }); });
 * ```
 */
export async function expectDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const report = await runDoctor(options);
  if (report.ok) return report;
  const failed = report.checks.filter((c) => c.ok === false).length;
  throw new HarnessError(
    `preflight: ${failed} check${failed === 1 ? '' : 's'} failed (codepipeline-harness doctor)\n${formatDoctor(report)}`,
    { lastState: report },
  );
}

/** Options of {@link formatDoctor}. */
export interface FormatDoctorOptions {
  /** The report as JSON (2-space indented) instead of text. @default false */
  json?: boolean;
}

const MARK = { true: '✓', false: '✗', skipped: '-' } as const;

/**
 * The report as text: one ✓/✗/- line per check, each ✗ followed by its fix on one line, then a summary; or as
 * JSON with `{ json: true }`.
 *
 * @example
 * ```ts
 * process.stdout.write(formatDoctor(await runDoctor()));
 * ```
 */
export function formatDoctor(report: DoctorReport, options: FormatDoctorOptions = {}): string {
  if (options.json) return `${JSON.stringify(report, null, 2)}\n`;
  const width = Math.max(...report.checks.map((c) => c.name.length)) + 2;
  const lines: string[] = [];
  for (const check of report.checks) {
    const detail = check.ok === 'skipped' ? `skipped: ${check.detail}` : check.detail;
    lines.push(`${MARK[String(check.ok) as keyof typeof MARK]} ${check.name.padEnd(width)}${detail}`);
    if (check.ok === false && check.fix) lines.push(`    fix: ${check.fix}`);
  }
  const count = (ok: DoctorCheck['ok']) => report.checks.filter((c) => c.ok === ok).length;
  const failed = count(false);
  lines.push(
    `${failed ? `${failed} failed, ` : ''}${count(true)} passed, ${count('skipped')} skipped ` +
      `(${formatDuration(report.durationMs)})${failed ? '' : ': ready to run'}`,
  );
  return `${lines.join('\n')}\n`;
}
