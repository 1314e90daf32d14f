/**
 * The on-disk list of the process groups a sandbox started: one small JSON file per group under
 * `<dataDir>/processes/`, written when the group starts and removed when it has ended. A sandbox that dies
 * without stopping (SIGKILL, a crash, an OOM kill) leaves this list behind; its watchdog, `codepipeline-harness
 * sweep --data-dir DIR` and the next sandbox started on the same data dir read it and end what is listed.
 *
 * A recorded number is only signalled while it still names the recorded group: while the leader lives its start
 * time (`/proc/<pid>/stat`, clock ticks since boot) must match the recorded one; once the leader is gone the group
 * can only still exist through its own members, because Linux does not hand out a PID that still names a live
 * process group. A group whose number now belongs to someone else is left alone and its record dropped.
 */
import { readdirSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A process (the sandbox, a group leader) told apart from a later process that got the same PID. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Clock ticks since boot when it started (`/proc/<pid>/stat` field 22); null where there is no /proc. */
  readonly startTime: string | null;
}

/** One recorded process group. */
export interface GroupRecord {
  /** Process group id (= pid of its leader). */
  readonly pgid: number;
  /** The leader's start time (see {@link ProcessIdentity}). */
  readonly startTime: string | null;
  /** Who owns it in the sandbox: `instance:i-…`, `build:<id>`, … */
  readonly owner: string;
  /** What it runs, for the report: `ApplicationStart scripts/application_start.sh`, `bash install.sh`. */
  readonly what: string;
  /** The port its processes may listen on (an instance's app port), freed when the group ends. */
  readonly port?: number;
  /** The sandbox process that started it. */
  readonly sandbox: ProcessIdentity;
  /** ISO time it started. */
  readonly startedAt: string;
}

/** What happened to one recorded group when leftovers were ended. */
export interface EndedGroup {
  readonly record: GroupRecord;
  /**
   * `ended` (SIGTERM was enough), `killed` (needed SIGKILL), `gone` (had already exited), `reused` (its number
   * belongs to another process now: left alone), `alive` (still running after SIGKILL: reported, record kept).
   */
  readonly outcome: 'ended' | 'killed' | 'gone' | 'reused' | 'alive';
}

const GROUP_FILE = /^group-(\d+)\.json$/;

/** `<dataDir>/processes`: where the records live. */
export function recordsDir(dataDir: string): string {
  return join(dataDir, 'processes');
}

/**
 * `/proc/<pid>/stat`'s state and start time, or undefined when there is no such process (or it is a zombie:
 * dead, only waiting to be reaped). Null start time where /proc does not exist (not Linux).
 */
function procStat(pid: number): { startTime: string | null } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') {
      // No /proc at all (macOS): fall back to kill(pid, 0).
      try {
        readdirSync('/proc/self');
      } catch {
        return signalable(pid) ? { startTime: null } : undefined;
      }
      return undefined;
    }
    throw error;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  return { startTime: fields[19] ?? null };
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process's identity (pid and start time). */
export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: procStat(process.pid)?.startTime ?? null };
}

/** The identity of a running process, or undefined when none runs under that pid. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = procStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

/** True while the process (that very one, not a later one with its pid) is alive. */
export function isAlive(who: ProcessIdentity): boolean {
  const now = procStat(who.pid);
  if (!now) return false;
  return who.startTime === null || now.startTime === null || now.startTime === who.startTime;
}

/**
 * True while any process of the group is alive. A zombie does not count: where nothing reaps orphans (some
 * container inits), a group whose members all died would otherwise look alive forever.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (procStat(pgid)) return true; // the leader itself runs (the common case: no /proc scan)
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true; // no /proc: kill(-pgid, 0) is all there is
  }
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state, fields[2] the process group
    if (fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/**
 * Whether the number still names the recorded group: `alive` (ours, signal it), `gone` (no such group),
 * `reused` (a later process took the number and leads a group of its own: never signal it).
 */
export function groupState(record: Pick<GroupRecord, 'pgid' | 'startTime'>): 'alive' | 'gone' | 'reused' {
  if (!groupAlive(record.pgid)) return 'gone';
  const leader = procStat(record.pgid);
  if (
    leader &&
    record.startTime !== null &&
    leader.startTime !== null &&
    leader.startTime !== record.startTime
  )
    return 'reused';
  return 'alive';
}

/** Signals the group when it is still the recorded one; false when it was not signalled. */
export function signalGroup(
  record: Pick<GroupRecord, 'pgid' | 'startTime'>,
  signal: NodeJS.Signals,
): boolean {
  if (groupState(record) !== 'alive') return false;
  try {
    process.kill(-record.pgid, signal);
    return true;
  } catch {
    return false; // ended in between
  }
}

/** Writes (atomically: temp file, then rename) the record of a group. */
export function writeRecord(dataDir: string, record: GroupRecord): void {
  const dir = recordsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `group-${record.pgid}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Removes the record of a group (no error when it is already gone). */
export function removeRecord(dataDir: string, pgid: number): void {
  rmSync(join(recordsDir(dataDir), `group-${pgid}.json`), { force: true });
}

/** Every readable record under the data dir (a torn or foreign file is skipped). */
export function readRecords(dataDir: string): GroupRecord[] {
  let names: string[];
  try {
    names = readdirSync(recordsDir(dataDir));
  } catch {
    return [];
  }
  const records: GroupRecord[] = [];
  for (const name of names) {
    const m = GROUP_FILE.exec(name);
    if (!m) continue;
    try {
      const record = JSON.parse(readFileSync(join(recordsDir(dataDir), name), 'utf8')) as GroupRecord;
      if (record.pgid === Number(m[1]) && record.pgid > 1 && typeof record.sandbox?.pid === 'number')
        records.push(record);
    } catch {
      // being written or not ours
    }
  }
  return records;
}

/** Resolves once `done()` holds or `ms` have passed; true when it held. A bounded check, 20 ms apart. */
export async function within(ms: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Ends recorded groups: SIGTERM, then SIGKILL for what is still alive after `graceMs`; removes the records of
 * every group that is over (when `dataDir` is given). Signals only numbers that still name the recorded group.
 */
export async function endGroups(
  dataDir: string | undefined,
  records: readonly GroupRecord[],
  graceMs = 2000,
): Promise<EndedGroup[]> {
  const outcome = new Map<number, EndedGroup['outcome']>();
  for (const r of records) {
    const state = groupState(r);
    if (state !== 'alive') outcome.set(r.pgid, state);
    else outcome.set(r.pgid, signalGroup(r, 'SIGTERM') ? 'ended' : 'gone');
  }
  const signalled = records.filter((r) => outcome.get(r.pgid) === 'ended');
  await within(graceMs, () => signalled.every((r) => groupState(r) !== 'alive'));
  for (const r of signalled) if (signalGroup(r, 'SIGKILL')) outcome.set(r.pgid, 'killed');
  await within(2000, () => signalled.every((r) => groupState(r) !== 'alive'));
  const result: EndedGroup[] = [];
  for (const r of records) {
    let o = outcome.get(r.pgid)!;
    if (groupState(r) === 'alive' && o !== 'reused') o = 'alive';
    if (o !== 'alive' && dataDir !== undefined) removeRecord(dataDir, r.pgid);
    result.push({ record: r, outcome: o });
  }
  return result;
}

/** Options of {@link endLeftovers}. */
export interface EndLeftoversOptions {
  /** Only the groups this sandbox started. @default every group whose sandbox is no longer running */
  sandbox?: ProcessIdentity;
  /** SIGTERM → SIGKILL grace, ms. @default 2000 */
  graceMs?: number;
}

/** What {@link endLeftovers} found. */
export interface LeftoversReport {
  readonly ended: EndedGroup[];
  /** Groups whose sandbox still runs: not leftovers, left alone (stop that sandbox to end them). */
  readonly running: GroupRecord[];
}

/**
 * Ends the process groups a dead sandbox left under `dataDir` (the watchdog, `sweep --data-dir` and a sandbox
 * starting on the data dir call it). Groups of a sandbox that still runs are not touched.
 *
 * @example
 * const { ended } = await endLeftovers('/var/tmp/sandbox-data');
 * for (const e of ended) console.log(describeEnded(e)); // process group 4242 (instance:i-0ab…: ApplicationStart …, port 41537): ended
 */
export async function endLeftovers(
  dataDir: string,
  options: EndLeftoversOptions = {},
): Promise<LeftoversReport> {
  const records = readRecords(dataDir);
  const mine = options.sandbox;
  const running: GroupRecord[] = [];
  const leftovers: GroupRecord[] = [];
  for (const r of records) {
    if (mine) {
      if (r.sandbox.pid === mine.pid && r.sandbox.startTime === mine.startTime) leftovers.push(r);
    } else if (isAlive(r.sandbox)) running.push(r);
    else leftovers.push(r);
  }
  return { ended: await endGroups(dataDir, leftovers, options.graceMs), running };
}

/** One line for a report: `process group 4242 (instance:i-0ab…: ApplicationStart scripts/start.sh, port 41537): ended`. */
export function describeEnded(e: EndedGroup): string {
  const r = e.record;
  const words: Record<EndedGroup['outcome'], string> = {
    ended: 'ended (SIGTERM)',
    killed: 'ended (SIGKILL after SIGTERM)',
    gone: 'had already exited',
    reused: 'left alone: its number now belongs to another process',
    alive: 'STILL RUNNING after SIGKILL',
  };
  return `process group ${r.pgid} (${r.owner}: ${r.what}${r.port ? `, port ${r.port}` : ''}, started by sandbox pid ${r.sandbox.pid}): ${words[e.outcome]}`;
}
