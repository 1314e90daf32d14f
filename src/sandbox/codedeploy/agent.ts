/**
 * The sandbox's CodeDeploy agent: what the real agent does on an instance, done on a fleet instance.
 * DownloadBundle copies the revision into the deployment archive, Install copies the appspec `files` (absolute
 * destinations mapped under the instance root), and each scriptable event runs its `hooks` scripts with bash, in
 * their own process group owned by the instance, with the agent's environment and the hook's timeout
 * (aws-semantics 3.6 / 3.7; agent source `hook_executor.rb`).
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, readdir, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { type Instance, Fleet } from '../fleet/index.ts';
import { ProcessTracker } from '../processes.ts';
import type { SandboxRuntime } from '../types.ts';
import { type AppSpec, AppSpecError, readAppSpec } from './appspec.ts';
import type { Diagnostics, RevisionLocation } from './store.ts';

/** Who is deploying what, for the environment and the paths (the agent's view of a deployment). */
export interface AgentContext {
  instance: Instance;
  deploymentId: string;
  applicationName: string;
  deploymentGroupName: string;
  deploymentGroupId: string;
  revision?: RevisionLocation;
  /** Aborted when the sandbox stops: running scripts are killed. */
  signal: AbortSignal;
}

export interface EventOutcome {
  ok: boolean;
  diagnostics: Diagnostics;
}

/** logTail keeps the last 4 KB of the hook log, as the agent reports it (aws-semantics 3.5). */
const LOG_TAIL_BYTES = 4096;
/** After SIGTERM on a timed-out script's group, how long before SIGKILL. */
const KILL_GRACE_MS = 2000;

function success(logTail = ''): EventOutcome {
  return { ok: true, diagnostics: { errorCode: 'Success', scriptName: '', message: 'Succeeded', logTail } };
}

function failure(
  errorCode: Diagnostics['errorCode'],
  message: string,
  scriptName = '',
  logTail = '',
): EventOutcome {
  return { ok: false, diagnostics: { errorCode, scriptName, message, logTail } };
}

function tail(text: string): string {
  return text.length > LOG_TAIL_BYTES ? text.slice(-LOG_TAIL_BYTES) : text;
}

/** Maps an appspec absolute destination under the instance root: `/opt/x` → `<root>/opt/x`. */
export function underRoot(root: string, absolute: string): string {
  const mapped = resolve(root, `.${sep}${absolute.replace(/^\/+/, '')}`);
  if (mapped !== root && !mapped.startsWith(root + sep)) {
    throw new AppSpecError(
      `The destination '${absolute}' leaves the instance root; use an absolute path such as /opt/app`,
    );
  }
  return mapped;
}

/**
 * One agent serves every instance of the sandbox (it keeps, per instance and deployment group, the last
 * successful and the most recent bundle, as the real agent's deployment-instructions files do).
 *
 * @example
 * const agent = new Agent(runtime);
 * const ctx = { instance, deploymentId: 'd-ABCDEFGH1', applicationName: 'web', deploymentGroupName: 'dg',
 *   deploymentGroupId: dgId, signal: AbortSignal.timeout(600_000) };
 * await agent.downloadBundle(ctx, revisionDir);
 * await agent.install(ctx);
 * const outcome = await agent.runHooks(ctx, 'ApplicationStart', agent.archiveDir(ctx));
 * outcome.diagnostics.errorCode; // 'Success' | 'ScriptFailed' | 'ScriptTimedOut' | ...
 */
export class Agent {
  readonly runtime: SandboxRuntime;
  /** `<instance>|<deployment group id>` → archive dir of the last revision that deployed successfully there. */
  readonly #lastSuccessful = new Map<string, string>();
  /** `<instance>|<deployment group id>` → archive dir of the most recent deployment there. */
  readonly #mostRecent = new Map<string, string>();

  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
  }

  /** `<root>/opt/codedeploy-agent/deployment-root`, as on Linux. */
  static deploymentRoot(instance: Instance): string {
    return join(instance.root, 'opt', 'codedeploy-agent', 'deployment-root');
  }

  archiveDir(ctx: AgentContext): string {
    return join(
      Agent.deploymentRoot(ctx.instance),
      ctx.deploymentGroupId,
      ctx.deploymentId,
      'deployment-archive',
    );
  }

  lastSuccessfulBundle(ctx: AgentContext): string | undefined {
    return this.#lastSuccessful.get(`${ctx.instance.instanceId}|${ctx.deploymentGroupId}`);
  }

  mostRecentBundle(ctx: AgentContext): string | undefined {
    return this.#mostRecent.get(`${ctx.instance.instanceId}|${ctx.deploymentGroupId}`);
  }

  /** Records that the deployment's revision is now the instance's last successful one (its ApplicationStop next time). */
  markSucceeded(ctx: AgentContext): void {
    this.#lastSuccessful.set(`${ctx.instance.instanceId}|${ctx.deploymentGroupId}`, this.archiveDir(ctx));
  }

  /** Forgets everything (reset). */
  clear(): void {
    this.#lastSuccessful.clear();
    this.#mostRecent.clear();
  }

  /** DownloadBundle: copies the revision into this deployment's archive and checks its appspec. */
  async downloadBundle(ctx: AgentContext, revisionDir: string): Promise<EventOutcome> {
    const archive = this.archiveDir(ctx);
    try {
      await rm(archive, { recursive: true, force: true });
      await mkdir(dirname(archive), { recursive: true });
      await cp(revisionDir, archive, { recursive: true });
    } catch (error) {
      return failure(
        'UnknownError',
        `The revision could not be copied to the instance: ${(error as Error).message}`,
      );
    }
    this.#mostRecent.set(`${ctx.instance.instanceId}|${ctx.deploymentGroupId}`, archive);
    try {
      readAppSpec(archive);
    } catch (error) {
      return failure('UnknownError', (error as Error).message.replace('<bundle>', archive));
    }
    return success();
  }

  /**
   * Install: removes what the previous deployment of this group installed (the agent's cleanup file), then copies
   * each `files` entry. DISALLOW (the default) fails on a file that is already there; OVERWRITE replaces it;
   * RETAIN keeps it.
   */
  async install(
    ctx: AgentContext,
    fileExistsBehavior?: 'DISALLOW' | 'OVERWRITE' | 'RETAIN',
  ): Promise<EventOutcome> {
    const archive = this.archiveDir(ctx);
    const root = ctx.instance.root;
    const cleanupFile = join(
      Agent.deploymentRoot(ctx.instance),
      'deployment-instructions',
      `${ctx.deploymentGroupId}-cleanup`,
    );
    let spec: AppSpec;
    try {
      spec = readAppSpec(archive);
    } catch (error) {
      return failure('UnknownError', (error as Error).message.replace('<bundle>', archive));
    }
    const behavior = fileExistsBehavior ?? spec.fileExistsBehavior ?? 'DISALLOW';
    const previous = await readFile(cleanupFile, 'utf8').then(
      (text) => text.split('\n').filter(Boolean),
      () => [] as string[],
    );
    for (const file of previous) await rm(file, { force: true });
    const installed: string[] = [];
    try {
      for (const entry of spec.files) {
        const source = resolve(archive, `.${sep}${entry.source.replace(/^\/+/, '')}`);
        if (source !== archive && !source.startsWith(archive + sep)) {
          throw new AppSpecError(`files source '${entry.source}' leaves the bundle`);
        }
        const destination = underRoot(root, entry.destination);
        const info = await stat(source).catch(() => undefined);
        if (!info) throw new AppSpecError(`files source '${entry.source}' does not exist in the revision`);
        const pairs: [string, string][] = [];
        if (info.isDirectory()) {
          for (const d of await readdir(source, { recursive: true, withFileTypes: true })) {
            if (!d.isFile()) continue;
            const from = join(d.parentPath, d.name);
            pairs.push([from, join(destination, relative(source, from))]);
          }
        } else {
          pairs.push([source, join(destination, source.slice(dirname(source).length + 1))]);
        }
        for (const [from, to] of pairs) {
          const exists = await stat(to).then(
            () => true,
            () => false,
          );
          if (exists && behavior === 'DISALLOW') {
            throw new AppSpecError(
              `The deployment failed because a specified file already exists at this location: ${to}`,
            );
          }
          if (exists && behavior === 'RETAIN') continue;
          await mkdir(dirname(to), { recursive: true });
          await cp(from, to, { force: true });
          installed.push(to);
        }
      }
    } catch (error) {
      await mkdir(dirname(cleanupFile), { recursive: true });
      await writeFile(cleanupFile, installed.join('\n'));
      return failure('UnknownError', (error as Error).message);
    }
    await mkdir(dirname(cleanupFile), { recursive: true });
    await writeFile(cleanupFile, installed.join('\n'));
    return success();
  }

  /**
   * Runs the event's scripts from `bundle` (an archive dir) in list order; no bundle or no scripts = a no-op
   * success, as the agent reports it. The first failing script fails the event.
   */
  async runHooks(ctx: AgentContext, event: string, bundle: string | undefined): Promise<EventOutcome> {
    if (!bundle) return success();
    let spec: AppSpec;
    try {
      spec = readAppSpec(bundle);
    } catch (error) {
      return failure('UnknownError', (error as Error).message.replace('<bundle>', bundle));
    }
    const scripts = spec.hooks[event] ?? [];
    let log = '';
    for (const hook of scripts) {
      const result = await this.#runScript(ctx, event, bundle, hook.location, hook.timeout, hook.runas);
      log += result.log;
      if (!result.ok) return failure(result.errorCode, result.message, hook.location, tail(log));
    }
    return success(tail(log));
  }

  async #runScript(
    ctx: AgentContext,
    event: string,
    bundle: string,
    location: string,
    timeoutSeconds: number,
    runas?: string,
  ): Promise<{ ok: boolean; errorCode: Diagnostics['errorCode']; message: string; log: string }> {
    const where = runas ? `${location} run as user ${runas}` : location;
    const script = resolve(bundle, `.${sep}${location.replace(/^\/+/, '')}`);
    const info = await stat(script).catch(() => undefined);
    if (!info?.isFile()) {
      return {
        ok: false,
        errorCode: 'ScriptMissing',
        message: `Script does not exist at specified location: ${script}`,
        log: '',
      };
    }
    try {
      await chmod(script, info.mode | 0o111); // the agent makes scripts executable before running them
    } catch (error) {
      return {
        ok: false,
        errorCode: 'ScriptNotExecutable',
        message: `Script at specified location: ${where} is not executable: ${(error as Error).message}`,
        log: '',
      };
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LIFECYCLE_EVENT: event,
      DEPLOYMENT_ID: ctx.deploymentId,
      APPLICATION_NAME: ctx.applicationName,
      DEPLOYMENT_GROUP_NAME: ctx.deploymentGroupName,
      DEPLOYMENT_GROUP_ID: ctx.deploymentGroupId,
      ...bundleEnv(ctx.revision),
      // The sandbox contract (sample-app/README.md): where "/" is, which port the app takes, which instance this is.
      DEPLOY_ROOT: ctx.instance.root,
      PORT: String(ctx.instance.port),
      INSTANCE_ID: ctx.instance.instanceId,
    };
    const logFile = join(dirname(bundle), 'logs', 'scripts.log');
    await mkdir(dirname(logFile), { recursive: true });
    let log = '';
    const record = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const lines = chunk.toString('utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) log += `[${stream}]${line}\n`;
    };
    const started = this.runtime.clock.now();
    let child: ChildProcess;
    try {
      child = this.runtime.processes.spawn(Fleet.owner(ctx.instance.instanceId), 'bash', [script], {
        cwd: bundle,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      return {
        ok: false,
        errorCode: 'UnknownError',
        message: `Script at specified location: ${where} could not start: ${(error as Error).message}`,
        log,
      };
    }
    child.stdout?.on('data', (c: Buffer) => record('stdout', c));
    child.stderr?.on('data', (c: Buffer) => record('stderr', c));
    let timedOut = false;
    const pgid = child.pid;
    const killGroup = (signal: NodeJS.Signals) => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, signal);
      } catch {
        // already gone
      }
    };
    // The hook timeout is real work time (a script's own duration), so it is not scaled.
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    }, timeoutSeconds * 1000);
    const onAbort = () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (done) => {
        child.once('error', (error) => done({ code: null, signal: null, error }));
        // 'exit', not 'close': an app the script leaves running in the background may hold inherited pipes.
        child.once('exit', (code, signal) => done({ code, signal }));
      },
    );
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    if ((timedOut || ctx.signal.aborted) && pgid !== undefined) {
      // A killed script's group (its children too) must be gone before the next event runs on the instance.
      const until = Date.now() + KILL_GRACE_MS + 3000;
      while (ProcessTracker.alive(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setImmediate(r));
    child.stdout?.destroy();
    child.stderr?.destroy();
    await appendFile(
      logFile,
      `${started.toISOString()} ${event} ${location} (instance ${ctx.instance.instanceId})\n${log}`,
    ).catch(() => {});
    if (timedOut) {
      return {
        ok: false,
        errorCode: 'ScriptTimedOut',
        message: `Script at specified location: ${where} failed to complete in ${timeoutSeconds} seconds`,
        log,
      };
    }
    if (exit.error) {
      return {
        ok: false,
        errorCode: 'UnknownError',
        message: `Script at specified location: ${where} could not run: ${exit.error.message}`,
        log,
      };
    }
    if (exit.code !== 0) {
      const code = exit.code ?? `signal ${exit.signal}`;
      return {
        ok: false,
        errorCode: 'ScriptFailed',
        message: `Script at specified location: ${where} failed with exit code ${code}`,
        log,
      };
    }
    return { ok: true, errorCode: 'Success', message: 'Succeeded', log };
  }
}

/** The bundle-source extras the agent adds (aws-semantics 3.7). */
function bundleEnv(revision?: RevisionLocation): Record<string, string> {
  const env: Record<string, string> = {};
  const s3 = revision?.s3Location;
  if (revision?.revisionType === 'S3' && s3) {
    if (s3.bucket) env.BUNDLE_BUCKET = s3.bucket;
    if (s3.key) env.BUNDLE_KEY = s3.key;
    if (s3.version) env.BUNDLE_VERSION = s3.version;
    if (s3.eTag) env.BUNDLE_ETAG = s3.eTag;
  }
  if (revision?.revisionType === 'GitHub' && revision.gitHubLocation?.commitId) {
    env.BUNDLE_COMMIT = revision.gitHubLocation.commitId;
  }
  return env;
}
