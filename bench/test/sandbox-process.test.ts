import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isListening } from '../lib/ports.ts';
import { EventTail, fetchEvents, startSandboxProcess } from '../lib/sandbox-process.ts';
import { Wire } from '../lib/wire.ts';

describe('the sandbox as a bench process', () => {
  it('answers the API, serves its event log, and leaves no port, process or data dir after stop', async () => {
    const sandbox = await startSandboxProcess({ timeScale: 0.01 });
    const wire = new Wire(sandbox.endpoint, 1);
    const tail = new EventTail(sandbox.endpoint, 10);
    try {
      await access(sandbox.dataDir);
      tail.start();
      const created = await wire.jsonOk<{ deploymentId?: string }>(
        'codedeploy',
        'CodeDeploy_20141006.CreateApplication',
        {
          applicationName: 'tail-app',
        },
      );
      expect(created).toHaveProperty('applicationId');
      await wire.jsonOk('codedeploy', 'CodeDeploy_20141006.CreateDeploymentGroup', {
        applicationName: 'tail-app',
        deploymentGroupName: 'tail-dg',
        serviceRoleArn: 'arn:aws:iam::000000000000:role/tail',
      });
      const { deploymentId } = await wire.jsonOk<{ deploymentId: string }>(
        'codedeploy',
        'CodeDeploy_20141006.CreateDeployment',
        {
          applicationName: 'tail-app',
          deploymentGroupName: 'tail-dg',
          revision: { revisionType: 'String', string: { content: 'version: 0.0\nos: linux\n' } },
        },
      );
      const seen = await tail.waitFor(
        (e) => e.kind === 'deployment' && e.deploymentId === deploymentId,
        5000,
      );
      expect(seen.status).toBe('Created');
      // sync() reads everything logged so far at once, whatever the polling interval.
      const slow = new EventTail(sandbox.endpoint, 60_000);
      await slow.sync();
      expect(slow.events.length).toBeGreaterThanOrEqual(tail.events.length);
      expect(slow.events.some((e) => e.kind === 'deployment' && e.deploymentId === deploymentId)).toBe(true);
      const all = await fetchEvents(sandbox.endpoint, 0);
      expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
      await expect(tail.waitFor(() => false, 50)).rejects.toThrow(/no matching sandbox event within 50 ms/);
    } finally {
      tail.stop();
      await wire.close();
      await sandbox.stop();
    }
    expect(await isListening(sandbox.port)).toBe(false);
    await expect(access(sandbox.dataDir)).rejects.toThrow(/ENOENT/);
    expect(() => process.kill(-sandbox.pid, 0)).toThrow();
  });
});
