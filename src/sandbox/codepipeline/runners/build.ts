/**
 * Build|Test/CodeBuild: runs the primary input artifact's `buildspec.yml` for real in a scratch copy,
 * phase by phase (one bash session per phase; the environment and working directory carry over to the
 * next phase as in buildspec 0.2), copies `artifacts.files` into the output artifact, and records the build
 * as CodeBuild does (the sandbox CodeBuild's BatchGetBuilds: id `<project>:<uuid>`, phases and their
 * contexts; its output in the sandbox CloudWatch Logs stream `/aws/codebuild/<project>` / `<uuid>`).
 * The whole log is also served at `<edge>/_sandbox/builds/<buildId>/log` (the action's `externalExecutionUrl`).
 * A failed build fails the action as on AWS (aws-semantics-cfn-codebuild-logs §4.5): `externalExecutionId` is
 * the build id and `errorDetails` is CodeBuild's one-line summary, `Build terminated with state: FAILED.
 * Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason:
 * exit status 1`; what the command printed is only in the log.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { access, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'tinyglobby';
import {
  type BuildStatus,
  CodeBuildService,
  type PhaseContext,
  type PhaseType,
} from '../../codebuild/index.ts';
import { LogsService } from '../../logs/index.ts';
import type { HttpRoute, SandboxRuntime } from '../../types.ts';
import { type ArtifactSpec, type Buildspec, BuildspecError, PHASES, parseBuildspec } from './buildspec.ts';
import { clip } from './types.ts';
import type { ActionResult, ActionRunContext, ActionRunner } from './types.ts';

/** CodeBuild's default build timeout: 60 minutes (real work, so not scaled). */
const DEFAULT_TIMEOUT_MINUTES = 60;
/** `errorDetails.message` is at most 5000 characters (model). */
const ERROR_LIMIT = 5000;
/** Exported variables read back from the build's shell: at most 1 MiB of names and values in all. */
const EXPORTED_LIMIT = 1024 * 1024;
const SYSTEM_PACKAGE_MANAGER = /^\s*(sudo\s+)?(apt-get|apt|yum|dnf|apk|amazon-linux-extras|n\s+\d)\b/;

export interface BuildRunnerOptions {
  /** Overrides the build timeout (ms); by default the action's `timeoutInMinutes` or 60 minutes. */
  timeoutMs?: number;
  /**
   * Where builds are recorded (the sandbox's CodeBuild, which writes their output to its CloudWatch Logs).
   * @default a CodeBuild of the runner's own, not served on the API
   */
  codebuild?: CodeBuildService;
}

/** A CodeBuild (and CloudWatch Logs) for a runner built without the sandbox's: records builds, serves nothing. */
function standaloneCodeBuild(runtime: SandboxRuntime): CodeBuildService {
  return new CodeBuildService(runtime, { logs: new LogsService(runtime) });
}

interface PhaseOutcome {
  exitCode: number;
  command?: string;
  timedOut?: boolean;
}

/**
 * Runs Build/Test CodeBuild actions for real and serves their logs.
 *
 * @example
 * const build = new CodeBuildRunner({ timeoutMs: 600_000, codebuild });
 * const service = { routes: [build.route()] };
 * const result = await build.run(ctx); // { status: 'Failed', externalExecutionId: 'web:5f1c…', errorDetails: { code: 'JobFailed', message: 'Build terminated …' } }
 */
export class CodeBuildRunner implements ActionRunner {
  readonly #options: BuildRunnerOptions;
  #codebuild: CodeBuildService | undefined;
  /** buildId → log file. */
  readonly #logs = new Map<string, string>();
  readonly #owners = new Set<string>();
  #processes: ActionRunContext['runtime']['processes'] | undefined;

  constructor(options: BuildRunnerOptions = {}) {
    this.#options = options;
    this.#codebuild = options.codebuild;
  }

  /** Serves build logs: `GET /_sandbox/builds/<buildId>/log`. */
  route(): HttpRoute {
    return {
      match: (req: IncomingMessage, url: URL) =>
        req.method === 'GET' && /^\/_sandbox\/builds\/[^/]+\/log$/.test(url.pathname),
      handle: async (_req: IncomingMessage, res: ServerResponse, url: URL) => {
        const id = decodeURIComponent(url.pathname.split('/')[3] ?? '');
        const file = this.#logs.get(id);
        if (!file) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`No build ${id} in this sandbox\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        createReadStream(file)
          .on('error', () => res.end())
          .pipe(res);
      },
    };
  }

  /** Forgets the logs (reset removes their files). */
  clear(): void {
    this.#logs.clear();
  }

  /** The log file of a build, if this sandbox ran it. */
  logFile(buildId: string): string | undefined {
    return this.#logs.get(buildId);
  }

  async run(ctx: ActionRunContext): Promise<ActionResult> {
    this.#processes = ctx.runtime.processes;
    this.#codebuild ??= standaloneCodeBuild(ctx.runtime);
    const codebuild = this.#codebuild;
    const config = ctx.action.configuration ?? {};
    const project = config.ProjectName ?? 'project';
    const commit = revisionOf(ctx);
    const timeoutMs =
      this.#options.timeoutMs ?? (ctx.action.timeoutInMinutes ?? DEFAULT_TIMEOUT_MINUTES) * 60_000;
    const build = codebuild.startBuild({
      projectName: project,
      initiator: `codepipeline/${ctx.pipelineName}`,
      ...(commit ? { resolvedSourceVersion: commit } : {}),
      timeoutInMinutes: Math.max(1, Math.round(timeoutMs / 60_000)),
    });
    const buildId = build.id;
    const uuid = build.record.logs.streamName;
    const owner = `build:${buildId}`;
    const buildDir = path.join(ctx.runtime.dataDir, 'codepipeline', 'builds', uuid);
    const srcDir = path.join(buildDir, 'src');
    const stateDir = path.join(buildDir, 'state');
    const logPath = path.join(buildDir, 'build.log');
    await mkdir(stateDir, { recursive: true });
    this.#logs.set(buildId, logPath);
    const url = `${ctx.runtime.edgeUrl()}/_sandbox/builds/${encodeURIComponent(buildId)}/log`;
    ctx.update({ externalExecutionId: buildId, externalExecutionUrl: url });
    const log = createWriteStream(logPath, { flags: 'a' });
    log.on('error', () => {}); // a log file that cannot be written must not take the sandbox down
    // False while the log file's buffer is full: the phase's reader pauses until `drained` (bounded memory).
    const write = (text: string): boolean => {
      build.write(text);
      return log.write(text);
    };
    const drained = (resume: () => void) => {
      if (log.writableNeedDrain) log.once('drain', resume);
      else resume();
    };
    const say = (text: string) => write(`[Container] ${stamp()} ${text}\n`);
    const base = { externalExecutionId: buildId, externalExecutionUrl: url };
    const phaseDone = (phase: string, status: BuildStatus, context?: PhaseContext) => {
      build.endPhase(status, context);
      say(`Phase complete: ${phase} State: ${status}`);
      say(`Phase context status code: ${context?.statusCode ?? ''} Message: ${context?.message ?? ''}`);
    };
    // The build's end: FINALIZING, then COMPLETED with the build status. The action's errorDetails carry only
    // CodeBuild's one-line summary of the failed phase (§4.5); the output is in the build's log stream.
    const end = (
      state: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'STOPPED',
      failure?: { phase: string; context: PhaseContext },
      exported?: Record<string, string>,
    ): ActionResult => {
      build.enterPhase('FINALIZING');
      say('Entering phase FINALIZING');
      phaseDone('FINALIZING', 'SUCCEEDED');
      build.finish(state, exported);
      if (state === 'SUCCEEDED') {
        say('Build succeeded');
        return { status: 'Succeeded', ...base, summary: `Build ${buildId} succeeded` };
      }
      const { phase, context } = failure!;
      return {
        status: 'Failed',
        ...base,
        errorDetails: {
          code: 'JobFailed',
          message: clip(
            `Build terminated with state: ${state}. Phase: ${phase}, Code: ${context.statusCode}, Message: ${context.message}`,
            ERROR_LIMIT,
          ),
        },
      };
    };
    /** A phase failed in a way that ends the build at once (no further phases, no artifact upload). */
    const fail = (
      phase: string,
      statusCode: string,
      message: string,
      state: 'FAILED' | 'STOPPED' = 'FAILED',
    ) => {
      const context = { statusCode, message };
      phaseDone(phase, state === 'STOPPED' ? 'STOPPED' : 'FAILED', context);
      return end(state, { phase, context });
    };
    this.#owners.add(owner);
    try {
      say(`Running on the sandbox: build ${buildId}`);
      phaseDone('PROVISIONING', 'SUCCEEDED');
      build.enterPhase('DOWNLOAD_SOURCE');
      say('Phase is DOWNLOAD_SOURCE');
      // DOWNLOAD_SOURCE: the primary input (PrimarySource or the first) is CODEBUILD_SRC_DIR; others get their own dirs.
      const primaryName = config.PrimarySource ?? ctx.inputArtifacts[0]?.name;
      const extraEnv: Record<string, string> = {};
      for (const input of ctx.inputArtifacts) {
        const dest = input.name === primaryName ? srcDir : path.join(buildDir, 'src-secondary', input.name);
        await cp(input.dir, dest, { recursive: true, verbatimSymlinks: true }).catch(
          async (error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT') throw error;
            await mkdir(dest, { recursive: true });
          },
        );
        if (input.name !== primaryName) extraEnv[`CODEBUILD_SRC_DIR_${input.name}`] = dest;
      }
      await mkdir(srcDir, { recursive: true });
      say(`CODEBUILD_SRC_DIR=${srcDir}`);
      let spec: Buildspec;
      try {
        const specFile = path.join(srcDir, 'buildspec.yml');
        say(`YAML location is ${specFile}`);
        const text = await readFile(specFile, 'utf8').catch(() => {
          throw new BuildspecError(`YAML_FILE_ERROR: stat ${specFile}: no such file or directory`);
        });
        spec = parseBuildspec(text);
      } catch (error) {
        if (error instanceof BuildspecError) {
          const [code, ...rest] = error.message.split(': ');
          return fail('DOWNLOAD_SOURCE', code ?? 'YAML_FILE_ERROR', rest.join(': '));
        }
        throw error;
      }
      if (spec.unresolvable.length > 0) {
        return fail(
          'DOWNLOAD_SOURCE',
          'CLIENT_ERROR',
          `env.parameter-store / env.secrets-manager (${spec.unresolvable.join(', ')}) cannot be resolved in the sandbox; use env.variables`,
        );
      }
      phaseDone('DOWNLOAD_SOURCE', 'SUCCEEDED');
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? buildDir,
        LANG: process.env.LANG ?? 'C.UTF-8',
        TMPDIR: process.env.TMPDIR ?? tmpdir(),
        AWS_REGION: ctx.runtime.region,
        AWS_DEFAULT_REGION: ctx.runtime.region,
        CODEBUILD_BUILD_ID: buildId,
        CODEBUILD_BUILD_ARN: build.record.arn,
        CODEBUILD_BUILD_NUMBER: String(build.record.buildNumber),
        CODEBUILD_BUILD_IMAGE: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
        CODEBUILD_INITIATOR: `codepipeline/${ctx.pipelineName}`,
        CODEBUILD_LOG_PATH: uuid,
        CODEBUILD_SRC_DIR: srcDir,
        CODEBUILD_RESOLVED_SOURCE_VERSION: commit ?? '',
        CODEBUILD_SOURCE_VERSION: commit ?? '',
        CODEBUILD_START_TIME: String(build.record.startTime.getTime()),
        CODEBUILD_BUILD_SUCCEEDING: '1',
        ...extraEnv,
        ...spec.variables,
        ...pipelineEnvironment(config.EnvironmentVariables),
      };
      await writeFile(path.join(stateDir, 'cwd'), srcDir);
      const deadline = Date.now() + timeoutMs;

      let succeeding = true;
      let failure: { phase: string; context: PhaseContext } | undefined;
      // A failed INSTALL or PRE_BUILD (or on-failure: ABORT) ends the build: no more phases, no upload.
      let cut = false;
      for (const phase of PHASES) {
        if (cut) break;
        const p = spec.phases[phase];
        const upper = phase.toUpperCase() as PhaseType;
        build.enterPhase(upper);
        say(`Entering phase ${upper}`);
        if (!p) {
          phaseDone(upper, 'SUCCEEDED');
          continue;
        }
        if (p.runtimeVersions) {
          say(
            `[Sandbox] runtime-versions ${JSON.stringify(p.runtimeVersions)} cannot be installed on this machine; the build uses the tools on PATH (node ${process.version})`,
          );
        }
        env.CODEBUILD_BUILD_SUCCEEDING = succeeding ? '1' : '0';
        const commands = p.commands.filter((c) => {
          if (phase === 'install' && SYSTEM_PACKAGE_MANAGER.test(c)) {
            say(`[Sandbox] Skipping command ${c}: system package installs cannot apply on this machine`);
            return false;
          }
          return true;
        });
        let outcome = await this.#runPhase(
          ctx,
          owner,
          stateDir,
          `${phase}`,
          commands,
          env,
          { write, drained },
          say,
          deadline,
        );
        if (p.finally.length > 0 && !outcome.timedOut) {
          const fin = await this.#runPhase(
            ctx,
            owner,
            stateDir,
            `${phase}-finally`,
            p.finally,
            env,
            { write, drained },
            say,
            deadline,
          );
          if (outcome.exitCode === 0 && fin.exitCode !== 0) outcome = fin;
        }
        if (ctx.signal.aborted)
          return fail(upper, 'CLIENT_ERROR', 'The sandbox stopped during the build', 'STOPPED');
        if (outcome.timedOut) {
          // CodeBuild's context for a build past its timeout.
          const context = { statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out. ' };
          phaseDone(upper, 'TIMED_OUT', context);
          return end('TIMED_OUT', { phase: upper, context });
        }
        if (outcome.exitCode === 0) {
          phaseDone(upper, 'SUCCEEDED');
          continue;
        }
        succeeding = false;
        const context = {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message: `Error while executing command: ${firstLine(outcome.command ?? '')}. Reason: exit status ${outcome.exitCode}`,
        };
        failure ??= { phase: upper, context };
        phaseDone(upper, 'FAILED', context);
        const onFailure = (p.onFailure ?? '').toUpperCase();
        // Default transitions (CodeBuild "build phase transitions"): a failed INSTALL or PRE_BUILD ends the
        // build; a failed BUILD still runs POST_BUILD, and UPLOAD_ARTIFACTS is attempted after BUILD and
        // POST_BUILD whatever they did. on-failure ABORT ends it, CONTINUE goes on.
        if (onFailure.startsWith('CONTINUE')) continue;
        if (onFailure.startsWith('ABORT') || phase === 'install' || phase === 'pre_build') cut = true;
      }
      if (cut) return end('FAILED', failure);
      build.enterPhase('UPLOAD_ARTIFACTS');
      say('Entering phase UPLOAD_ARTIFACTS');
      try {
        for (const [index, output] of ctx.outputArtifacts.entries()) {
          const artifact = index === 0 ? spec.artifacts : (spec.secondaryArtifacts[output.name] ?? undefined);
          if (!artifact) {
            throw new BuildspecError(
              `CLIENT_ERROR: the action declares output artifact ${output.name} but buildspec.yml has no ${index === 0 ? 'artifacts.files' : `artifacts.secondary-artifacts.${output.name}`}`,
            );
          }
          const count = await collectArtifacts(srcDir, artifact, output.dir);
          say(`Collected ${count} file(s) into artifact ${output.name}`);
        }
      } catch (error) {
        const [statusCode = 'CLIENT_ERROR', ...rest] = (error as Error).message.split(': ');
        const context = { statusCode, message: rest.join(': ') };
        phaseDone('UPLOAD_ARTIFACTS', 'FAILED', context);
        return end('FAILED', failure ?? { phase: 'UPLOAD_ARTIFACTS', context });
      }
      phaseDone('UPLOAD_ARTIFACTS', 'SUCCEEDED');
      if (failure) return end('FAILED', failure);
      const outputVariables = await this.#exported(ctx, owner, stateDir, spec.exportedVariables, env);
      return {
        ...end('SUCCEEDED', undefined, outputVariables),
        ...(outputVariables ? { outputVariables } : {}),
      };
    } finally {
      // Whatever ended the run (an error included), the build is over: the record says so.
      if (!build.finished) build.finish(ctx.signal.aborted ? 'STOPPED' : 'FAULT');
      await endStream(log);
      await ctx.runtime.processes.kill(owner, 500);
      this.#owners.delete(owner);
      await rm(srcDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Runs one phase's commands in one bash session; stops at the first failing command. */
  async #runPhase(
    ctx: ActionRunContext,
    owner: string,
    stateDir: string,
    phase: string,
    commands: readonly string[],
    env: Record<string, string>,
    output: { write: (text: string) => boolean; drained: (resume: () => void) => void },
    say: (text: string) => void,
    deadline: number,
  ): Promise<PhaseOutcome> {
    const { write } = output;
    if (commands.length === 0) return { exitCode: 0 };
    const q = shellQuote;
    const envFile = path.join(stateDir, 'env.sh');
    const cwdFile = path.join(stateDir, 'cwd');
    const lines = [
      'set +e',
      `[ -f ${q(envFile)} ] && . ${q(envFile)} >/dev/null 2>&1`,
      `export CODEBUILD_BUILD_SUCCEEDING=${q(env.CODEBUILD_BUILD_SUCCEEDING ?? '1')}`,
      `cd "$(cat ${q(cwdFile)})" || exit 1`,
      `__cb_save() { export -p > ${q(envFile)}; pwd > ${q(cwdFile)}; }`,
      `__cb_ts() { date -u '+%Y/%m/%d %H:%M:%S.%3N'; }`,
      // A command may `exit` the session: the state is saved whichever way the shell ends.
      'trap __cb_save EXIT',
    ];
    for (const [i, command] of commands.entries()) {
      const file = path.join(stateDir, `${phase}-${i}.sh`);
      await writeFile(file, command + '\n');
      lines.push(
        `echo "__CB_RUNNING=${i}" >&3`,
        `echo "[Container] $(__cb_ts) Running command "${q(firstLine(command))}`,
        `. ${q(file)}`,
        '__cb_rc=$?',
        `if [ $__cb_rc -ne 0 ]; then echo "__CB_REPORTED" >&3; echo "[Container] $(__cb_ts) Command did not exit successfully "${q(firstLine(command))}" exit status $__cb_rc"; exit $__cb_rc; fi`,
      );
    }
    lines.push('exit 0');
    const script = path.join(stateDir, `${phase}.sh`);
    await writeFile(script, lines.join('\n') + '\n');
    // Clamped: Node timers overflow past 2^31-1 ms.
    const remaining = Math.min(deadline - Date.now(), 2 ** 31 - 1);
    if (remaining <= 0) return { exitCode: 1, timedOut: true };
    return new Promise<PhaseOutcome>((resolve) => {
      const child = ctx.runtime.processes.spawn(
        owner,
        'bash',
        ['--noprofile', '--norc', script],
        {
          cwd: env.CODEBUILD_SRC_DIR,
          env: env as NodeJS.ProcessEnv,
          stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        },
        { what: `build ${phase} phase` },
      );
      let running: number | undefined;
      let reported = false;
      let timedOut = false;
      // Output is read only as fast as the log file takes it: a build that prints without end waits on its pipe.
      for (const stream of [child.stdout, child.stderr]) {
        stream?.setEncoding('utf8');
        stream?.on('data', (d: string) => {
          if (!write(d)) {
            stream.pause();
            output.drained(() => stream.resume());
          }
        });
      }
      (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (d: Buffer) => {
        const text = d.toString();
        for (const m of text.matchAll(/__CB_RUNNING=(\d+)/g)) running = Number(m[1]);
        if (text.includes('__CB_REPORTED')) reported = true;
      });
      const killGroup = () => void ctx.runtime.processes.kill(owner, 500);
      const timer = setTimeout(() => {
        timedOut = true;
        say(`Build timed out: ${phase} still running at the build timeout`);
        killGroup();
      }, remaining);
      const onAbort = () => killGroup();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error) => write(`[Sandbox] could not start bash: ${error.message}\n`));
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        const exitCode = code ?? (signal ? 128 : 1);
        const command = exitCode !== 0 && running !== undefined ? commands[running] : undefined;
        // A command that ends the shell itself (`exit 2`) never reaches the check after it: say it here, as
        // CodeBuild's agent does for every failed command.
        if (command !== undefined && !reported && !timedOut) {
          say(`Command did not exit successfully ${firstLine(command)} exit status ${exitCode}`);
        }
        resolve({
          exitCode,
          ...(command !== undefined ? { command } : {}),
          ...(timedOut ? { timedOut } : {}),
        });
      };
      child.on('close', finish);
      // A command that leaves a background process holding stdout would delay 'close' forever: the shell's
      // exit ends the phase, after a moment to drain its output.
      child.on('exit', (code, signal) => {
        setTimeout(() => finish(code, signal), 300).unref();
      });
    });
  }

  /** env.exported-variables → the action's output variables. */
  async #exported(
    ctx: ActionRunContext,
    owner: string,
    stateDir: string,
    names: readonly string[],
    env: Record<string, string>,
  ): Promise<Record<string, string> | undefined> {
    if (names.length === 0) return undefined;
    const envFile = path.join(stateDir, 'env.sh');
    const script = `[ -f ${shellQuote(envFile)} ] && . ${shellQuote(envFile)} >/dev/null 2>&1\nfor n in ${names.map(shellQuote).join(' ')}; do printf '%s\\0%s\\0' "$n" "\${!n}"; done\n`;
    const out = await new Promise<string>((resolve) => {
      const child = ctx.runtime.processes.spawn(owner, 'bash', ['--noprofile', '--norc', '-c', script], {
        env: env as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let text = '';
      child.stdout?.on('data', (d: Buffer) => {
        if (text.length < EXPORTED_LIMIT) text += d.toString();
      });
      child.on('close', () => resolve(text));
      child.on('error', () => resolve(''));
    });
    const parts = out.split('\0');
    const vars: Record<string, string> = {};
    for (let i = 0; i + 1 < parts.length; i += 2) vars[parts[i]!] = parts[i + 1]!;
    return vars;
  }

  async stop(): Promise<void> {
    const processes = this.#processes;
    if (!processes) return;
    await Promise.all([...this.#owners].map((o) => processes.kill(o, 500)));
    this.#owners.clear();
  }
}

/**
 * Copies the files an artifact spec selects from `srcDir` into `dest`; returns how many.
 *
 * @example
 * await collectArtifacts(src, { files: ['server.js', 'lib/**'], baseDirectory: 'dist', discardPaths: false, excludePaths: [] }, out);
 */
export async function collectArtifacts(srcDir: string, spec: ArtifactSpec, dest: string): Promise<number> {
  const base = spec.baseDirectory ? path.resolve(srcDir, spec.baseDirectory) : srcDir;
  if (!base.startsWith(srcDir))
    throw new BuildspecError(
      `CLIENT_ERROR: base-directory ${spec.baseDirectory} is outside the source directory`,
    );
  try {
    await access(base);
  } catch {
    throw new BuildspecError(`CLIENT_ERROR: base-directory ${spec.baseDirectory} does not exist`);
  }
  const files = await glob(spec.files, {
    cwd: base,
    dot: true,
    onlyFiles: true,
    ignore: spec.excludePaths,
    expandDirectories: false,
  });
  if (files.length === 0) {
    throw new BuildspecError(
      `CLIENT_ERROR: no matching artifact paths found (files: ${spec.files.join(', ')})`,
    );
  }
  await mkdir(dest, { recursive: true });
  for (const file of files) {
    const target = path.join(dest, spec.discardPaths ? path.basename(file) : file);
    await mkdir(path.dirname(target), { recursive: true });
    // The artifact holds what a link names, as a zip of the files would (the build's source dir goes after).
    await cp(path.join(base, file), target, { dereference: true });
  }
  return files.length;
}

/** The commit the pipeline's source produced (CODEBUILD_RESOLVED_SOURCE_VERSION). */
function revisionOf(ctx: ActionRunContext): string | undefined {
  return ctx.inputRevision;
}

/** The CodeBuild action's `EnvironmentVariables` configuration: a JSON list of {name, value, type}. */
function pipelineEnvironment(json: string | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const list = JSON.parse(json) as { name: string; value: string }[];
    return Object.fromEntries(list.map((v) => [v.name, String(v.value)]));
  } catch {
    return {};
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function firstLine(command: string): string {
  return command.split('\n')[0] ?? '';
}

function stamp(): string {
  return new Date().toISOString().replace('T', ' ').replace(/-/g, '/').replace('Z', '');
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}
