/**
 * The sandbox: a wire-compatible local CodePipeline, CodeDeploy, ELBv2, AutoScaling and CodeCommit, with the
 * CodeBuild builds and CloudWatch Logs streams of its pipelines' builds, on one edge port of 127.0.0.1, for the
 * AWS SDKs, the AWS CLI and git.
 *
 * @example
 * import { startSandbox } from 'codepipeline-harness/sandbox';
 * const sandbox = await startSandbox({ timeScale: 0.01 });
 * // aws --endpoint-url ${sandbox.endpoint} codepipeline list-pipelines
 * await sandbox.stop();
 */
import { appendFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AutoScalingService } from './autoscaling/index.ts';
import { Clock } from './clock.ts';
import { CodeBuildService } from './codebuild/index.ts';
import { CodeCommitService } from './codecommit/index.ts';
import { CodeDeployService } from './codedeploy/index.ts';
import { CodePipelineService } from './codepipeline/index.ts';
import { controlRoute } from './control.ts';
import { Elbv2Service } from './elbv2/index.ts';
import { EventLog } from './events.ts';
import { type FaultSpec, Faults, faultSpecFromEnv } from './faults.ts';
import { Fleet } from './fleet/index.ts';
import { LogsService } from './logs/index.ts';
import { ProcessTracker } from './processes.ts';
import { Dispatcher } from './protocol/dispatch.ts';
import { EdgeServer } from './server.ts';
import type { SandboxRuntime, SandboxService } from './types.ts';

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
export type { ProcessTracker, TrackedGroup } from './processes.ts';

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
  /** Where repositories, instances and builds live. Kept on stop when given; a temp dir removed on stop otherwise. */
  dataDir?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Unexpected internal failures are reported here (the client already got a 500). @default console.error */
  onInternalError?: (error: unknown, where: string) => void;
}

/** The service instances of a running sandbox, for in-process use (tests, the harness's sandbox adapter). */
export interface SandboxServices {
  readonly fleet: Fleet;
  readonly autoscaling: AutoScalingService;
  readonly elbv2: Elbv2Service;
  readonly codedeploy: CodeDeployService;
  readonly codecommit: CodeCommitService;
  readonly logs: LogsService;
  readonly codebuild: CodeBuildService;
  readonly codepipeline: CodePipelineService;
}

/** A running sandbox. */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`: give it to SDK clients (`endpoint`) and the CLI (`--endpoint-url`). */
  readonly endpoint: string;
  readonly port: number;
  readonly runtime: SandboxRuntime;
  readonly services: SandboxServices;
  /** The active fault injection (also at `/_sandbox/faults`). */
  readonly faults: Faults;
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
  const statsFile = env[STATS_ENV]?.trim() || undefined;
  const events = new EventLog();
  const processes = new ProcessTracker();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cph-sandbox-')));

  let services: SandboxService[] = [];
  const server = new EdgeServer({
    routes: () => services.flatMap((s) => s.routes ?? []),
    control: controlRoute({
      faults,
      events,
      services: () => services,
      reset: async () => {
        for (const s of [...services].reverse()) await s.reset();
      },
    }),
    onError: onInternalError,
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
  const runtime: SandboxRuntime = {
    accountId: options.accountId ?? '000000000000',
    region: options.region ?? 'us-east-1',
    clock,
    events,
    processes,
    dataDir,
    edgeUrl: () => endpoint,
    edgePort: () => boundPort,
  };

  let fleet: Fleet | undefined;
  let built: SandboxServices | undefined;
  try {
    fleet = new Fleet(runtime);
    const autoscaling = new AutoScalingService(runtime, { fleet });
    const elbv2 = new Elbv2Service(runtime, { fleet });
    const codedeploy = new CodeDeployService(
      runtime,
      { fleet, autoscaling, elbv2 },
      options.rollbackLinkDelayMs !== undefined ? { rollbackLinkDelayMs: options.rollbackLinkDelayMs } : {},
    );
    const codecommit = new CodeCommitService(runtime);
    const logs = new LogsService(runtime);
    const codebuild = new CodeBuildService(runtime, { logs });
    const codepipeline = new CodePipelineService(runtime, { codecommit, codedeploy, codebuild });
    built = { fleet, autoscaling, elbv2, codedeploy, codecommit, logs, codebuild, codepipeline };
    services = [autoscaling, elbv2, codedeploy, codecommit, logs, codebuild, codepipeline];
    server.dispatcher = new Dispatcher(services, {
      faults,
      context: () => ({ region: runtime.region, accountId: runtime.accountId }),
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
    for (const s of [...services].reverse()) await attempt(`stopping ${s.name}`, () => s.stop());
    const fleetStop = (fleet as { stop?: () => Promise<void> } | undefined)?.stop;
    if (fleet && typeof fleetStop === 'function')
      await attempt('stopping the fleet', () => fleetStop.call(fleet));
    await attempt('ending process groups', () => processes.kill());
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
  return {
    endpoint,
    port: boundPort,
    runtime,
    services: built!,
    faults,
    stop: () => {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
