/**
 * A release on the sandbox watched by AWS's events (the run's EventBridge rule → its SQS queue) against the same
 * release polled: with events the waits are woken by events and read less (fewer API calls for the same
 * release); with the EventBridge action denied the release still passes on polling and says so once; teardown
 * removes the rule and the queue and the leak check proves it.
 */
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

let sandbox: Sandbox;
let events: EventBridgeClient;
let sqs: SQSClient;
const started: Harness[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02, faults: [] });
  const config = { endpoint: sandbox.endpoint, region: 'us-east-1', credentials: { ...sandbox.credentials } };
  events = new EventBridgeClient(config);
  sqs = new SQSClient(config);
}, 60_000);
afterAll(async () => {
  for (const h of started) await h.close().catch(() => undefined);
  events?.destroy();
  sqs?.destroy();
  await sandbox?.stop();
});

/** The calls a wait makes to read state, by operation, during `fn`. */
async function readsDuring(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const ops = [
    'codepipeline:GetPipelineState',
    'codepipeline:ListPipelineExecutions',
    'codedeploy:GetDeployment',
  ];
  const before = structuredClone(sandbox.faults.stats().byOperation);
  await fn();
  const after = sandbox.faults.stats().byOperation;
  return Object.fromEntries(ops.map((op) => [op, (after[op]?.calls ?? 0) - (before[op]?.calls ?? 0)]));
}

/** A release whose ValidateService waits 10 s first: a stretch of a deployment where nothing changes. */
async function slowRelease(harness: Harness) {
  return harness.follow(await harness.push({ slowValidation: true }), { probe: false });
}

/**
 * The GetDeployment calls the harness made while ValidateService ran on every green instance (from the last one's
 * start to the first one's end: nothing changes then, and no event comes), during `fn`.
 */
async function quietReads(harness: Harness, fn: () => Promise<{ deploymentId: string }>): Promise<number> {
  const at: number[] = [];
  harness.clients.codedeploy.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetDeploymentCommand') at.push(Date.now());
      return next(args);
    },
    { step: 'initialize', name: 'quietReadsRecorder' },
  );
  const { deploymentId } = await fn();
  const validations = (await harness.lifecycleEvents(deploymentId))
    .filter((t) => t.label !== 'Blue')
    .map((t) => t.events.find((e) => e.name === 'ValidateService')!);
  const from = Math.max(...validations.map((e) => e.startTime!.getTime()));
  const to = Math.min(...validations.map((e) => e.endTime!.getTime()));
  expect(to - from).toBeGreaterThan(5000);
  return at.filter((t) => t > from && t < to).length;
}

async function start(runId: string, config: { events?: 'auto' | 'on' | 'off' } = {}, log?: string[]) {
  const harness = await Harness.start({
    sandbox,
    config: { runId, ...config },
    ...(log ? { log: (line: string) => log.push(line) } : {}),
  });
  started.push(harness);
  return harness;
}

describe('watching a release by events', () => {
  let polledReads: Record<string, number>;
  let polledQuiet: number;

  it('with events off, polls (the baseline)', async () => {
    const harness = await start('evoff', { events: 'off' });
    await harness.ready();
    polledReads = await readsDuring(async () => {
      polledQuiet = await quietReads(harness, () => slowRelease(harness));
    });
    // Polling reads on through the quiet stretch (its interval grows to 5 s).
    expect(polledQuiet).toBeGreaterThanOrEqual(3);
    expect(harness.watch.report()).toMatchObject({ mode: 'polling', events: 0, wakes: 0 });
    expect(harness.watch.describe()).toBe('polling: events are off (events: off, HARNESS_EVENTS)');
    await harness.close();
  }, 180_000);

  it('with events on, wakes its waits on events, reads less, and teardown leaves neither rule nor queue', async () => {
    // AWS's delivery, not the sandbox's best: late and sometimes twice.
    Object.assign(sandbox.services.events.delivery, { delayMs: [200, 1500], duplicateRate: 0.2 });
    const log: string[] = [];
    const harness = await start('evon', {}, log);

    await harness.ready();
    let quiet = 0;
    const reads = await readsDuring(async () => {
      quiet = await quietReads(harness, () => slowRelease(harness));
    });
    const report = harness.watch.report();
    expect(report.mode).toBe('events');
    expect(report.events).toBeGreaterThan(5);
    expect(report.wakes).toBeGreaterThan(0);
    expect(log.filter((l) => l.startsWith('watching by events')).length).toBe(1);
    // The same release, fewer reads: while ValidateService takes its 10 s nothing changes and no event comes, so
    // the deployment wait sleeps on its safety-net interval (5 s, growing) instead of polling.
    expect(quiet).toBeLessThanOrEqual(2);
    expect(quiet).toBeLessThan(polledQuiet);
    // Everywhere else an event wakes the wait and one read confirms it: no more reads than polling made.
    expect(reads['codedeploy:GetDeployment']).toBeLessThanOrEqual(polledReads['codedeploy:GetDeployment']!);

    const name = report.name!;
    expect(name).toMatch(/^cph-evon-[0-9a-f]{6}-events$/);
    const rules = await events.send(new ListRulesCommand({ NamePrefix: name }));
    expect(rules.Rules?.map((r) => [r.Name, r.State])).toEqual([[name, 'ENABLED']]);
    const { teardown, leaks } = await harness.close();
    expect(teardown.deleted).toEqual(
      expect.arrayContaining([`EventBridge rule ${name} (run events)`, `SQS queue ${name} (run events)`]),
    );
    expect(leaks.clean).toBe(true);
    expect((await events.send(new ListRulesCommand({ NamePrefix: name }))).Rules).toEqual([]);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }))).QueueUrls).toBeUndefined();
  }, 180_000);

  it('with EventBridge denied, passes on polling and says so once', async () => {
    const log: string[] = [];
    const harness = await start('evdeny', {}, log);
    sandbox.faults.set([{ type: 'deny', service: 'events', operation: 'PutRule' }]);
    try {
      await harness.ready();
      const release = await harness.release({ probe: false });
      expect(release.live.version).toBe(release.push.version);
    } finally {
      sandbox.faults.set([]);
    }
    const report = harness.watch.report();
    expect(report.mode).toBe('polling');
    expect(report.reason).toMatch(
      /setting up EventBridge rule and SQS queue cph-evdeny-[0-9a-f]{6}-events failed: access denied/,
    );
    expect(report.reason).toMatch(/events:PutRule/);
    expect(log.filter((l) => l.startsWith('watching by polling')).length).toBe(1);
    // The queue made before the denial is the run's too: teardown deletes it.
    const { leaks } = await harness.close();
    expect(leaks.clean).toBe(true);
    expect(
      (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: report.name! }))).QueueUrls,
    ).toBeUndefined();
  }, 180_000);

  it('with events on (required) and SQS denied, refuses to start the release, naming the setting', async () => {
    const harness = await start('evreq', { events: 'on' });
    sandbox.faults.set([{ type: 'deny', service: 'sqs', operation: 'CreateQueue' }]);
    try {
      await expect(harness.ready()).rejects.toThrow(
        /events are on \(events: on, HARNESS_EVENTS\) but setting up EventBridge rule and SQS queue cph-evreq-[0-9a-f]{6}-events failed: access denied.*sqs:CreateQueue.*HARNESS_EVENTS=auto/s,
      );
    } finally {
      sandbox.faults.set([]);
    }
    expect((await harness.close()).leaks.clean).toBe(true);
  }, 180_000);
});
