/**
 * `timeouts.teardown` is a deadline, not a hope: a delete that hangs (here the sandbox's DeleteApplication, made to
 * take 60 s by fault injection) is aborted when it passes, `close()` returns by then, and the report says which
 * entry timed out and which were never tried. Every delete gets the abort signal and hands it to the SDK call.
 */
import { CreateRepositoryCommand, DeleteRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CreateApplicationCommand, DeleteApplicationCommand } from '@aws-sdk/client-codedeploy';
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/harness.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { Ledger } from '../../src/teardown/ledger.ts';

const HANG_MS = 60_000;
const DEADLINE_MS = 2_000;

describe('the teardown deadline', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.02 });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('close() returns by the deadline when a delete hangs, and says which entry timed out', async () => {
    const harness = await Harness.start({ sandbox, config: { runId: 'td1', timeouts: { teardown: '2s' } } });
    const { codecommit, codedeploy, elbv2 } = harness.clients;
    // Created in this order, so torn down backwards: the repository, then the (hung) application, then the group.
    const tg = (
      await elbv2.send(
        new CreateTargetGroupCommand({ Name: 'cph-td1-tg', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }),
      )
    ).TargetGroups![0]!;
    harness.ledger.add({
      kind: 'target-group',
      id: 'cph-td1-tg',
      delete: (abortSignal) =>
        elbv2
          .send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }), { abortSignal })
          .then(() => undefined),
    });
    await codedeploy.send(new CreateApplicationCommand({ applicationName: 'cph-td1-app' }));
    const signals: AbortSignal[] = [];
    harness.ledger.add({
      kind: 'application',
      id: 'cph-td1-app',
      delete: (abortSignal) => {
        signals.push(abortSignal);
        return codedeploy
          .send(new DeleteApplicationCommand({ applicationName: 'cph-td1-app' }), { abortSignal })
          .then(() => undefined);
      },
    });
    await codecommit!.send(new CreateRepositoryCommand({ repositoryName: 'cph-td1-repo' }));
    harness.ledger.add({
      kind: 'repository',
      id: 'cph-td1-repo',
      delete: (abortSignal) =>
        codecommit!
          .send(new DeleteRepositoryCommand({ repositoryName: 'cph-td1-repo' }), { abortSignal })
          .then(() => undefined),
    });
    sandbox.faults.set({
      rules: [{ service: 'codedeploy', operation: 'DeleteApplication', type: 'latency', latencyMs: HANG_MS }],
    });

    const started = Date.now();
    const { teardown } = await harness.close();
    const took = Date.now() - started;

    // By the deadline, plus the leak check close() runs after teardown: nowhere near the 60 s hang.
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(took).toBeLessThan(DEADLINE_MS + 5_000);
    expect(teardown.deleted).toEqual(['repository cph-td1-repo']);
    expect(teardown.failed).toEqual([
      {
        kind: 'application',
        id: 'cph-td1-app',
        reason: expect.stringMatching(
          /^timed out: no answer after \d(\.\d)?s, the teardown deadline of 2s \(timeouts\.teardown\) passed$/,
        ),
      },
      {
        kind: 'target-group',
        id: 'cph-td1-tg',
        reason: 'not tried: the teardown deadline of 2s (timeouts.teardown) passed',
      },
    ]);
    // The hung call got the signal, and it fired: the SDK request was aborted, not left running.
    expect(signals.length).toBeGreaterThanOrEqual(1);
    expect(signals.every((s) => s.aborted)).toBe(true);
    sandbox.faults.clear();
  }, 30_000);

  it('gives up a delete that ignores its signal, at the deadline', async () => {
    const ledger = new Ledger();
    ledger.add({ kind: 'process', id: 'deaf', delete: () => new Promise<void>(() => {}) });
    const started = Date.now();
    const report = await ledger.tryTeardown({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(300 + 1_000);
    expect(report.failed).toEqual([
      {
        kind: 'process',
        id: 'deaf',
        reason: expect.stringMatching(
          /^timed out: .*the teardown deadline of 300ms \(timeouts\.teardown\) passed$/,
        ),
      },
    ]);
  });
});
