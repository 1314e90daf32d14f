/**
 * A run killed with SIGKILL in the middle of its deployment cannot tear down; `codepipeline-harness sweep`
 * (the real CLI, in its own process) must then leave no resource, instance, process or port of it behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyClients } from '../../src/aws/clients.ts';
import { createClients, checkLeaks, poll, RUN_TAG } from '../../src/index.ts';
import { stackNames } from '../../src/stack/names.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { acceptsConnections } from '../../src/sandbox/fleet/ports.ts';

const root = join(import.meta.dirname, '..', '..');
const node = process.execPath;
let sandbox: Sandbox;
let child: ChildProcess | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await sandbox.stop();
});

describe('a run killed during its deployment', () => {
  it('is cleaned up completely by codepipeline-harness sweep', async () => {
    const runId = `k${Date.now().toString(36).slice(-6)}`;
    const names = stackNames(runId);
    const env = { ...process.env, HARNESS_ENDPOINT: sandbox.endpoint, HARNESS_RUN_ID: runId, CI: 'true' };
    child = spawn(node, [join(root, 'test', 'e2e', 'fixtures', 'run-until-deploying.ts')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const deploymentId = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child!.stdout! });
      lines.on('line', (line) => {
        const m = /^DEPLOYING (d-\w+)/.exec(line);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) =>
        reject(new Error(`the run exited (${code}) before deploying: ${stderr}`)),
      );
    });
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    // The killed run left its stack: the sandbox still has its instances and processes.
    const clients = createClients({ target: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint });
    try {
      const before = await checkLeaks(
        clients,
        { key: RUN_TAG, value: runId },
        { namePrefix: `${names.prefix}-`, deploymentGroups: [names.deploymentGroupName] },
      );
      expect(before.clean).toBe(false);
      const instances = sandbox.services.fleet.list().filter((i) => i.state !== 'terminated');
      expect(instances.length).toBeGreaterThanOrEqual(2);
      const groups = sandbox.runtime.processes.groups().map((g) => g.pgid);
      expect(deploymentId).toMatch(/^d-/);

      const sweep = await promisify(execFile)(
        node,
        [join(root, 'src', 'cli.ts'), 'sweep', '--run', runId, '--endpoint', sandbox.endpoint],
        {
          env: { ...process.env, CI: 'true' },
          timeout: 120_000,
        },
      );
      expect(sweep.stdout).toMatch(
        new RegExp(`sweep of run ${runId}: \\d+ resource\\(s\\) removed, nothing left`),
      );
      expect(sweep.stdout).toMatch(/found\s+pipeline cph-/);

      const after = await checkLeaks(
        clients,
        { key: RUN_TAG, value: runId },
        { namePrefix: `${names.prefix}-`, deploymentGroups: [names.deploymentGroupName] },
      );
      expect(after.leftovers).toEqual([]);
      // Instances terminate asynchronously after DeleteAutoScalingGroup(ForceDelete), as on AWS: wait for it.
      const left = await poll(
        async () => ({
          instances: sandbox.services.fleet
            .list()
            .filter((i) => i.state !== 'terminated')
            .map((i) => i.instanceId),
          groups: groups.filter((pgid) => ProcessTracker.alive(pgid)),
        }),
        {
          timeout: 30_000,
          isDone: (l) => l.instances.length === 0 && l.groups.length === 0,
          what: 'the instances to end',
        },
      );
      expect(left).toEqual({ instances: [], groups: [] });
      const open = [];
      for (const i of instances) if (await acceptsConnections(i.port)) open.push(i.instanceId);
      expect(open).toEqual([]);
    } finally {
      destroyClients(clients);
    }
  }, 180_000);
});
