/**
 * The sample stack on the sandbox, released blue/green, checked the way an operator would: the real `curl`
 * against the load balancer's DNS name shows the new version from both green instances, and the blue
 * instances' processes and ports are gone after the (scaled) termination wait.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, poll } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { acceptsConnections } from '../../src/sandbox/fleet/ports.ts';

let sandbox: Sandbox;
let harness: Harness;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  harness = await Harness.start({ sandbox, config: { runId: `bg${Date.now().toString(36).slice(-6)}` } });
  await harness.ready();
}, 120_000);
afterAll(async () => {
  await harness?.close();
  await sandbox?.stop();
});

describe('a blue/green release of the sample stack', () => {
  it('serves the new version from both green instances to curl, and ends blue', async () => {
    const blue = sandbox.services.fleet.list().filter((i) => i.state === 'running');
    expect(blue).toHaveLength(2);
    const blueGroups = blue.flatMap((i) =>
      sandbox.runtime.processes.groups(`instance:${i.instanceId}`).map((g) => g.pgid),
    );
    expect(blueGroups.some((pgid) => ProcessTracker.alive(pgid))).toBe(true);

    const release = await harness.release();
    expect(release.probe?.failures.total).toBe(0);

    const url = await harness.url();
    const answers = new Map<string, string>();
    for (let i = 0; i < 8; i++) {
      const { stdout } = await promisify(execFile)('curl', ['-s', '-i', '--max-time', '5', url]);
      const instance = /x-instance-id: (\S+)/i.exec(stdout)?.[1];
      expect(stdout).toContain(`awscicd demo app — ${release.push.version}`);
      if (instance) answers.set(instance, release.push.version);
    }
    const green = sandbox.services.fleet
      .list()
      .filter((i) => i.state === 'running')
      .map((i) => i.instanceId);
    expect([...answers.keys()].sort()).toEqual(green.sort());
    expect(green.some((id) => blue.some((b) => b.instanceId === id))).toBe(false);

    // Blue is terminated after the termination wait (1 minute, scaled to 1.2 s): processes and ports gone.
    await poll(async () => blueGroups.filter((pgid) => ProcessTracker.alive(pgid)), {
      timeout: 30_000,
      isDone: (alive) => alive.length === 0,
      what: 'the blue instances to be terminated',
    });
    expect(blueGroups.filter((pgid) => ProcessTracker.alive(pgid))).toEqual([]);
    for (const b of blue) expect(await acceptsConnections(b.port)).toBe(false);
  }, 120_000);
});
