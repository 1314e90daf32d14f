/**
 * A server started as a child process in its own process group, ended with its whole group (so a wrapper
 * such as a pyenv shim never leaves the real server behind), and a safety net that ends it if the bench exits
 * early.
 *
 * @example
 * const server = await startServerProcess('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
 *   port, ready: () => probe(port), timeoutMs: 30_000,
 * });
 * await server.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitPortFree } from './ports.ts';

export interface ServerProcessOptions {
  port: number;
  /** Resolves true once the server answers what we need (an API call). */
  ready: () => Promise<boolean>;
  /** Deadline for `ready`. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * How long SIGTERM may take before SIGKILL. The sandbox needs it to end its own process groups (instances,
   * builds), which a SIGKILL of the sandbox would orphan. @default 5000
   */
  termGraceMs?: number;
}

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** ms from spawn to the first `ready()` that resolved true. */
  readonly readyMs: number;
  /** Ends the process group (SIGTERM, then SIGKILL after `termGraceMs`) and waits until the port is free. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const running = new Set<ServerProcess>();
let netInstalled = false;

/**
 * Asks every server still running to stop when the bench process exits (crash, Ctrl-C, abandoned section).
 * SIGTERM, not SIGKILL: a sandbox then still ends the instance and build processes it started.
 */
function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  const termAll = () => {
    for (const child of live) if (child.pid) signalGroup(child.pid, 'SIGTERM');
  };
  process.once('exit', termAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      termAll();
      process.exit(130);
    });
  }
}

/** Stops every server this module started that is still running (for the end of a run with an abandoned section). */
export async function stopAllServers(): Promise<void> {
  await Promise.allSettled([...running].map((s) => s.stop()));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // no member left
  }
}

/** Waits until no process of group `pid` exists (zombies included: they are gone once reaped). */
async function groupGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns `command` in its own process group and resolves once `ready()` answers true. */
export async function startServerProcess(
  command: string,
  args: readonly string[],
  options: ServerProcessOptions,
): Promise<ServerProcess> {
  installSafetyNet();
  const started = performance.now();
  const child = spawn(command, [...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  child.once('exit', () => live.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const pid = child.pid;
      if (pid) {
        signalGroup(pid, 'SIGTERM');
        // The group, not just the leader: a wrapper (a pyenv shim, sh) may exit before the real server.
        const grace = options.termGraceMs ?? 5000;
        if (!(await groupGone(pid, grace))) {
          signalGroup(pid, 'SIGKILL');
          if (!(await groupGone(pid, 3000))) {
            throw new Error(
              `${command} (process group ${pid}) still alive after SIGTERM, ${grace} ms and SIGKILL`,
            );
          }
        }
        await exited;
      }
      live.delete(child);
      running.delete(handle);
      await waitPortFree(options.port, 5000);
    })();
    return stopping;
  };

  const handle: { -readonly [K in keyof ServerProcess]: ServerProcess[K] } = {
    port: options.port,
    pid: child.pid ?? 0,
    readyMs: Number.NaN,
    stop,
  };
  running.add(handle);
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      if (spawnError) throw new Error(`${command} could not start: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${command} exited (${child.exitCode ?? child.signalCode}) before answering on port ${options.port}: ${stderr.trim().slice(-500)}`,
        );
      }
      if (await options.ready().catch(() => false)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${command} did not answer on port ${options.port} within ${options.timeoutMs} ms: ${stderr.trim().slice(-500)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  handle.readyMs = performance.now() - started;
  return handle;
}
