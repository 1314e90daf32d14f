/** Steps proving teardown: no resource, process or port of the run is left. */
import assert from 'node:assert/strict';
import { poll } from '../src/poll.ts';
import { acceptsConnections } from '../src/sandbox/fleet/ports.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import { ProcessTracker } from '../src/sandbox/processes.ts';
import type { StepDefiners } from './define.ts';
import type { HarnessScenario } from './scenario.ts';

interface Footprint {
  instances: { instanceId: string; port: number }[];
  groups: number[];
}

const footprints = new WeakMap<HarnessScenario, Footprint>();

/** @param runSandbox the run's sandbox (target `sandbox`), undefined on AWS */
export function defineTeardownSteps(
  { Then, When }: StepDefiners,
  runSandbox: () => Sandbox | undefined,
): void {
  When('we tear down the stack', async function (this: HarnessScenario) {
    const sandbox = runSandbox();
    assert.ok(sandbox, 'this step inspects the sandbox: run it with HARNESS_TARGET=sandbox');
    // The instances of the run's region (the sandbox serves every region; HARNESS_REGION picks the run's).
    footprints.set(this, {
      instances: sandbox
        .region(this.harness.config.region)
        .fleet.list()
        .map((i) => ({ instanceId: i.instanceId, port: i.port })),
      groups: sandbox.runtime.processes.groups().map((g) => g.pgid),
    });
    const report = await this.harness.tryTeardown();
    await this.attachJson('teardown', report);
    assert.deepEqual(report.failed, [], 'some deletes failed');
  });

  Then('no resource of the run is left', async function (this: HarnessScenario) {
    const report = await this.harness.checkLeaks();
    await this.attachJson('leak-check', report);
    assert.ok(report.clean, `left: ${report.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ')}`);
  });

  Then('no process or port of the run is left', async function (this: HarnessScenario) {
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
          instances: sandbox
            .region(this.harness.config.region)
            .fleet.list()
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
}
