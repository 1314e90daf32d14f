/** Steps proving teardown: no resource, process or port of the run is left. */
import assert from 'node:assert/strict';
import { Then, When } from './define.ts';
import { poll } from '../src/poll.ts';
import { ProcessTracker } from '../src/sandbox/processes.ts';
import { runSandbox } from './hooks.ts';
import type { HarnessWorld } from './world.ts';
import { acceptsConnections } from '../src/sandbox/fleet/ports.ts';

interface Footprint {
  instances: { instanceId: string; port: number }[];
  groups: number[];
}

const footprints = new WeakMap<HarnessWorld, Footprint>();

When('we tear down the stack', async function (this: HarnessWorld) {
  const sandbox = runSandbox();
  assert.ok(sandbox, 'this step inspects the sandbox: run it with HARNESS_TARGET=sandbox');
  footprints.set(this, {
    instances: sandbox.services.fleet.list().map((i) => ({ instanceId: i.instanceId, port: i.port })),
    groups: sandbox.runtime.processes.groups().map((g) => g.pgid),
  });
  const report = await this.harness.teardown();
  await this.attachJson('teardown', report);
  assert.deepEqual(report.failed, [], 'some deletes failed');
});

Then('no resource of the run is left', async function (this: HarnessWorld) {
  const report = await this.harness.leakCheck();
  await this.attachJson('leak-check', report);
  assert.ok(report.clean, `left: ${report.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ')}`);
});

Then('no process or port of the run is left', async function (this: HarnessWorld) {
  const footprint = footprints.get(this);
  assert.ok(footprint && footprint.instances.length > 0, 'no instances were recorded before teardown');
  const sandbox = runSandbox()!;
  // Instances end asynchronously after their group is deleted, as on AWS: give it a deadline, not a pass.
  const left = await poll(
    async () => {
      const open: string[] = [];
      for (const { instanceId, port } of footprint.instances)
        if (await acceptsConnections(port)) open.push(`${instanceId}:${port}`);
      return {
        instances: sandbox.services.fleet
          .list()
          .filter((i) => i.state !== 'terminated')
          .map((i) => i.instanceId),
        processGroups: footprint.groups.filter((pgid) => ProcessTracker.alive(pgid)),
        openPorts: open,
      };
    },
    {
      timeout: 30_000,
      isDone: (l) => !l.instances.length && !l.processGroups.length && !l.openPorts.length,
      what: 'every instance, process group and port of the run to be gone',
    },
  );
  assert.deepEqual(left, { instances: [], processGroups: [], openPorts: [] });
  this.log(
    `${footprint.instances.length} instances and ${footprint.groups.length} process groups gone, ports closed`,
  );
});
