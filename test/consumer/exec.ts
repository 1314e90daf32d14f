/**
 * Running the consumer test's commands: argv only (no shell), each in its own process group with a deadline,
 * output kept for the failure message, and the whole group checked (and killed) when the command ends.
 * POSIX only (process groups).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { WaitTimeoutError } from '../../src/errors.ts';
import { poll } from '../../src/poll.ts';

export interface CommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Echo the output as it comes (prefixed), besides keeping it. */
  stream?: boolean;
  /** Aborts the command (kills its group). */
  signal?: AbortSignal;
}

export interface CommandResult {
  /** The command as one would type it. */
  command: string;
  cwd: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** stdout and stderr as they came, interleaved (the last MAX_OUTPUT characters). */
  output: string;
  ms: number;
  /** Processes of its group still alive after it exited (they were killed). */
  leftInGroup: boolean;
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const KILL_GRACE_MS = 5_000;
const LINGER_MS = 3_000;

export class CommandError extends Error {
  override name = 'CommandError';
  readonly result: CommandResult;
  constructor(result: CommandResult, why: string, tailLines = 60) {
    super(
      `${why} (${describeExit(result)})\n  command: ${result.command}\n  in: ${result.cwd}\n  exit: ${describeExit(result)} after ` +
        `${seconds(result.ms)}\n  last ${tailLines} lines of its output:\n${indent(tail(result.output, tailLines))}`,
    );
    this.result = result;
  }
}

export function describeExit(result: CommandResult): string {
  if (result.timedOut) return `killed at its deadline (${result.signal ?? 'exited'})`;
  if (result.signal) return `signal ${result.signal}`;
  return `code ${result.code}`;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function tail(text: string, lines: number): string {
  const all = text.replace(/\n$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    | ${l}`)
    .join('\n');

/** Quotes an argument for display only (nothing is run through a shell). */
const shown = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** Runs `file args` to its end (or deadline); never throws for a non-zero exit: see {@link expectSuccess}. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  const command = [file, ...args].map(shown).join(' ');
  const started = Date.now();
  let output = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > MAX_OUTPUT) output = output.slice(-MAX_OUTPUT);
    if (options.stream) process.stdout.write(text.replace(/^(?=.)/gm, '    | '));
  };
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // its own process group: a deadline kills everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const stop = () => killGroup(child);
  const deadline = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const { code, signal } = await exited(child);
    const ms = Date.now() - started;
    // What it started in its group may take a moment to finish after it (vitest's workers do).
    const left = child.pid === undefined ? [] : await membersLeftAfter(child.pid, LINGER_MS);
    if (left.length) {
      output += `\n[consumer test] still running in its group ${LINGER_MS / 1000} s after it exited (killed now):\n`;
      output += left.map((p) => `  ${p.pid}: ${p.commandLine}`).join('\n');
      await killGroup(child);
    }
    return { command, cwd: options.cwd, code, signal, timedOut, output, ms, leftInGroup: left.length > 0 };
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', stop);
  }
}

/** Runs the command and throws CommandError (command, exit, output tail) unless it exits 0 and leaves nothing. */
export async function expectSuccess(
  file: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  const result = await runCommand(file, args, options);
  if (result.timedOut) throw new CommandError(result, `did not finish within ${seconds(options.timeoutMs)}`);
  if (result.code !== 0) throw new CommandError(result, 'failed');
  if (result.leftInGroup) throw new CommandError(result, 'exited but left processes running in its group');
  return result;
}

/** The exit, once stdout/stderr are closed too (or 2 s after the exit when a grandchild holds them open). */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const done = () => resolve({ code, signal });
      if (child.stdout?.closed !== false && child.stderr?.closed !== false) return done();
      const late = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        done();
      }, 2_000);
      child.once('close', () => {
        clearTimeout(late);
        done();
      });
    });
  });
}

/** Whether any process of group `pgid` exists (zombies included). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running processes of group `pgid` (zombies, already exited and waiting to be reaped, left out). Linux reads
 * /proc; elsewhere a group that answers signal 0 counts as one unnamed process.
 */
export async function groupMembers(pgid: number): Promise<StrayProcess[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return groupAlive(pgid) ? [{ pid: pgid, cwd: '?', commandLine: '?' }] : [];
  }
  const members: StrayProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) !== pgid || state === 'Z' || state === undefined) continue;
    members.push({ pid: Number(entry), ...(await describe(entry)) });
  }
  return members;
}

async function describe(pid: string): Promise<{ cwd: string; commandLine: string }> {
  const [cwd, commandLine] = await Promise.all([
    readlink(`/proc/${pid}/cwd`).catch(() => ''),
    readFile(`/proc/${pid}/cmdline`, 'utf8')
      .then((c) => c.split('\0').join(' ').trim())
      .catch(() => ''),
  ]);
  return { cwd, commandLine };
}

/** SIGTERM to the child's group, SIGKILL after a grace period if anything of it is left. */
async function killGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined || !groupAlive(pgid)) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch {
      // gone already
    }
  };
  signal('SIGTERM');
  if ((await membersLeftAfter(pgid, KILL_GRACE_MS)).length) signal('SIGKILL');
}

/** Waits (up to `ms`) for a process group to be empty; returns who is still in it. */
async function membersLeftAfter(pgid: number, ms: number): Promise<StrayProcess[]> {
  try {
    return await poll(() => groupMembers(pgid), {
      timeout: ms,
      isDone: (members) => members.length === 0,
      interval: { min: 100, max: 100 },
      what: `process group ${pgid} to end`,
    });
  } catch (error) {
    if (error instanceof WaitTimeoutError) return (error.lastState as StrayProcess[] | undefined) ?? [];
    throw error;
  }
}

export interface StrayProcess {
  pid: number;
  cwd: string;
  commandLine: string;
}

/**
 * Processes (of any group: the sandbox starts app instances in their own) whose working directory or command
 * line is inside `root`: what the consumer test's commands started and left behind. Linux (/proc) only; an
 * empty list elsewhere.
 */
export async function processesUnder(root: string): Promise<StrayProcess[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: StrayProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const { cwd, commandLine } = await describe(entry);
    const inside = (p: string) => p === root || p.startsWith(`${root}/`);
    if (inside(cwd) || commandLine.includes(`${root}/`)) found.push({ pid: Number(entry), cwd, commandLine });
  }
  return found;
}

/** Kills the given processes (SIGKILL; they outlived their command already). */
export function killAll(processes: readonly StrayProcess[]): void {
  for (const p of processes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
