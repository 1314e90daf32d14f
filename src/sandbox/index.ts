/**
 * The sandbox: a wire-compatible local CodePipeline, CodeDeploy, ELBv2, AutoScaling, CodeCommit, S3 and
 * CloudFormation, with the CodeBuild builds and CloudWatch Logs streams of its pipelines' builds, on one edge port
 * of 127.0.0.1, for the AWS SDKs, the AWS CLI and git.
 *
 * @example
 * import { startSandbox } from 'codepipeline-harness/sandbox';
 * const sandbox = await startSandbox({ timeScale: 0.01 });
 * // aws --endpoint-url ${sandbox.endpoint} codepipeline list-pipelines
 * await sandbox.stop();
 */
import { mkdirSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  assertCredentials,
  credentialScope,
  credentialsFromEnv,
  DEFAULT_CREDENTIALS,
  type SandboxCredentials,
} from './auth/index.ts';
import { Clock } from './clock.ts';
import { controlRoute } from './control.ts';
import { ProcessTracker } from './processes.ts';
import { DeferredWatchdog, WATCHDOG_DELAY_MS } from './watchdog-deferred.ts';
import { EventLog } from './events.ts';
import { type FaultSpec, Faults, faultSpecFromEnv } from './faults.ts';
import { type EndedGroup, endLeftovers } from './process-records.ts';
import { Dispatcher, looksJson } from './protocol/dispatch.ts';
import { buildRegionServices, Regions, type SandboxServices } from './regions.ts';
import { S3Service } from './s3/index.ts';
import { EdgeServer } from './server.ts';
import type { SandboxRuntime } from './types.ts';

export type { FaultRule, FaultSpec, FaultStats, FaultsOptions, ParsedSpec } from './faults.ts';
export {
  FAULTS_ENV,
  FaultRuleSchema,
  Faults,
  FaultSpecError,
  FaultSpecSchema,
  faultSpecFromEnv,
  readFaultSpec,
} from './faults.ts';
export type { EventLog, SandboxEvent } from './events.ts';
export type { SandboxRuntime, ServiceName } from './types.ts';
export type { Clock } from './clock.ts';
export type { GroupLabel, ProcessTracker, ProcessTrackerOptions, TrackedGroup } from './processes.ts';
export type { EndedGroup, GroupRecord, LeftoversReport, ProcessIdentity } from './process-records.ts';
export { describeEnded, endLeftovers } from './process-records.ts';
export type { EndLeftoversOptions } from './process-records.ts';
export type { SandboxServices } from './regions.ts';
export type { SandboxCredentials, SandboxRequestToSign, SignSandboxOptions } from './auth/index.ts';
export {
  CREDENTIALS_ENV,
  credentialsFromEnv,
  DEFAULT_CREDENTIALS,
  randomCredentials,
  signSandboxRequest,
} from './auth/index.ts';
export type { RegionalS3 } from './s3/index.ts';
export { isRegionName } from './regions.ts';

/** The env var naming a file a sandbox appends its API call and fault counts to when it stops. */
export const STATS_ENV = 'HARNESS_SANDBOX_STATS';

/** Options of {@link startSandbox}. Every field is optional. */
export interface SandboxOptions {
  /** Edge port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Multiplier for durations AWS defines (health check interval, deregistration delay, ...). @default 1 */
  timeScale?: number;
  /**
   * Faults active from the start; change them later with `sandbox.faults.set()` or `PUT /_sandbox/faults`.
   * `[]` for none whatever the environment says.
   * @default the spec `HARNESS_SANDBOX_FAULTS` names (a JSON/YAML file path or inline JSON), else none
   */
  faults?: FaultSpec;
  /**
   * Where `HARNESS_SANDBOX_FAULTS` and `HARNESS_SANDBOX_STATS` are read (when `HARNESS_SANDBOX_STATS` names a
   * file, the sandbox appends one JSON line of `faults.stats()` to it when it stops: how `npm run chaos` counts
   * the API calls of a cucumber run). @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * How long after a failed or stopped deployment's final status CodeDeploy writes its `rollbackInfo` (and starts
   * the rollback deployment), in AWS milliseconds, multiplied by `timeScale` like every AWS duration. On AWS the
   * link comes after the status; 0 writes it with the status. Change it later with
   * `sandbox.services.codedeploy.settings.rollbackLinkDelayMs`.
   * @default 15000 (300 ms at time scale 0.02)
   */
  rollbackLinkDelayMs?: number;
  /**
   * Where repositories, instances and builds live. Kept on stop when given; a temp dir removed on stop otherwise.
   * Process groups are recorded under `<dataDir>/processes/` while they run; starting on a data dir first ends
   * the groups a killed sandbox left there (`Sandbox.leftovers`).
   */
  dataDir?: string;
  /**
   * Start a watchdog process that ends the sandbox's process groups if this process dies without stopping
   * (SIGKILL, a crash); it exits when the sandbox stops. @default true
   */
  watchdog?: boolean;
  /** The one account id of every region. @default '000000000000' */
  accountId?: string;
  /**
   * The default region: where calls without a region land (unsigned API calls, git and build-log URLs
   * without a `/<region>/` segment) and whose services `sandbox.services` holds. Every other region is served
   * too, built on its first call. @default 'us-east-1'
   */
  region?: string;
  /** Unexpected internal failures are reported here (the client already got a 500). @default console.error */
  onInternalError?: (error: unknown, where: string) => void;
  /**
   * The only credentials the sandbox accepts: every API call, control route and git request must be signed with
   * them (AWS's errors otherwise).
   * @default `HARNESS_SANDBOX_ACCESS_KEY_ID` / `HARNESS_SANDBOX_SECRET_ACCESS_KEY` of `env` when set, else test/test
   */
  credentials?: SandboxCredentials;
}

/** A running sandbox. */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`: give it to SDK clients (`endpoint`) and the CLI (`--endpoint-url`). */
  readonly endpoint: string;
  /** What clients must sign with: SDK clients' `credentials`; the CLI's `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`. */
  readonly credentials: SandboxCredentials;
  readonly port: number;
  /** The default region's runtime. */
  readonly runtime: SandboxRuntime;
  /** The default region's services. */
  readonly services: SandboxServices;
  /**
   * Another region's services (built on first use; each region has its own state, as on AWS). Throws a
   * RangeError for a name that is no AWS region name.
   * @example sandbox.region('eu-west-1').codepipeline.store.pipelines.size
   */
  region(name: string): SandboxServices;
  /** The regions that have been called so far (the default one first). */
  regions(): string[];
  /** The active fault injection (also at `/_sandbox/faults`). */
  readonly faults: Faults;
  /** Process groups a killed sandbox had left in `dataDir`, ended before this one started (empty when none). */
  readonly leftovers: readonly EndedGroup[];
  /**
   * Stops every service (reverse build order, the fleet last), ends every process group the sandbox
   * started, cancels its timers, closes the port and its connections and removes the temp data dir it
   * created. Idempotent; rejects with an AggregateError listing what failed after doing all of it.
   */
  stop(): Promise<void>;
}

/**
 * Starts a sandbox and resolves once it answers on its port.
 *
 * @example
 * const sandbox = await startSandbox({ port: 0, timeScale: 0.05, faults: [{ type: 'throttle', service: 'elbv2', rate: 0.1 }] });
 * const client = new CodePipelineClient({ endpoint: sandbox.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer 0..65535 (0 = a free port), got ${port}`);
  }
  const clock = new Clock(options.timeScale ?? 1);
  const onInternalError =
    options.onInternalError ??
    ((error: unknown, where: string) => console.error(`[sandbox] ${where}:`, error));
  const env = options.env ?? process.env;
  let faults: Faults;
  try {
    faults = new Faults(options.faults ?? (await faultSpecFromEnv(env)), { sleep: (ms) => clock.sleep(ms) });
  } catch (error) {
    clock.stop();
    throw error;
  }
  let credentials: SandboxCredentials;
  try {
    credentials = options.credentials ?? credentialsFromEnv(env) ?? DEFAULT_CREDENTIALS;
    assertCredentials(credentials, options.credentials ? 'credentials' : 'the sandbox credentials');
  } catch (error) {
    clock.stop();
    throw error;
  }
  const statsFile = env[STATS_ENV]?.trim() || undefined;
  const events = new EventLog();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cph-sandbox-')));
  // What a killed sandbox left on this data dir (its apps still hold their ports) ends before anything starts.
  const leftovers = ownsDataDir ? [] : (await endLeftovers(dataDir)).ended;
  // The watchdog starts before the first process group (what it guards), else shortly after the sandbox listens:
  // not while the sandbox loads and answers its first call (watchdog-deferred.ts).
  const watchdog =
    options.watchdog === false ? undefined : new DeferredWatchdog({ dataDir, removeDataDir: ownsDataDir });
  const processes = new ProcessTracker({ dataDir, beforeSpawn: () => watchdog?.start() });

  let regions: Regions | undefined;
  // One S3 for every region (bucket names are global); its route goes first: S3 paths are any bucket name.
  let s3: S3Service | undefined;
  const server = new EdgeServer({
    routes: () => (regions ? [...(s3?.routes ?? []), regions.route()] : []),
    control: controlRoute({
      faults,
      events,
      services: () => [...(regions?.default.list ?? []), ...(s3 ? [s3] : [])],
      regions: () => regions?.all().map((r) => r.name) ?? [],
      reset: async () => {
        await regions?.reset();
        await s3?.reset();
      },
    }),
    onError: onInternalError,
    credentials,
    gitRegions: () => regions?.all().map((r) => r.name) ?? [],
  });

  let boundPort: number;
  try {
    boundPort = await server.listen(port);
  } catch (error) {
    clock.stop();
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${boundPort}`;
  const accountId = options.accountId ?? '000000000000';
  const defaultRegion = options.region ?? 'us-east-1';
  // Each region: its own data directory (the default region keeps the bare one) and URL prefix `/<region>` for
  // its git and build-log URLs (a URL without one lands in the default region).
  const runtimeOf = (region: string): SandboxRuntime => {
    const own = region === defaultRegion;
    const regionDir = own ? dataDir : join(dataDir, 'regions', region);
    if (!own) mkdirSync(regionDir, { recursive: true });
    return {
      accountId,
      region,
      clock,
      events,
      processes,
      dataDir: regionDir,
      edgeUrl: () => `${endpoint}/${region}`,
      edgePort: () => boundPort,
    };
  };

  try {
    watchdog?.startAfter(WATCHDOG_DELAY_MS, (error) => onInternalError(error, 'starting the watchdog'));
    s3 = new S3Service(runtimeOf(defaultRegion), { onError: onInternalError, faults });
    const shared = s3;
    const built = new Regions({
      defaultRegion,
      runtime: runtimeOf,
      build: (runtime, region) =>
        buildRegionServices(runtime, {
          region,
          s3: shared,
          ...(options.rollbackLinkDelayMs !== undefined
            ? { rollbackLinkDelayMs: options.rollbackLinkDelayMs }
            : {}),
        }),
    });
    regions = built;
    server.dispatcher = new Dispatcher(built.default.list, {
      faults,
      context: (req) => ({
        region: built.forRequest(
          credentialScope(req.headers, req.url)?.region,
          looksJson(req.headers) ? 'json' : 'query',
        ).name,
        accountId,
      }),
      serviceIn: (name, region) => {
        const service = built.service(built.get(region), name);
        if (!service) throw new Error(`no ${name} service in region ${region}`);
        return service;
      },
      onInternalError,
    });
  } catch (error) {
    await shutdown().catch(() => {});
    throw new Error(`sandbox failed to start: ${(error as Error).message}`, { cause: error });
  }

  async function shutdown(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (error) {
        failures.push(new Error(`${what}: ${(error as Error)?.message ?? error}`, { cause: error }));
      }
    };
    // Close the port first so nothing new arrives while services wind down.
    await attempt('closing the edge port', () => server.close());
    await regions?.stop(attempt);
    await attempt('stopping s3', () => s3?.stop());
    await attempt('ending process groups', () => processes.kill());
    processes.close();
    await attempt('stopping the watchdog', () => watchdog?.stop());
    clock.stop();
    if (statsFile)
      await attempt(`writing the API call counts to ${statsFile} (${STATS_ENV})`, async () => {
        await mkdir(dirname(statsFile), { recursive: true });
        await appendFile(statsFile, `${JSON.stringify({ endpoint, ...faults.stats() })}\n`);
      });
    if (ownsDataDir)
      await attempt(`removing ${dataDir}`, () =>
        rm(dataDir, { recursive: true, force: true, maxRetries: 3 }),
      );
    if (failures.length > 0)
      throw new AggregateError(failures, `sandbox stop had ${failures.length} failure(s)`);
  }

  let stopping: Promise<void> | undefined;
  const all = regions!;
  return {
    endpoint,
    credentials,
    port: boundPort,
    runtime: all.default.runtime,
    services: all.default.services,
    region: (name) => all.get(name).services,
    regions: () => all.all().map((r) => r.name),
    faults,
    leftovers,
    stop: () => {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
