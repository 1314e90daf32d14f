/**
 * Fleet instances: a directory, a reserved port and the process groups started on them. Terminating an instance
 * ends every group (including a server left running in the background), frees the port and removes the directory.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { Fleet } from '../../src/sandbox/fleet/index.ts';
import { acceptsConnections } from '../../src/sandbox/fleet/ports.ts';
import { useSandbox } from './helpers/sandbox.ts';

/** Calls `check` every 25 ms until it is true; fails naming `what` after `timeoutMs`. */
async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await poll(check, { timeout: timeoutMs, isDone: (ok) => ok, what, interval: { min: 25, max: 25 } });
}

describe('fleet', () => {
  const sb = useSandbox({ timeScale: 0.01 });

  it('launches instances with EC2-shaped ids, their own directory and distinct ports', async () => {
    const fleet = sb.sandbox.services.fleet;
    const [a, b] = await Promise.all([fleet.launch(), fleet.launch()]);
    expect(a?.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(a?.state).toBe('running');
    expect(existsSync(a!.root)).toBe(true);
    expect(a!.root.startsWith(sb.sandbox.runtime.dataDir)).toBe(true);
    expect(a?.port).not.toBe(b?.port);
    expect(fleet.resolve(a!.instanceId)).toEqual({ host: '127.0.0.1', port: a!.port });
    expect(fleet.list().map((i) => i.instanceId)).toEqual(
      expect.arrayContaining([a!.instanceId, b!.instanceId]),
    );
    await fleet.terminate(a!.instanceId);
    await fleet.terminate(b!.instanceId);
    expect(fleet.get(a!.instanceId)).toBeUndefined();
    expect(fleet.resolve(a!.instanceId)).toBeUndefined();
  });

  it('terminate ends a background server a script started, frees its port and removes the directory', async () => {
    const { fleet } = sb.sandbox.services;
    const { processes } = sb.sandbox.runtime;
    const instance = await fleet.launch();
    // Like an ApplicationStart hook: a shell that starts a server in the background and exits at once.
    const hook = processes.spawn(Fleet.owner(instance.instanceId), 'bash', [
      '-c',
      `nohup node -e "require('http').createServer((q,s)=>s.end('up')).listen(${instance.port},'127.0.0.1')" >/dev/null 2>&1 &`,
    ]);
    await new Promise((r) => hook.once('exit', r));
    await until(() => acceptsConnections(instance.port), `the background server on port ${instance.port}`);
    const groups = processes.groups(Fleet.owner(instance.instanceId));
    expect(groups).toHaveLength(1);
    const pgid = groups[0]!.pgid;
    expect(ProcessTracker.alive(pgid)).toBe(true); // the leader exited; the server keeps the group alive

    await fleet.terminate(instance.instanceId);

    expect(ProcessTracker.alive(pgid)).toBe(false);
    expect(await acceptsConnections(instance.port)).toBe(false);
    expect(existsSync(instance.root)).toBe(false);
    expect(processes.groups(Fleet.owner(instance.instanceId))).toEqual([]);
    const kinds = sb.sandbox.runtime.events
      .since(0)
      .filter((e) => e.kind === 'instance' && e.targetId === instance.instanceId);
    expect(kinds.map((e) => e.status)).toEqual(['pending', 'running', 'shutting-down', 'terminated']);
  });

  it('terminating an unknown instance is a no-op', async () => {
    await expect(sb.sandbox.services.fleet.terminate('i-00000000000000000')).resolves.toBeUndefined();
  });
});
