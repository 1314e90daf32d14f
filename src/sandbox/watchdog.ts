/**
 * The sandbox's watchdog: a small detached node process started with the sandbox that ends the sandbox's
 * recorded process groups when the sandbox dies without stopping (SIGKILL, a crash), and exits with it when it
 * stops normally. Cost, measured on Node 24 (Linux x64): about 40 ms of CPU to start, about 9 MB of private memory
 * (RSS about 45 MB, most of it the node binary shared with the sandbox), and no CPU while it waits (it blocks
 * on a pipe; one /proc read every 2 s backs that up).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfIdentity } from './process-records.ts';

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions {
  /** The sandbox's data dir, whose `processes/` records the watchdog ends. */
  dataDir: string;
  /** Remove the data dir after ending the groups (a temp dir the sandbox created). @default false */
  removeDataDir?: boolean;
}

/** A running watchdog. */
export interface Watchdog {
  /** Its pid (also in `<dataDir>/processes/watchdog.json` once it watches). */
  readonly pid: number | undefined;
  /** Tells it the sandbox stopped normally and waits (up to 5 s, then SIGKILL) for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** V8 limits that keep an idle node process small. */
const LEAN_NODE = ['--max-old-space-size=16', '--max-semi-space-size=1', '--v8-pool-size=0'];

/**
 * Starts the watchdog of the calling process (the sandbox).
 *
 * @example
 * const watchdog = startWatchdog({ dataDir });
 * // ... if this process is SIGKILLed now, the watchdog ends every group recorded under dataDir
 * await watchdog.stop(); // after ending the groups itself
 */
export function startWatchdog(options: WatchdogOptions): Watchdog {
  const here = fileURLToPath(import.meta.url);
  const entry = join(dirname(here), `watchdog-process${extname(here)}`);
  const self = selfIdentity();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...LEAN_NODE,
      entry,
      options.dataDir,
      String(self.pid),
      self.startTime ?? '-',
      ...(options.removeDataDir ? ['--remove-data-dir'] : []),
    ],
    { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: process.env.PATH ?? '' } },
  );
  let exited = child.pid === undefined;
  const exit = new Promise<void>((resolve) => {
    if (exited) resolve();
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  // Neither the watchdog nor its pipe keeps the sandbox's process alive.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  child.stdin?.on('error', () => {});
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    stop: () => {
      stopping ??= (async () => {
        if (!exited) {
          child.stdin?.end('stop\n');
          let timer: NodeJS.Timeout | undefined;
          const inTime = await Promise.race([
            exit.then(() => true),
            new Promise<boolean>((r) => {
              timer = setTimeout(() => r(false), 5000);
            }),
          ]);
          clearTimeout(timer);
          if (!inTime) {
            child.kill('SIGKILL');
            await exit;
          }
        }
      })();
      return stopping;
    },
  };
}
