/**
 * Nothing a sandbox starts outlives it (issue 15, item 3): process groups are recorded under the data dir while
 * they live and deregistered once empty; a number that now names another process is never signalled; stop(),
 * SIGTERM/SIGINT/SIGHUP and the watchdog (after a SIGKILL) end them; the next start on the same data dir and
 * `sweep --data-dir` end what a killed sandbox (and its killed watchdog) left, and say what they ended.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { acceptsConnections, reservePort } from '../../src/sandbox/fleet/ports.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import {
  endGroups,
  groupAlive,
  identityOf,
  readRecords,
  recordsDir,
  selfIdentity,
} from '../../src/sandbox/process-records.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { lineOf } from './helpers/child-lines.ts';
import { ProcessLeftovers, processGone, sigkill } from './helpers/leftovers.ts';

const root = join(import.meta.dirname, '..', '..');
const sandboxEntry = pathToFileURL(join(root, 'src', 'sandbox', 'index.ts')).href;
const cliEntry = pathToFileURL(join(root, 'src', 'sandbox', 'cli.ts')).href;

const leftovers = new ProcessLeftovers();
const { dirs, children, pgids } = leftovers;

// A killed sandbox's watchdog is still ending its groups: release() lets it finish before its data dir goes.
afterEach(() => leftovers.release());

const tempDir = () => leftovers.tempDir('cph-processes-');

/** A process group serving HTTP on `port` from a background child of its leader (like an app a hook started). */
function appCommand(port: number): string[] {
  return [
    '-c',
    `node -e "require('http').createServer((q,s)=>s.end('up')).listen(${port},'127.0.0.1')" & wait`,
  ];
}

/**
 * A sandbox in its own process (as `codepipeline-harness sandbox` runs) with one app group started through its
 * tracker; resolves once the app answers on its port.
 */
async function sandboxProcess(dataDir: string, options: { watchdog: boolean }) {
  const port = await reservePort(new Set());
  const code = `
    import { startSandbox } from ${JSON.stringify(sandboxEntry)};
    const sb = await startSandbox({ dataDir: ${JSON.stringify(dataDir)}, watchdog: ${options.watchdog} });
    const app = sb.runtime.processes.spawn('instance:i-0123456789abcdef0', 'sh', ${JSON.stringify(appCommand(port))},
      { stdio: 'ignore' }, { what: 'ApplicationStart scripts/start.sh', port: ${port} });
    console.log('PGID', app.pid);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const pgid = Number((await lineOf(child, /^PGID (\d+)/))[1]);
  pgids.add(pgid);
  await poll(() => acceptsConnections(port), {
    timeout: 15_000,
    isDone: Boolean,
    what: `the app on port ${port}`,
  });
  return { child, pgid, port };
}

/** Waits until the group has no live process and its port takes no connection. */
async function gone(pgid: number, port?: number, timeout = 15_000) {
  return poll(
    async () => ({ alive: groupAlive(pgid), listening: port ? await acceptsConnections(port) : false }),
    { timeout, isDone: (s) => !s.alive && !s.listening, what: `process group ${pgid} to end` },
  );
}

/** The watchdog's pid once it watches (it writes `watchdog.json` when ready). */
async function watchdogPid(dataDir: string): Promise<number> {
  const file = join(recordsDir(dataDir), 'watchdog.json');
  const text = await poll(() => readFile(file, 'utf8').catch(() => ''), {
    timeout: 10_000,
    isDone: (t) => t !== '',
    what: `${file} to name the watchdog`,
  });
  return (JSON.parse(text) as { pid: number }).pid;
}

describe('process groups of a sandbox', () => {
  it('are recorded under the data dir while they live, with the leader start time, and forgotten when ended', async () => {
    const dataDir = await tempDir();
    const tracker = new ProcessTracker({ dataDir });
    const child = tracker.spawn(
      'instance:i-1',
      'sleep',
      ['60'],
      { stdio: 'ignore' },
      { what: 'sleeper', port: 4242 },
    );
    pgids.add(child.pid!);
    const [record] = readRecords(dataDir);
    expect(record).toMatchObject({
      pgid: child.pid,
      owner: 'instance:i-1',
      what: 'sleeper',
      port: 4242,
      startTime: identityOf(child.pid!)!.startTime,
      sandbox: selfIdentity(),
    });
    await tracker.kill('instance:i-1', 500);
    expect(groupAlive(child.pid!)).toBe(false);
    expect(readRecords(dataDir)).toEqual([]);
    expect(tracker.groups()).toEqual([]);
    tracker.close();
  });

  it('are deregistered (record removed) once no process of theirs is left, not only when stopped', async () => {
    const dataDir = await tempDir();
    const tracker = new ProcessTracker({ dataDir, reapIntervalMs: 100 });
    // The leader exits at once; its background child keeps the group alive for a moment, as an app would.
    const child = tracker.spawn('instance:i-2', 'sh', ['-c', 'sleep 0.5 & exit 0'], { stdio: 'ignore' });
    pgids.add(child.pid!);
    expect(tracker.groups('instance:i-2')).toHaveLength(1);
    const left = await poll(
      async () => ({ registered: tracker.groups().length, records: readRecords(dataDir).length }),
      {
        timeout: 10_000,
        isDone: (s) => s.registered === 0 && s.records === 0,
        what: 'the empty group to go',
      },
    );
    expect(left).toEqual({ registered: 0, records: 0 });
    tracker.close();
  });

  it('never signals a recorded number that now names another process (PID reuse)', async () => {
    const dataDir = await tempDir();
    const other = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    pgids.add(other.pid!);
    const stale = {
      pgid: other.pid!,
      startTime: '1', // the group recorded under this number started at another time: not this process
      owner: 'instance:i-3',
      what: 'an app that ended long ago',
      sandbox: selfIdentity(),
      startedAt: new Date().toISOString(),
    };
    const [outcome] = await endGroups(dataDir, [stale], 200);
    expect(outcome?.outcome).toBe('reused');
    expect(groupAlive(other.pid!)).toBe(true);
  });

  it('end with a sandbox process killed with SIGKILL: its watchdog ends them, frees their ports, then exits', async () => {
    const dataDir = await tempDir();
    const { child, pgid, port } = await sandboxProcess(dataDir, { watchdog: true });
    const watchdog = await watchdogPid(dataDir);
    await sigkill(child);
    expect(await gone(pgid, port)).toEqual({ alive: false, listening: false });
    await processGone(watchdog, 'the watchdog to exit', 10_000);
    expect(readRecords(dataDir)).toEqual([]);
    const log = await readFile(join(recordsDir(dataDir), 'watchdog.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(
        `process group ${pgid} \\(instance:i-0123456789abcdef0: ApplicationStart scripts/start.sh, port ${port}, .*\\): ended`,
      ),
    );
  }, 60_000);

  it('of a killed sandbox on a temp data dir end, and the watchdog removes that dir too', async () => {
    const code = `
      import { startSandbox } from ${JSON.stringify(sandboxEntry)};
      const sb = await startSandbox();
      const app = sb.runtime.processes.spawn('instance:i-6', 'sleep', ['60'], { stdio: 'ignore' });
      console.log('READY', app.pid, sb.runtime.dataDir);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const [, pgidText, dataDir] = await lineOf(child, /^READY (\d+) (.+)$/);
    const pgid = Number(pgidText);
    pgids.add(pgid);
    dirs.push(dataDir!); // removed by the watchdog; listed so a failure leaves nothing either
    await watchdogPid(dataDir!);
    await sigkill(child);
    expect(await gone(pgid)).toEqual({ alive: false, listening: false });
    await poll(async () => existsSync(dataDir!), {
      timeout: 10_000,
      isDone: (exists) => !exists,
      what: `${dataDir} to be removed`,
    });
  }, 60_000);

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'end when the sandbox CLI gets %s, and so does its watchdog',
    async (signal) => {
      const dataDir = await tempDir();
      const port = await reservePort(new Set());
      const code = `
        import { runSandboxCommand } from ${JSON.stringify(cliEntry)};
        process.exitCode = await runSandboxCommand(['--port', '0', '--data-dir', ${JSON.stringify(dataDir)}], {
          onReady: (sb) => {
            const app = sb.runtime.processes.spawn('instance:i-4', 'sh', ${JSON.stringify(appCommand(port))}, { stdio: 'ignore' });
            console.log('PGID', app.pid);
          },
        });
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const pgid = Number((await lineOf(child, /^PGID (\d+)/))[1]);
      pgids.add(pgid);
      await poll(() => acceptsConnections(port), { timeout: 15_000, isDone: Boolean, what: 'the app' });
      const watchdog = await watchdogPid(dataDir);
      const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill(signal);
      expect(await exit).toBe(0);
      // Ended by the sandbox's own stop, before it exited: nothing to wait for.
      expect(groupAlive(pgid)).toBe(false);
      expect(await acceptsConnections(port)).toBe(false);
      expect(identityOf(watchdog)).toBeUndefined();
      expect(readRecords(dataDir)).toEqual([]);
    },
    60_000,
  );

  it('end when the sandbox stops normally, and its watchdog exits with it', async () => {
    const dataDir = await tempDir();
    const sandbox = await startSandbox({ dataDir });
    const watchdog = await watchdogPid(dataDir);
    expect(identityOf(watchdog)).toBeDefined();
    const app = sandbox.runtime.processes.spawn('instance:i-5', 'sleep', ['60'], { stdio: 'ignore' });
    pgids.add(app.pid!);
    await sandbox.stop();
    expect(groupAlive(app.pid!)).toBe(false);
    expect(identityOf(watchdog)).toBeUndefined();
    expect(existsSync(join(recordsDir(dataDir), 'watchdog.json'))).toBe(false);
  });

  it('left by a killed sandbox whose watchdog was killed too are ended by the next start on that data dir', async () => {
    const dataDir = await tempDir();
    const { child, pgid, port } = await sandboxProcess(dataDir, { watchdog: false });
    await sigkill(child);
    expect(groupAlive(pgid)).toBe(true); // nothing ended it: the situation a SIGKILLed sandbox and watchdog leave
    const next = await startSandbox({ dataDir, watchdog: false });
    try {
      expect(next.leftovers.map((e) => [e.record.pgid, e.record.port, e.outcome])).toEqual([
        [pgid, port, 'ended'],
      ]);
      expect(await gone(pgid, port)).toEqual({ alive: false, listening: false });
    } finally {
      await next.stop();
    }
  }, 60_000);

  it('left by a killed sandbox are ended by `sweep --data-dir`, which says what it ended', async () => {
    const dataDir = await tempDir();
    const { child, pgid, port } = await sandboxProcess(dataDir, { watchdog: false });
    await sigkill(child);
    expect(groupAlive(pgid)).toBe(true);
    const sweep = await promisify(execFile)(
      process.execPath,
      [join(root, 'src', 'cli.ts'), 'sweep', '--data-dir', dataDir],
      { timeout: 60_000 },
    );
    expect(sweep.stdout).toContain(
      `ended   process group ${pgid} (instance:i-0123456789abcdef0: ApplicationStart scripts/start.sh, port ${port}`,
    );
    expect(sweep.stdout).toContain(`sweep of ${dataDir}: 1 process group(s) ended, nothing left running`);
    expect(await gone(pgid, port)).toEqual({ alive: false, listening: false });
    expect(readRecords(dataDir)).toEqual([]);
  }, 60_000);

  it('of a sandbox that still runs are left alone by `sweep --data-dir` (exit 1, naming it)', async () => {
    const dataDir = await tempDir();
    const { pgid } = await sandboxProcess(dataDir, { watchdog: true });
    const sweep = await promisify(execFile)(
      process.execPath,
      [join(root, 'src', 'cli.ts'), 'sweep', '--data-dir', dataDir],
      { timeout: 60_000 },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(sweep.code).toBe(1);
    expect(sweep.stdout).toMatch(new RegExp(`LEFT +process group ${pgid} .*is still running; stop it`));
    expect(groupAlive(pgid)).toBe(true);
  }, 60_000);
});

describe('the watchdog', () => {
  it('costs little: under 32 MB of private memory and under 0.5 s of CPU to start watching', async () => {
    const sandbox = await startSandbox();
    try {
      const pid = await watchdogPid(sandbox.runtime.dataDir);
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
      const privateKb = [...rollup.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
      const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime at 100 ticks/s
      console.log(`watchdog cost: ${(privateKb / 1024).toFixed(1)} MB private, ${cpuSeconds} s CPU to start`);
      expect(privateKb / 1024).toBeLessThan(32);
      expect(cpuSeconds).toBeLessThan(0.5);
    } finally {
      await sandbox.stop();
    }
  });
});
