/**
 * Every child process the sandbox starts (builds, hook scripts, the apps they launch) runs in its own
 * process group, registered here, so `stop()` can end all of them and prove none is left. With a data dir, each
 * group is also recorded on disk (src/sandbox/process-records.ts) until it has ended, so the sandbox's watchdog,
 * `sweep --data-dir` or the next start can end what a killed sandbox left. A group is deregistered once no process
 * of it is left, and a number is never signalled once it names another process.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import {
  type GroupRecord,
  endGroups,
  groupAlive,
  groupState,
  identityOf,
  type ProcessIdentity,
  removeRecord,
  selfIdentity,
  writeRecord,
} from './process-records.ts';

export interface TrackedGroup {
  /** Process group id (= pid of the leader, spawned with `detached: true`). */
  readonly pgid: number;
  /** Who owns it: `build:<id>`, `instance:<i-...>`, ... */
  readonly owner: string;
  /** What it runs (`ApplicationStart scripts/start.sh`), for reports. */
  readonly what: string;
  /** A port its processes may listen on (an instance's app port). */
  readonly port?: number;
}

/** What a group is, for its record: {@link ProcessTracker.spawn}'s last argument. */
export interface GroupLabel {
  /** @default the command line */
  what?: string;
  /** The port its processes may listen on (an instance's app port). */
  port?: number;
}

/** Options of {@link ProcessTracker}. */
export interface ProcessTrackerOptions {
  /** Record each group under `<dataDir>/processes/` while it lives. @default no records on disk */
  dataDir?: string;
  /** How often groups whose leader exited are checked for being empty, ms. @default 2000 */
  reapIntervalMs?: number;
  /**
   * Called before each group is spawned; a throw refuses the spawn (the sandbox starts its watchdog here, so
   * nothing it spawns is ever unguarded: watchdog-deferred.ts). @default nothing
   */
  beforeSpawn?: (() => void) | undefined;
}

/**
 * The process groups of one sandbox.
 *
 * @example
 * const tracker = new ProcessTracker({ dataDir });
 * const child = tracker.spawn('instance:i-0abc', 'bash', ['start.sh'], { stdio: 'ignore' }, { what: 'ApplicationStart start.sh', port: 41537 });
 * await tracker.kill('instance:i-0abc'); // SIGTERM, SIGKILL after 2 s; the record is gone
 */
export class ProcessTracker {
  readonly #groups = new Map<number, TrackedGroup & { startTime: string | null }>();
  readonly #dataDir: string | undefined;
  readonly #reapIntervalMs: number;
  readonly #beforeSpawn: (() => void) | undefined;
  #self: ProcessIdentity | undefined;
  #reaper: NodeJS.Timeout | undefined;

  constructor(options: ProcessTrackerOptions = {}) {
    this.#dataDir = options.dataDir;
    this.#reapIntervalMs = options.reapIntervalMs ?? 2000;
    this.#beforeSpawn = options.beforeSpawn;
  }

  /** Spawns `command` as the leader of a new process group owned by `owner` (recorded until it has ended). */
  spawn(
    owner: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
    label: GroupLabel = {},
  ): ChildProcess {
    this.#beforeSpawn?.();
    const child = spawn(command, args, { ...options, detached: true });
    const pgid = child.pid;
    if (pgid === undefined) return child;
    const what = label.what ?? [command, ...args].join(' ').slice(0, 200);
    const group = {
      pgid,
      owner,
      what,
      ...(label.port !== undefined ? { port: label.port } : {}),
      startTime: identityOf(pgid)?.startTime ?? null,
    };
    this.#groups.set(pgid, group);
    if (this.#dataDir) {
      this.#self ??= selfIdentity();
      const record: GroupRecord = { ...group, sandbox: this.#self, startedAt: new Date().toISOString() };
      writeRecord(this.#dataDir, record);
    }
    // The leader's exit ends the group unless it left processes behind (an app started in the background):
    // those keep it registered until the reaper finds it empty.
    child.once('exit', () => setImmediate(() => this.#reap(pgid)));
    this.#reaper ??= setInterval(() => {
      for (const id of [...this.#groups.keys()]) this.#reap(id);
      if (this.#groups.size === 0) this.#stopReaper();
    }, this.#reapIntervalMs).unref();
    return child;
  }

  /** Groups registered for an owner, or all; a group with no process left is deregistered first. */
  groups(owner?: string): TrackedGroup[] {
    for (const id of [...this.#groups.keys()]) this.#reap(id);
    return [...this.#groups.values()]
      .filter((g) => owner === undefined || g.owner === owner)
      .map(({ startTime: _, ...g }) => g);
  }

  /** True while any process of the group is alive (zombies do not count). */
  static alive(pgid: number): boolean {
    return groupAlive(pgid);
  }

  /**
   * Ends every group of an owner (or all): SIGTERM, then SIGKILL after `graceMs`. Resolves when none is alive;
   * each is deregistered (and its record removed). A number that now names another process is not signalled.
   */
  async kill(owner?: string, graceMs = 2000): Promise<void> {
    const groups = [...this.#groups.values()].filter((g) => owner === undefined || g.owner === owner);
    if (groups.length === 0) return;
    await endGroups(
      this.#dataDir,
      groups.map((g) => this.#record(g)),
      graceMs,
    );
    for (const g of groups) this.#forget(g.pgid);
  }

  /** Stops the reaper timer (the groups stay registered). */
  close(): void {
    this.#stopReaper();
  }

  #record(g: TrackedGroup & { startTime: string | null }): GroupRecord {
    return {
      ...g,
      sandbox: this.#self ?? { pid: process.pid, startTime: null },
      startedAt: '',
    };
  }

  #reap(pgid: number): void {
    const g = this.#groups.get(pgid);
    if (g && groupState(g) !== 'alive') this.#forget(pgid);
  }

  #forget(pgid: number): void {
    this.#groups.delete(pgid);
    if (this.#dataDir) removeRecord(this.#dataDir, pgid);
  }

  #stopReaper(): void {
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = undefined;
  }
}
