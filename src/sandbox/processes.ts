/**
 * Every child process the sandbox starts (builds, hook scripts, the apps they launch) runs in its own
 * process group, registered here, so `stop()` can end all of them and prove none is left.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';

export interface TrackedGroup {
  /** Process group id (= pid of the leader, spawned with `detached: true`). */
  readonly pgid: number;
  /** Who owns it: `build:<id>`, `instance:<i-...>`, ... */
  readonly owner: string;
}

export class ProcessTracker {
  readonly #groups = new Map<number, TrackedGroup>();

  /** Spawns `command` as the leader of a new process group owned by `owner`. */
  spawn(owner: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { ...options, detached: true });
    if (child.pid !== undefined) this.#groups.set(child.pid, { pgid: child.pid, owner });
    return child;
  }

  /** Groups (alive or not) registered for an owner, or all. */
  groups(owner?: string): TrackedGroup[] {
    return [...this.#groups.values()].filter((g) => owner === undefined || g.owner === owner);
  }

  /** True while any process of the group is alive. */
  static alive(pgid: number): boolean {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Ends every group of an owner (or all): SIGTERM, then SIGKILL after `graceMs`. Resolves when none is alive. */
  async kill(owner?: string, graceMs = 2000): Promise<void> {
    const groups = this.groups(owner);
    for (const g of groups) signalGroup(g.pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groups.some((g) => ProcessTracker.alive(g.pgid)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const g of groups) {
      if (ProcessTracker.alive(g.pgid)) signalGroup(g.pgid, 'SIGKILL');
    }
    for (const g of groups) {
      const until = Date.now() + 2000;
      while (ProcessTracker.alive(g.pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      this.#groups.delete(g.pgid);
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
