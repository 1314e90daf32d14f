/**
 * The sandbox's CodeDeploy agent: what the real agent does on an instance, done on a fleet instance.
 * DownloadBundle copies the revision into the deployment archive, Install copies the appspec `files` (absolute
 * destinations mapped under the instance root), and each scriptable event runs its `hooks` scripts with bash, in
 * their own process group owned by the instance, with the agent's environment and the hook's timeout
 * (aws-semantics 3.6 / 3.7; agent source `hook_executor.rb`).
 *
 * Least privilege: a script gets only the environment {@link hookEnvironment} lists (never the sandbox's own
 * `AWS_*` variables or tokens), runs only from a file that really lies inside the revision (`realpath`: a symbolic
 * link out of it fails the event naming the path), and `files` sources are held to the revision the same way.
 * Script output goes to the instance's `scripts.log` as it is read; memory keeps only the 4 KB logTail.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { type Instance, Fleet } from '../fleet/index.ts';
import { OutputTail } from '../output-tail.ts';
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
/** After a script exits: how long its pipes may stay silent before a background process is taken to hold them. */
const PIPE_QUIET_MS = 100;
/** After a script exits: the longest its output is read for. */
const PIPE_DRAIN_MAX_MS = 5000;

/**
 * Resolves once the script's pipes have ended, or (a process it left running in the background holds them) once
 * they have been quiet for {@link PIPE_QUIET_MS} while not paused for the log file, at most
 * {@link PIPE_DRAIN_MAX_MS}.
 */
function drained(streams: readonly (Readable | null)[], paused: ReadonlySet<Readable>): Promise<void> {
  const open = streams.filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      clearTimeout(cap);
      for (const s of open) {
        s.off('data', arm);
        s.off('end', onEnd);
      }
      resolve();
    };
    function arm() {
      clearTimeout(quiet);
      quiet = setTimeout(() => (paused.size > 0 ? arm() : finish()), PIPE_QUIET_MS);
    }
    const onEnd = () => {
      if (open.every((s) => s.readableEnded)) finish();
    };
    const cap = setTimeout(finish, PIPE_DRAIN_MAX_MS);
    for (const s of open) {
      s.on('data', arm);
      s.once('end', onEnd);
    }
    arm();
  });
}

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

/** Refuses a resolved path outside the revision: a symbolic link may only point inside it. */
function assertInside(revisionReal: string, real: string, what: string): void {
  if (real !== revisionReal && !real.startsWith(revisionReal + sep)) {
    throw new AppSpecError(
      `${what} resolves to ${real}, outside the revision; a symbolic link in a revision may only point inside it`,
    );
  }
}

/**
 * The files of a `files` source directory as [real path, path relative to the source], following symbolic links
 * that stay inside the revision and refusing (naming it) one that points out. A link to nothing is skipped.
 */
async function filesUnder(dir: string, revisionReal: string, source: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  const walk = async (realDir: string, rel: string): Promise<void> => {
    if (seen.has(realDir)) return;
    seen.add(realDir);
    for (const d of await readdir(realDir, { withFileTypes: true })) {
      const relPath = rel ? join(rel, d.name) : d.name;
      let target = join(realDir, d.name);
      if (d.isSymbolicLink()) {
        const real = await realpath(target).catch(() => undefined);
        if (!real) continue;
        assertInside(revisionReal, real, `files source '${source}': ${relPath} (a symbolic link)`);
        target = real;
      }
      const info = await stat(target);
      if (info.isDirectory()) await walk(target, relPath);
      else if (info.isFile()) out.push([target, relPath]);
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * The environment a hook script (and the app it starts) gets: an allow-list, like a build's. The agent's
 * documented variables (LIFECYCLE_EVENT, DEPLOYMENT_ID, APPLICATION_NAME, DEPLOYMENT_GROUP_NAME,
 * DEPLOYMENT_GROUP_ID and the bundle's BUNDLE_*), PATH and LANG from the sandbox, HOME = the instance's /root (the
 * scripts run as root on EC2), TMPDIR, and the sandbox contract of sample-app/scripts/common.sh: DEPLOY_ROOT, PORT,
 * INSTANCE_ID. Nothing else of the sandbox's environment (no AWS_*, no tokens) reaches a script.
 *
 * @example
 * hookEnvironment(ctx, 'ApplicationStart').LIFECYCLE_EVENT; // 'ApplicationStart'
 */
export function hookEnvironment(ctx: AgentContext, event: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: join(ctx.instance.root, 'root'),
    TMPDIR: tmpdir(),
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
      // Links stay as written, so one pointing inside the revision still does in the archive.
      await cp(revisionDir, archive, { recursive: true, verbatimSymlinks: true });
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
      const archiveReal = await realpath(archive);
      for (const entry of spec.files) {
        const source = resolve(archive, `.${sep}${entry.source.replace(/^\/+/, '')}`);
        if (source !== archive && !source.startsWith(archive + sep)) {
          throw new AppSpecError(`files source '${entry.source}' leaves the bundle`);
        }
        const destination = underRoot(root, entry.destination);
        const real = await realpath(source).catch(() => undefined);
        if (!real) throw new AppSpecError(`files source '${entry.source}' does not exist in the revision`);
        assertInside(archiveReal, real, `files source '${entry.source}'`);
        const info = await stat(real);
        const pairs: [string, string][] = [];
        if (info.isDirectory()) {
          for (const [from, rel] of await filesUnder(real, archiveReal, entry.source)) {
            pairs.push([from, join(destination, rel)]);
          }
        } else {
          pairs.push([real, join(destination, basename(source))]);
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
    const tail = new OutputTail(LOG_TAIL_BYTES);
    for (const hook of scripts) {
      const result = await this.#runScript(ctx, event, bundle, hook, tail);
      if (!result.ok) return failure(result.errorCode, result.message, hook.location, tail.text);
    }
    return success(tail.text);
  }

  async #runScript(
    ctx: AgentContext,
    event: string,
    bundle: string,
    hook: { location: string; timeout: number; runas?: string },
    tail: OutputTail,
  ): Promise<{ ok: boolean; errorCode: Diagnostics['errorCode']; message: string }> {
    const { location, timeout: timeoutSeconds, runas } = hook;
    const where = runas ? `${location} run as user ${runas}` : location;
    const script = resolve(bundle, `.${sep}${location.replace(/^\/+/, '')}`);
    const real = await realpath(script).catch(() => undefined);
    const info = real ? await stat(real).catch(() => undefined) : undefined;
    if (!real || !info?.isFile()) {
      return {
        ok: false,
        errorCode: 'ScriptMissing',
        message: `Script does not exist at specified location: ${script}`,
      };
    }
    try {
      // Before anything touches it (the chmod below follows links): the script must be a file of the revision.
      assertInside(await realpath(bundle), real, `Script at specified location: ${location}`);
    } catch (error) {
      return { ok: false, errorCode: 'ScriptMissing', message: (error as Error).message };
    }
    try {
      await chmod(real, info.mode | 0o111); // the agent makes scripts executable before running them
    } catch (error) {
      return {
        ok: false,
        errorCode: 'ScriptNotExecutable',
        message: `Script at specified location: ${where} is not executable: ${(error as Error).message}`,
      };
    }
    const env = hookEnvironment(ctx, event);
    await mkdir(env.HOME!, { recursive: true });
    const logFile = join(dirname(bundle), 'logs', 'scripts.log');
    await mkdir(dirname(logFile), { recursive: true });
    const started = this.runtime.clock.now();
    // The whole output goes to scripts.log as it is read (the reader pauses while the file catches up); memory
    // keeps only the logTail.
    const file = createWriteStream(logFile, { flags: 'a' });
    const paused = new Set<Readable>();
    let fileFailed = false;
    file.on('error', () => {
      // A log file that cannot be written must not stall the script: keep reading, keep the logTail.
      fileFailed = true;
      for (const from of paused) from.resume();
    });
    file.write(`${started.toISOString()} ${event} ${location} (instance ${ctx.instance.instanceId})\n`);
    const droppedBefore = tail.dropped;
    const record = (stream: 'stdout' | 'stderr', from: Readable, chunk: string) => {
      const lines = chunk.split('\n');
      if (lines.at(-1) === '') lines.pop();
      let text = '';
      for (const line of lines) text += `[${stream}]${line}\n`;
      tail.push(text);
      if (!fileFailed && !file.write(text)) {
        from.pause();
        paused.add(from);
        file.once('drain', () => {
          paused.delete(from);
          from.resume();
        });
      }
    };
    let child: ChildProcess;
    try {
      child = this.runtime.processes.spawn(
        Fleet.owner(ctx.instance.instanceId),
        'bash',
        [script],
        { cwd: bundle, env, stdio: ['ignore', 'pipe', 'pipe'] },
        { what: `${event} ${location}`, port: ctx.instance.port },
      );
    } catch (error) {
      file.end();
      return {
        ok: false,
        errorCode: 'UnknownError',
        message: `Script at specified location: ${where} could not start: ${(error as Error).message}`,
      };
    }
    for (const [name, stream] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      stream?.setEncoding('utf8');
      stream?.on('data', (c: string) => record(name, stream, c));
    }
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
    // What the script wrote before it exited is still in its pipes (or in a stream paused while scripts.log catches
    // up): read it to the end, so the logTail ends with the script's last line.
    await drained([child.stdout, child.stderr], paused);
    child.stdout?.destroy();
    child.stderr?.destroy();
    const dropped = tail.dropped - droppedBefore;
    if (dropped > 0) {
      file.write(
        `[sandbox] ${dropped} characters of output before the last ${LOG_TAIL_BYTES} are only in this file (not in logTail)\n`,
      );
    }
    await new Promise<void>((done) => file.end(done));
    if (timedOut) {
      return {
        ok: false,
        errorCode: 'ScriptTimedOut',
        message: `Script at specified location: ${where} failed to complete in ${timeoutSeconds} seconds`,
      };
    }
    if (exit.error) {
      return {
        ok: false,
        errorCode: 'UnknownError',
        message: `Script at specified location: ${where} could not run: ${exit.error.message}`,
      };
    }
    if (exit.code !== 0) {
      const code = exit.code ?? `signal ${exit.signal}`;
      return {
        ok: false,
        errorCode: 'ScriptFailed',
        message: `Script at specified location: ${where} failed with exit code ${code}`,
      };
    }
    return { ok: true, errorCode: 'Success', message: 'Succeeded' };
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
