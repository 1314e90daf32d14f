/**
 * What a test that runs sandboxes in other processes must release, whatever its assertions did: the child
 * processes it spawned, the process groups they started, and their data dirs, after the watchdog of a killed
 * sandbox has finished with its data dir.
 *
 * @example
 * const leftovers = new ProcessLeftovers();
 * afterEach(() => leftovers.release());
 * const dataDir = await leftovers.tempDir('cph-killed-');
 * leftovers.children.push(spawn(...));
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll } from '../../../src/poll.ts';
import { identityOf, recordsDir } from '../../../src/sandbox/process-records.ts';

/** Sends SIGKILL to a child and waits for its exit (at once when it has exited already). */
export async function sigkill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export class ProcessLeftovers {
  /** Child processes this test spawned: killed (SIGKILL) first. */
  readonly children: ChildProcess[] = [];
  /** Process groups started by this test's sandboxes: SIGKILLed once the watchdogs are done. */
  readonly pgids = new Set<number>();
  /** Data dirs and other temp dirs: removed last. */
  readonly dirs: string[] = [];

  /** A new temp dir `<tmp>/<prefix>XXXXXX`, removed by {@link release}. */
  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /**
   * Kills the children; waits (15 s at most each) for the watchdog recorded in each data dir to exit, since a
   * killed sandbox's watchdog is still ending its groups and reading its records; kills the groups; removes the
   * dirs. A watchdog that outlives its wait does not stop the rest from being released.
   *
   * @throws WaitTimeoutError after releasing the rest, when a watchdog was still running after 15 s.
   */
  async release(): Promise<void> {
    for (const child of this.children.splice(0)) await sigkill(child);
    let watchdogError: unknown;
    try {
      for (const dir of this.dirs) await watchdogDone(dir);
    } catch (error) {
      watchdogError = error; // thrown once the rest is released
    }
    for (const pgid of this.pgids) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    this.pgids.clear();
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    if (watchdogError) throw watchdogError;
  }
}

/** Waits for the watchdog recorded in a sandbox data dir (if any) to exit. */
async function watchdogDone(dataDir: string): Promise<void> {
  const pid = await readFile(join(recordsDir(dataDir), 'watchdog.json'), 'utf8').then(
    (text) => (JSON.parse(text) as { pid: number }).pid,
    () => undefined,
  );
  if (pid !== undefined) await processGone(pid, `the watchdog (pid ${pid}) of ${dataDir} to exit`, 15_000);
}

/**
 * Waits until process `pid` is gone (no process with that id, or `identityOf` no longer finds it).
 *
 * @throws WaitTimeoutError naming `what` when it still runs after `timeout` ms.
 */
export async function processGone(pid: number, what: string, timeout: number): Promise<void> {
  await poll(async () => identityOf(pid), { timeout, isDone: (w) => w === undefined, what });
}
