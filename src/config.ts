/**
 * HarnessConfig: one zod schema, loaded from defaults < file (JSON/YAML) < env `HARNESS_*` < code.
 * A bad value is a `ConfigError` naming the key, where it came from, what was wrong and the fix.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { newRunId, RUN_ID_PATTERN, RUN_ID_RULE } from './stack/names.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `600000`, `"600000"`, `"1500ms"`, `"30s"`, `"10m"`, `"1h"` into ms; anything else is returned as is. */
export function parseDuration(value: unknown): unknown {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return value;
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

/**
 * The longest duration a setting takes: 24 h (86,400,000 ms). A Node timer holds at most 2^31-1 ms (~596 h; a
 * longer one fires after 1 ms, so every poll would give up at once), and `releaseTimeout` adds six of them.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;
/** The largest sandbox time scale: 1, AWS's own durations (below 1 the sandbox is faster than AWS). */
export const MAX_TIME_SCALE = 1;

const DURATION_HINT = 'a duration in ms (600000) or with a unit ("1500ms", "30s", "10m", "1h")';
const duration = (fallback: number) =>
  z
    .preprocess(
      parseDuration,
      z
        .number({ error: `expected ${DURATION_HINT}` })
        .int()
        .positive(`expected ${DURATION_HINT} above zero`)
        .max(MAX_DURATION_MS, `expected ${DURATION_HINT} of at most 24h (${MAX_DURATION_MS} ms)`),
    )
    .default(fallback);
const intFromEnv = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), schema);
/** Milliseconds for a timer: a positive integer of at most {@link MAX_DURATION_MS}. */
const ms = () =>
  intFromEnv(
    z
      .number({ error: 'expected a number of milliseconds' })
      .int('expected a whole number of milliseconds')
      .positive('expected milliseconds above zero')
      .max(MAX_DURATION_MS, `expected at most ${MAX_DURATION_MS} ms (24h)`),
  );
const boolFromEnv = z.preprocess(
  (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v),
  z.boolean({ error: 'expected true or false' }),
);
const name = (fallback: string) => z.string().min(1, 'must not be empty').default(fallback);

/** A GitHub/GitLab/Slack token (`ghp_…`, `github_pat_…`, …) or a long mixed-case run of letters and digits. */
function looksLikeToken(value: string): boolean {
  if (/^(gh[pousr]_|github_pat_|glpat-|xox[abprs]-)/.test(value)) return true;
  return value.length >= 30 && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

const sourceAuth = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('none') }),
      z.strictObject({ type: z.literal('codecommit-credential-helper') }),
      z.strictObject({
        type: z.literal('github-token'),
        /** Name of the env var holding the token; the token itself never goes into config. */
        tokenEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable, not the token')
          .refine(
            (v) => !looksLikeToken(v),
            'must be the NAME of an environment variable (e.g. GITHUB_TOKEN), not the token: this value looks like one',
          )
          .default('GITHUB_TOKEN'),
      }),
    ],
    { error: 'expected "none", "codecommit-credential-helper" or "github-token"' },
  ),
);

/** The whole configuration. Every default lives here, each with its unit. */
export const HarnessConfigSchema = z.strictObject({
  /** `sandbox` (local emulator, default) or `aws` (real AWS, default credential chain). */
  target: z.enum(['sandbox', 'aws'], { error: 'expected "sandbox" or "aws"' }).default('sandbox'),
  /**
   * Whose stack: `ephemeral` (the run creates the sample stack and deletes it) or `existing` (the run adopts a
   * stack it did not create and leaves it as found). @default `ephemeral` on the sandbox, `existing` on aws
   * (creating billable resources must be asked for)
   */
  stack: z.enum(['ephemeral', 'existing'], { error: 'expected "ephemeral" or "existing"' }).optional(),
  region: name('us-east-1'),
  /** API endpoint; required for the sandbox (`http://127.0.0.1:<edge port>`), optional override for aws. */
  endpoint: z.url({ error: 'expected a URL like http://127.0.0.1:4566' }).optional(),
  /**
   * The sandbox's credentials (target `sandbox` only): what the clients sign with and git pushes with. Set them
   * from env (`HARNESS_SANDBOX_ACCESS_KEY_ID`, `HARNESS_SANDBOX_SECRET_ACCESS_KEY`, as `sandbox --credentials random`
   * prints them), never in a config file. Real AWS credentials in `AWS_*` are never sent to the sandbox.
   * @default test/test, the sandbox's own default
   */
  sandboxCredentials: z
    .strictObject({
      accessKeyId: z.string().min(1, 'must not be empty').default('test'),
      secretAccessKey: z.string().min(1, 'must not be empty').default('test'),
    })
    .prefault({}),
  pipelineName: name('awscicd-cap-pipeline'),
  stages: z
    .strictObject({
      source: name('Source'),
      build: name('BuildAndTest'),
      approval: name('Approval'),
      deploy: name('Deploy'),
    })
    .prefault({}),
  approvalActionName: name('ManualApproval'),
  applicationName: name('awscicd-cap-app'),
  deploymentGroupName: name('awscicd-cap-dg'),
  loadBalancerName: name('awscicd-cap-alb'),
  /**
   * The URL users reach (a custom domain, HTTPS, an internal ALB through a tunnel); every HTTP check goes there.
   * @default the load balancer's DNS name and listener (`loadBalancerName`, `listenerPort`)
   */
  appUrl: z.url({ error: 'expected a URL like https://app.example.com/' }).optional(),
  /** Listener port of the load balancer (the sandbox maps it to its edge port). */
  listenerPort: intFromEnv(z.number().int().min(1).max(65535, 'expected a port 1-65535')).default(80),
  source: z
    .strictObject({
      repositoryUrl: z.string().min(1, 'must not be empty').optional(),
      branch: name('main'),
      /** Directory of the app inside the repository ('' = repository root). */
      appDir: z.string().default(''),
      auth: sourceAuth.default({ type: 'none' }),
    })
    .prefault({}),
  /** Deadlines per phase, in ms (strings with units accepted). */
  timeouts: z
    .strictObject({
      findExecution: duration(2 * 60_000), // 2m: push → execution listed
      source: duration(5 * 60_000), // 5m
      build: duration(20 * 60_000), // 20m
      approval: duration(10 * 60_000), // 10m: until our approval is open
      deploy: duration(30 * 60_000), // 30m
      stage: duration(30 * 60_000), // 30m: any other stage wait
      live: duration(5 * 60_000), // 5m: new version on every target
      rollback: duration(30 * 60_000), // 30m
      teardown: duration(10 * 60_000), // 10m
      // 30m: an ephemeral stack's create (CloudFormation + instances signalling), and again its delete
      stack: duration(30 * 60_000),
    })
    .prefault({}),
  /**
   * How the run learns of changes (src/watch): `auto` sets up an EventBridge rule and an SQS queue of its own and
   * lets AWS's state-change events wake its waits, falling back to polling (said once in the log and the report)
   * when they cannot be set up (a denied action, a team that forbids new rules); `on` fails the run then; `off`
   * polls only. Polling stays the safety net whatever the setting.
   */
  events: z.enum(['auto', 'on', 'off'], { error: 'expected "auto", "on" or "off"' }).default('auto'),
  /** Polling of AWS APIs. */
  poll: z
    .strictObject({
      minIntervalMs: ms().default(250), // ms
      maxIntervalMs: ms().default(5000), // ms
      factor: z.number().min(1).default(1.5),
    })
    .prefault({}),
  /** HTTP checks against the load balancer. */
  probe: z
    .strictObject({
      intervalMs: ms().default(200), // ms between traffic probe requests
      requestTimeoutMs: ms().default(2000), // ms per request
      consecutive: intFromEnv(z.number().int().positive()).default(5), // good answers in a row for "live"
      everyTarget: boolFromEnv.default(true),
      path: z.string().startsWith('/').default('/version'),
    })
    .prefault({}),
  /**
   * Identifies this run in resource names (`cph-<run id>-*`), the `codepipeline-harness:run` tag, commit messages
   * and versions; what `codepipeline-harness sweep --run` takes. One rule ({@link RUN_ID_RULE}); an id that breaks
   * it is refused, never replaced. @default a fresh random id (`newRunId()`), printed at the start of a run
   */
  runId: z
    .string({ error: `expected a run id of ${RUN_ID_RULE}` })
    .regex(RUN_ID_PATTERN, `expected a run id of ${RUN_ID_RULE}`)
    .default(() => newRunId()),
  /**
   * On an existing stack, teardown puts back the branch's tree as found and releases it (false), or keeps the
   * last version the run released live and only undoes what came after it (true): a failing test, an unhealthy
   * revision.
   */
  keepLastRelease: boolFromEnv.default(false),
  /**
   * `stack: ephemeral`: a CloudFormation service role (`RoleARN`) that creates and deletes the stack's resources,
   * so the run's own credentials need only CloudFormation and `iam:PassRole` of it (README "An ephemeral stack on
   * AWS"). @default none: the caller's credentials do the work
   */
  stackRoleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN (arn:aws:iam::123456789012:role/name)')
    .optional(),
  /** Tag key marking resources a run may touch although it did not create them (value must be "true"). */
  testTargetTag: name('codepipeline-harness:test-target'),
  /** How the harness follows a CodeDeploy blue/green deployment (aws-semantics §3.2, §3.9). */
  deploy: z
    .strictObject({
      /**
       * A release is live once traffic has shifted to green and blue is in its termination wait (the deployment is
       * still `InProgress`, `instanceTerminationWaitTimeStarted`: users get the new version); `followDeployment`
       * and the step "the deployment succeeds" then end there instead of at `Succeeded`, which comes only after
       * `terminationWaitTimeInMinutes`.
       */
      liveAtTrafficShift: boolFromEnv.default(false),
      /**
       * A deployment waiting in `Ready` (`deploymentReadyOption` STOP_DEPLOYMENT) is continued with
       * ContinueDeployment, so traffic is rerouted; off, a deployment in `Ready` stops the wait with an error
       * naming this setting.
       */
      continueReady: boolFromEnv.default(false),
      /**
       * `stack: ephemeral` with blue/green: minutes CodeDeploy keeps blue instances after a successful deployment
       * before terminating them (`terminationWaitTimeInMinutes`; the sandbox scales it by its time scale).
       */
      blueTerminationMinutes: intFromEnv(z.number().int().min(0).max(2880)).default(1), // min
    })
    .prefault({}),
});

const timeScaleSchema = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
  z
    .number({ error: `expected a number above 0 and at most ${MAX_TIME_SCALE}` })
    .positive(`expected a number above 0 and at most ${MAX_TIME_SCALE}`)
    .max(
      MAX_TIME_SCALE,
      `expected at most ${MAX_TIME_SCALE} (AWS's own durations; below 1 the sandbox is faster)`,
    ),
);

/**
 * The time scale of a sandbox the harness or the steps start (AWS-defined durations are multiplied by it), checked
 * against its bounds: above 0, at most {@link MAX_TIME_SCALE}.
 *
 * @param where what set it, for the error (`HARNESS_TIME_SCALE`, `Harness.start({ timeScale })`)
 * @throws ConfigError naming `where`, the value and the bounds.
 * @example
 * ```ts
 * sandboxTimeScale(process.env.HARNESS_TIME_SCALE ?? 0.02, 'HARNESS_TIME_SCALE'); // 0.02
 * ```
 */
export function sandboxTimeScale(value: unknown, where: string): number {
  const result = timeScaleSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    `${where}: ${result.error.issues[0]!.message}, got ${JSON.stringify(value)}; fix: set ${where} to a time scale like 0.02`,
    { key: where, source: where },
    { cause: result.error },
  );
}

/** The validated configuration, every default applied. */
export type HarnessConfig = Omit<z.output<typeof HarnessConfigSchema>, 'stack'> & {
  stack: 'ephemeral' | 'existing';
};

/**
 * How long one release may take by the config's own deadlines (finding the execution, then the source, build,
 * approval and deploy stages, then the live check), in ms. Use it as a test runner's timeout, so the harness's
 * own deadline, which names the last state it saw, always fires before the runner's.
 *
 * @example
 * ```ts
 * it('releases', async () => { await harness.release(); }, releaseTimeout(harness.config));
 * ```
 */
export function releaseTimeout(config: Pick<HarnessConfig, 'timeouts'>): number {
  const t = config.timeouts;
  return t.findExecution + t.source + t.build + t.approval + t.deploy + t.live;
}
/** What callers may pass: every field optional, durations as numbers or strings. */
export type HarnessConfigInput = z.input<typeof HarnessConfigSchema>;

/** Env var → config path. Durations accept units; the source token is NOT here (only the NAME of its env var). */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  HARNESS_TARGET: 'target',
  HARNESS_STACK: 'stack',
  HARNESS_REGION: 'region',
  HARNESS_ENDPOINT: 'endpoint',
  HARNESS_SANDBOX_ACCESS_KEY_ID: 'sandboxCredentials.accessKeyId',
  HARNESS_SANDBOX_SECRET_ACCESS_KEY: 'sandboxCredentials.secretAccessKey',
  HARNESS_PIPELINE_NAME: 'pipelineName',
  HARNESS_STAGE_SOURCE: 'stages.source',
  HARNESS_STAGE_BUILD: 'stages.build',
  HARNESS_STAGE_APPROVAL: 'stages.approval',
  HARNESS_STAGE_DEPLOY: 'stages.deploy',
  HARNESS_APPROVAL_ACTION: 'approvalActionName',
  HARNESS_APPLICATION_NAME: 'applicationName',
  HARNESS_DEPLOYMENT_GROUP: 'deploymentGroupName',
  HARNESS_LOAD_BALANCER: 'loadBalancerName',
  HARNESS_LISTENER_PORT: 'listenerPort',
  HARNESS_APP_URL: 'appUrl',
  HARNESS_SOURCE_REPOSITORY_URL: 'source.repositoryUrl',
  HARNESS_SOURCE_BRANCH: 'source.branch',
  HARNESS_SOURCE_APP_DIR: 'source.appDir',
  HARNESS_SOURCE_AUTH: 'source.auth.type',
  HARNESS_SOURCE_TOKEN_ENV: 'source.auth.tokenEnv',
  HARNESS_TIMEOUT_FIND_EXECUTION: 'timeouts.findExecution',
  HARNESS_TIMEOUT_SOURCE: 'timeouts.source',
  HARNESS_TIMEOUT_BUILD: 'timeouts.build',
  HARNESS_TIMEOUT_APPROVAL: 'timeouts.approval',
  HARNESS_TIMEOUT_DEPLOY: 'timeouts.deploy',
  HARNESS_TIMEOUT_STAGE: 'timeouts.stage',
  HARNESS_TIMEOUT_LIVE: 'timeouts.live',
  HARNESS_TIMEOUT_ROLLBACK: 'timeouts.rollback',
  HARNESS_TIMEOUT_TEARDOWN: 'timeouts.teardown',
  HARNESS_TIMEOUT_STACK: 'timeouts.stack',
  HARNESS_STACK_ROLE_ARN: 'stackRoleArn',
  HARNESS_BLUE_TERMINATION_MINUTES: 'deploy.blueTerminationMinutes',
  HARNESS_EVENTS: 'events',
  HARNESS_POLL_MIN_INTERVAL_MS: 'poll.minIntervalMs',
  HARNESS_POLL_MAX_INTERVAL_MS: 'poll.maxIntervalMs',
  HARNESS_PROBE_INTERVAL_MS: 'probe.intervalMs',
  HARNESS_PROBE_REQUEST_TIMEOUT_MS: 'probe.requestTimeoutMs',
  HARNESS_LIVE_CONSECUTIVE: 'probe.consecutive',
  HARNESS_LIVE_EVERY_TARGET: 'probe.everyTarget',
  HARNESS_RUN_ID: 'runId',
  HARNESS_TEST_TARGET_TAG: 'testTargetTag',
  HARNESS_KEEP_LAST_RELEASE: 'keepLastRelease',
  HARNESS_LIVE_AT_TRAFFIC_SHIFT: 'deploy.liveAtTrafficShift',
  HARNESS_CONTINUE_READY: 'deploy.continueReady',
};

export interface LoadConfigOptions {
  /** Values from code: the highest precedence. */
  overrides?: HarnessConfigInput;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** JSON or YAML file; @default env.HARNESS_CONFIG */
  file?: string;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

/** Per config loadConfig made: which layer set each leaf path (absent = the default). */
const PROVENANCE = new WeakMap<HarnessConfig, ReadonlyMap<string, string>>();

/**
 * Where a setting of a config {@link loadConfig} made came from: `'default'` when nothing set it, else the
 * layer: an env var name (`HARNESS_REGION`, `AWS_REGION`), the config file's path, or `'code'`. A config copied
 * with a spread is not known: `'unknown'`.
 *
 * @example
 * ```ts
 * settingSource(loadConfig({ env: {} }), 'region'); // 'default'
 * ```
 */
export function settingSource(config: HarnessConfig, path: string): string {
  const sources = PROVENANCE.get(config);
  if (!sources) return 'unknown';
  return sources.get(path) ?? 'default';
}

/** A copy of `config` with `changes`, keeping what {@link settingSource} knows (`changed` names their new source). */
export function withSettings(
  config: HarnessConfig,
  changes: Partial<HarnessConfig>,
  changed: string,
): HarnessConfig {
  const next = { ...config, ...changes };
  const sources = new Map(PROVENANCE.get(config) ?? []);
  for (const key of Object.keys(changes)) sources.set(key, changed);
  PROVENANCE.set(next, sources);
  return next;
}

/** Keys that would reach an object's prototype (and through it, every object of the process) if merged. */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Deep merge; `source` records, per leaf path, the layer that set it.
 *
 * @throws ConfigError for a `__proto__`, `constructor` or `prototype` key at any depth: merged, it would change
 *   `Object.prototype` (prototype pollution), so it is refused, never skipped silently.
 */
function merge(into: Tree, from: Tree, layer: string, sources: Map<string, string>, prefix = ''): void {
  for (const [key, value] of Object.entries(from)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (UNSAFE_KEYS.has(key)) {
      throw new ConfigError(
        `config key ${path} (${layer}) is refused: "${key}" is not a setting, and merging it would change every ` +
          'object of the process (prototype pollution); remove it',
        { key: path, source: layer },
      );
    }
    if (value === undefined) continue;
    if (isTree(value)) {
      if (!isTree(into[key])) into[key] = {};
      merge(into[key] as Tree, value, layer, sources, path);
    } else {
      into[key] = value;
      sources.set(path, layer);
    }
  }
}

function readFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `config file ${file} cannot be read (${(error as Error).message}); fix the path in HARNESS_CONFIG or loadConfig({ file })`,
      { key: '(file)', source: file },
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      `config file ${file} is not valid JSON/YAML: ${(error as Error).message}`,
      { key: '(file)', source: file },
      { cause: error },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTree(parsed)) {
    throw new ConfigError(`config file ${file} must hold an object of settings, got ${typeof parsed}`, {
      key: '(file)',
      source: file,
    });
  }
  return parsed;
}

function envOf(path: string): string | undefined {
  return Object.entries(ENV_KEYS).find(([, p]) => p === path)?.[0];
}

/**
 * Loads and validates the configuration: defaults < file (JSON or YAML) < env `HARNESS_*` < `overrides`.
 *
 * @throws ConfigError naming the key (and env var), what was wrong and the fix.
 * @example
 * ```ts
 * const config = loadConfig({ overrides: { endpoint: sandbox.endpoint, timeouts: { deploy: '5m' } } });
 * config.timeouts.deploy; // 300000
 * ```
 */
export function loadConfig(options: LoadConfigOptions = {}): HarnessConfig {
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  const merged: Tree = {};
  const file = options.file ?? env.HARNESS_CONFIG;
  if (file) merge(merged, readFile(file), file, sources);

  const fromEnv: Tree = {};
  if (!env.HARNESS_REGION && (env.AWS_REGION || env.AWS_DEFAULT_REGION)) {
    setPath(fromEnv, 'region', env.AWS_REGION || env.AWS_DEFAULT_REGION);
  }
  for (const [variable, path] of Object.entries(ENV_KEYS)) {
    const value = env[variable];
    if (value !== undefined && value !== '') setPath(fromEnv, path, value);
  }
  // A token env name without an auth type means github-token.
  if (env.HARNESS_SOURCE_TOKEN_ENV && !env.HARNESS_SOURCE_AUTH && !isTree((merged.source as Tree)?.auth)) {
    setPath(fromEnv, 'source.auth.type', 'github-token');
  }
  const envLayer = new Map<string, string>();
  merge(merged, fromEnv, 'env', envLayer);
  for (const path of envLayer.keys()) sources.set(path, envOf(path) ?? 'AWS_REGION');
  if (options.overrides) merge(merged, options.overrides as Tree, 'code', sources);

  const result = HarnessConfigSchema.safeParse(merged);
  if (result.success) {
    const { stack, ...parsed } = result.data;
    const config: HarnessConfig = {
      ...parsed,
      stack: stack ?? (parsed.target === 'aws' ? 'existing' : 'ephemeral'),
    };
    PROVENANCE.set(config, sources);
    return config;
  }
  const issue = result.error.issues[0]!;
  let path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    path = [path, keys[0]].filter(Boolean).join('.');
    throw new ConfigError(
      `config key ${path} is not a setting (${sources.get(path) ?? 'code'}); ` +
        (path.endsWith('.token')
          ? 'never put a token in config: put it in an env var and set source.auth.tokenEnv to its name'
          : 'check the spelling against HarnessConfig'),
      { key: path, source: sources.get(path) ?? 'code' },
      { cause: result.error },
    );
  }
  const source = sources.get(path) ?? sources.get(`${path}.type`) ?? 'default';
  const value = path
    .split('.')
    .reduce<unknown>((node, key) => (isTree(node) ? node[key] : undefined), merged);
  const variable = envOf(path) ?? envOf(`${path}.type`);
  const named =
    source === 'default' || source === 'code' || !variable || source !== variable
      ? path
      : `${variable} (${path})`;
  const fix = variable
    ? `set ${variable} or ${path} in the config file/code`
    : `set ${path} in the config file/code`;
  // A bad tokenEnv may be the token itself: the message names where it came from, never the value.
  const got = path === 'source.auth.tokenEnv' ? '(not shown: it may be the token)' : JSON.stringify(value);
  throw new ConfigError(
    `${named}: ${issue.message}, got ${got} from ${source}; fix: ${fix} to a valid value`,
    { key: path, source },
    { cause: result.error },
  );
}
