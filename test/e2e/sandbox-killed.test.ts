/**
 * A sandbox killed with SIGKILL in the middle of a deployment (issue 15, item 3): the `codepipeline-harness
 * sandbox` CLI runs in its own process with a stack whose instances serve the app and a deployment running its
 * hooks; the sandbox dies without a chance to stop. Its watchdog must end every process group it started and free
 * every port; when the watchdog is killed too, `codepipeline-harness sweep --data-dir` must do it.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { acceptsConnections } from '../../src/sandbox/fleet/ports.ts';
import { type GroupRecord, groupAlive, readRecords, recordsDir } from '../../src/sandbox/process-records.ts';
import { lineOf } from '../sandbox/helpers/child-lines.ts';
import { ProcessLeftovers, processGone, sigkill } from '../sandbox/helpers/leftovers.ts';

const root = join(import.meta.dirname, '..', '..');
const node = process.execPath;
const leftovers = new ProcessLeftovers();
const { children, pgids: seen } = leftovers;

// Whatever a failed assertion left: the children, the groups their sandboxes started, the data dirs.
afterEach(() => leftovers.release());

/**
 * The sandbox CLI in its own process on a data dir, a stack provisioned on it (v1 live on its instances) and a
 * release deploying: resolves once the deployment runs, with the process groups recorded at that moment.
 */
async function sandboxMidDeployment() {
  const dataDir = await leftovers.tempDir('cph-killed-sandbox-');
  const sandbox = spawn(
    node,
    [join(root, 'src', 'cli.ts'), 'sandbox', '--port', '0', '--time-scale', '0.02', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(sandbox);
  const endpoint = (await lineOf(sandbox, /listening on (http:\/\/127\.0\.0\.1:(\d+))/, 30_000))[1]!;
  const runId = `sk${Date.now().toString(36).slice(-6)}`;
  const run = spawn(node, [join(root, 'test', 'e2e', 'fixtures', 'run-until-deploying.ts')], {
    env: { ...process.env, HARNESS_ENDPOINT: endpoint, HARNESS_RUN_ID: runId, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(run);
  const deploymentId = (await lineOf(run, /^DEPLOYING (d-\w+)/, 150_000))[1]!;
  // The run is done with: only the sandbox's own processes are at stake.
  await sigkill(run);
  const groups = await poll(async () => readRecords(dataDir).filter((g) => groupAlive(g.pgid)), {
    timeout: 30_000,
    isDone: (g) => g.some((r) => r.port !== undefined),
    describe: (g) => g.map((r) => `${r.pgid} ${r.what}`).join(', '),
    what: 'the instances to run processes',
  });
  for (const g of groups) seen.add(g.pgid);
  const ports = [...new Set(groups.flatMap((g) => (g.port ? [g.port] : [])))];
  const watchdog = (
    JSON.parse(await readFile(join(recordsDir(dataDir), 'watchdog.json'), 'utf8')) as { pid: number }
  ).pid;
  return { dataDir, sandbox, endpoint, deploymentId, groups, ports, watchdog };
}

/** The recorded groups alive and serving on their port now: the instances' apps. */
async function servingApps(groups: readonly GroupRecord[]): Promise<GroupRecord[]> {
  const apps: GroupRecord[] = [];
  for (const g of groups)
    if (g.port && groupAlive(g.pgid) && (await acceptsConnections(g.port))) apps.push(g);
  return apps;
}

/** Waits until no recorded group is alive and no port (instances' apps, the edge) takes a connection. */
async function nothingLeft(groups: readonly GroupRecord[], ports: readonly number[]) {
  return poll(
    async () => {
      const alive = groups.filter((g) => groupAlive(g.pgid)).map((g) => `${g.pgid} (${g.what})`);
      const open: number[] = [];
      for (const p of ports) if (await acceptsConnections(p)) open.push(p);
      return { alive, open };
    },
    {
      timeout: 30_000,
      isDone: (s) => s.alive.length === 0 && s.open.length === 0,
      what: 'every process group to end and every port to be free',
    },
  );
}

describe('a sandbox killed with SIGKILL mid-deployment', () => {
  it('leaves nothing running: its watchdog ends every process group and frees every port', async () => {
    const { dataDir, sandbox, endpoint, deploymentId, groups, ports, watchdog } =
      await sandboxMidDeployment();
    expect(deploymentId).toMatch(/^d-/);
    expect(ports.length).toBeGreaterThanOrEqual(1);
    const edgePort = Number(new URL(endpoint).port);
    // The apps serving at the kill: hooks may end (and deregister) on their own before it, apps never do.
    const apps = await servingApps(groups);
    expect(apps.length).toBeGreaterThanOrEqual(1);
    await sigkill(sandbox);
    expect(await nothingLeft(groups, [...ports, edgePort])).toEqual({ alive: [], open: [] });
    await processGone(watchdog, 'the watchdog to exit', 15_000);
    expect(readRecords(dataDir)).toEqual([]);
    const log = await readFile(join(recordsDir(dataDir), 'watchdog.log'), 'utf8');
    for (const g of apps) expect(log).toMatch(new RegExp(`process group ${g.pgid} \\(.*\\): ended`));
  }, 240_000);

  it('with its watchdog killed too, is cleaned up by `codepipeline-harness sweep --data-dir`', async () => {
    const { dataDir, sandbox, groups, ports, watchdog } = await sandboxMidDeployment();
    process.kill(watchdog, 'SIGKILL');
    await processGone(watchdog, 'the watchdog to die', 10_000);
    await sigkill(sandbox);
    // Nothing ended them: the apps (started by ApplicationStart, left running by design) still serve.
    const apps = await servingApps(groups);
    expect(apps.length).toBeGreaterThanOrEqual(1);
    const sweep = await promisify(execFile)(
      node,
      [join(root, 'src', 'cli.ts'), 'sweep', '--data-dir', dataDir],
      { timeout: 60_000 },
    );
    // The apps that were serving were ended by it (a hook may have ended, and deregistered, on its own).
    for (const g of apps)
      expect(sweep.stdout).toMatch(new RegExp(`ended +process group ${g.pgid} .*: ended`));
    expect(sweep.stdout).toMatch(/sweep of .*: \d+ process group\(s\) ended, nothing left running/);
    expect(readRecords(dataDir)).toEqual([]);
    expect(await nothingLeft(groups, ports)).toEqual({ alive: [], open: [] });
  }, 240_000);
});
