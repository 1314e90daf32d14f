/**
 * The watch on its own, against the sandbox's EventBridge and SQS: which events concern which wait, a poll woken
 * by an event instead of its interval, duplicates dropped, and the fallback to polling when the setup is denied.
 */
import { EventBridgeClient, PutEventsCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { Ledger } from '../../src/teardown/ledger.ts';
import { concerns, parseEvent, rulePattern, Watch, type WatchedEvent } from '../../src/watch/index.ts';
import { settlesInstances } from '../../src/watch/topics.ts';

let sandbox: Sandbox;
let events: EventBridgeClient;
let sqs: SQSClient;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02, faults: [] });
  const config = { endpoint: sandbox.endpoint, region: 'us-east-1', credentials: { ...sandbox.credentials } };
  events = new EventBridgeClient(config);
  sqs = new SQSClient(config);
});
afterAll(async () => {
  events?.destroy();
  sqs?.destroy();
  await sandbox?.stop();
});

function event(detailType: string, detail: Record<string, unknown>, id = crypto.randomUUID()): WatchedEvent {
  return {
    id,
    'detail-type': detailType,
    source: detailType.startsWith('CodeDeploy') ? 'aws.codedeploy' : 'aws.codepipeline',
    time: '2026-11-30T00:00:00Z',
    detail,
  };
}

describe('which events concern a wait', () => {
  const stage = event('CodePipeline Stage Execution State Change', {
    pipeline: 'web',
    'execution-id': 'e1',
    stage: 'Deploy',
    state: 'SUCCEEDED',
  });
  const action = event('CodePipeline Action Execution State Change', {
    pipeline: 'web',
    'execution-id': 'e1',
    stage: 'Deploy',
    action: 'Deploy',
    state: 'STARTED',
  });
  const instance = event('CodeDeploy Instance State-change Notification', {
    deploymentId: 'd-1',
    state: 'SUCCESS',
  });

  it('matches a stage wait on its stage and execution, not on another execution or an action when told so', () => {
    expect(concerns({ pipeline: 'web', executionId: 'e1', stage: 'Deploy' }, stage)).toBe(true);
    expect(concerns({ pipeline: 'web', executionId: 'e2', stage: 'Deploy' }, stage)).toBe(false);
    expect(concerns({ pipeline: 'web', executionId: 'e1', stage: 'Source' }, stage)).toBe(false);
    expect(concerns({ pipeline: 'web', executionId: 'e1', stage: 'Deploy', actions: false }, action)).toBe(
      false,
    );
    expect(concerns({ pipeline: 'api' }, stage)).toBe(false);
  });

  it('matches a deployment wait on deployment events, and on instance events that end an instance part only when asked', () => {
    const deployment = event('CodeDeploy Deployment State-change Notification', {
      deploymentId: 'd-1',
      state: 'START',
    });
    expect(concerns({ deploymentId: 'd-1' }, deployment)).toBe(true);
    expect(concerns({ deploymentId: 'd-1' }, instance)).toBe(false);
    expect(concerns({ deploymentId: 'd-1', instances: true }, instance)).toBe(true);
    expect(concerns({ deploymentId: 'd-2', instances: true }, instance)).toBe(false);
    // An instance starting changes nothing a deployment wait reads.
    const starting = { ...instance, detail: { ...instance.detail, state: 'START' } };
    expect(concerns({ deploymentId: 'd-1', instances: true }, starting)).toBe(false);
  });

  it('wakes a deployment wait once per batch of instances, whatever order their events come in', () => {
    const instances = new Map<string, Map<string, string>>();
    const of = (instanceId: string, state: string, deploymentId = 'd-1') =>
      settlesInstances(
        instances,
        event('CodeDeploy Instance State-change Notification', { deploymentId, instanceId, state }),
      );
    // Green: two instances start, the first to end leaves the other running.
    expect(of('i-1', 'START')).toBe(false);
    expect(of('i-2', 'START')).toBe(false);
    expect(of('i-1', 'SUCCESS')).toBe(false);
    expect(of('i-2', 'SUCCESS')).toBe(true);
    // Blue, delivered out of order: an end before its start counts, the late START changes nothing.
    expect(of('i-3', 'SUCCESS')).toBe(true);
    expect(of('i-4', 'START')).toBe(false);
    expect(of('i-3', 'START')).toBe(false);
    expect(of('i-4', 'FAILURE')).toBe(true);
    // Another deployment's instances are its own; any other event settles.
    expect(of('i-9', 'START', 'd-2')).toBe(false);
    expect(of('i-5', 'SUCCESS')).toBe(true);
    expect(
      settlesInstances(
        instances,
        event('CodeDeploy Deployment State-change Notification', { deploymentId: 'd-2', state: 'SUCCESS' }),
      ),
    ).toBe(true);
  });

  it('reads only EventBridge events from the queue (anything else is not an event)', () => {
    expect(parseEvent('not json')).toBeUndefined();
    expect(parseEvent('{"hello":1}')).toBeUndefined();
    expect(parseEvent(JSON.stringify({ ...stage, version: '0' }))?.id).toBe(stage.id);
  });

  it("builds a rule pattern EventBridge accepts and that matches the run's pipeline and group only", async () => {
    const pattern = JSON.stringify(
      rulePattern({ pipelineName: 'web', applicationName: 'app', deploymentGroupName: 'dg' }),
    );
    const test = async (e: object) =>
      (await events.send(new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(e) })))
        .Result;
    const envelope = {
      version: '0',
      account: '000000000000',
      region: 'us-east-1',
      resources: [],
      time: 'x',
      id: '1',
    };
    expect(await test({ ...envelope, ...stage })).toBe(true);
    expect(await test({ ...envelope, ...stage, detail: { ...stage.detail, pipeline: 'api' } })).toBe(false);
    expect(
      await test({
        ...envelope,
        ...instance,
        detail: { ...instance.detail, application: 'app', deploymentGroup: 'dg' },
      }),
    ).toBe(true);
    expect(
      await test({
        ...envelope,
        ...instance,
        detail: { ...instance.detail, application: 'app', deploymentGroup: 'other' },
      }),
    ).toBe(false);
  });
});

describe('a watch on the sandbox', () => {
  it('wakes a poll on an event of its topic before the interval, and drops a duplicate', async () => {
    const ledger = new Ledger();
    const lines: string[] = [];
    const watch = new Watch({
      setting: 'on',
      clients: { events, sqs },
      ledger,
      runId: 'w1',
      log: (l) => lines.push(l),
    });
    try {
      await watch.start({ pipelineName: 'web' });
      expect(watch.mode).toBe('events');
      const options = watch.pollOptions({ pipeline: 'web' }, { min: 250, max: 5000 });
      // The safety net: slower than the base interval while events are on.
      expect(options.interval).toMatchObject({ min: 10_000, max: 30_000 });
      let reads = 0;
      const started = performance.now();
      const waiting = poll(() => ++reads, { timeout: 60_000, isDone: (n) => n >= 2, ...options });
      // An event of the pipeline, twice (as EventBridge may deliver it), straight into the run's queue.
      const body = JSON.stringify({
        version: '0',
        id: 'same-id',
        'detail-type': 'CodePipeline Pipeline Execution State Change',
        source: 'aws.codepipeline',
        time: '2026-11-30T00:00:00Z',
        detail: { pipeline: 'web', 'execution-id': 'e1', state: 'STARTED' },
      });
      const QueueUrl = `http://127.0.0.1:${sandbox.port}/000000000000/${watch.report().name}`;
      expect(watch.report().name).toMatch(/^cph-w1-[0-9a-f]{6}-events$/);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
      expect(await waiting).toBe(2);
      // Woken: the second read came long before the 5 s safety-net interval.
      expect(performance.now() - started).toBeLessThan(4_000);
      await poll(() => watch.report(), { timeout: 10_000, isDone: (r) => r.duplicates === 1 });
      expect(watch.report()).toMatchObject({ mode: 'events', events: 1, duplicates: 1 });
      expect(watch.report().wakes).toBeGreaterThanOrEqual(1);
    } finally {
      await watch.close();
      const report = await ledger.tryTeardown();
      expect(report.failed).toEqual([]);
    }
    expect(await watch.leftovers()).toEqual([]);
    expect(lines.filter((l) => l.startsWith('watching by events'))).toHaveLength(1);
  });

  it('reads again after an event at its follow-up times only while followUpIf holds', async () => {
    const ledger = new Ledger();
    const watch = new Watch({ setting: 'on', clients: { events, sqs }, ledger, runId: 'w4' });
    try {
      await watch.start({ pipelineName: 'web', applicationName: 'app', deploymentGroupName: 'dg' });
      const QueueUrl = `http://127.0.0.1:${sandbox.port}/000000000000/${watch.report().name}`;
      const send = (state: string) =>
        sqs.send(
          new SendMessageCommand({
            QueueUrl,
            MessageBody: JSON.stringify({
              version: '0',
              id: crypto.randomUUID(),
              'detail-type': 'CodeDeploy Instance State-change Notification',
              source: 'aws.codedeploy',
              time: '2026-11-30T00:00:00Z',
              detail: { deploymentId: 'd-1', instanceId: 'i-1', state },
            }),
          }),
        );
      const run = async (instancesDone: boolean) => {
        let asked = 0;
        const { wake } = watch.pollOptions(
          {
            deploymentId: 'd-1',
            instances: true,
            followUpMs: [0],
            followUpIf: () => {
              asked += 1;
              return instancesDone;
            },
          },
          { min: 250, max: 5000 },
        );
        const signal = new AbortController().signal;
        const first = wake!(signal);
        await send('SUCCESS');
        await first;
        const wakes = watch.report().wakes;
        // Parked again after its read: a follow-up (due at once) or the next event ends the wait.
        const second = wake!(signal);
        if (!instancesDone) await send('SUCCESS');
        await second;
        expect(asked).toBe(1);
        return watch.report().wakes - wakes;
      };
      // Instances still busy: no follow-up, only the next event wakes it.
      expect(await run(false)).toBe(1);
      // Every instance done: the follow-up read comes with no event.
      expect(await run(true)).toBe(0);
    } finally {
      await watch.close();
      expect((await ledger.tryTeardown()).failed).toEqual([]);
    }
  });

  it('falls back to polling when EventBridge is denied (auto), saying why once, and leaves no queue', async () => {
    const ledger = new Ledger();
    const lines: string[] = [];
    const watch = new Watch({
      setting: 'auto',
      clients: { events, sqs },
      ledger,
      runId: 'w2',
      log: (l) => lines.push(l),
    });
    sandbox.faults.set([{ type: 'deny', service: 'events', operation: 'PutRule' }]);
    try {
      await watch.start({ pipelineName: 'web' });
      await watch.start({ pipelineName: 'web' });
    } finally {
      sandbox.faults.set([]);
    }
    expect(watch.mode).toBe('polling');
    expect(watch.pollOptions({ pipeline: 'web' }, { min: 250, max: 5000 })).toEqual({
      interval: { min: 250, max: 5000 },
    });
    expect(lines.filter((l) => l.startsWith('watching by polling'))).toHaveLength(1);
    expect(watch.describe()).toMatch(
      /^polling: setting up EventBridge rule and SQS queue cph-w2-[0-9a-f]{6}-events failed: access denied/,
    );
    // The queue made before the denial is in the ledger: teardown deletes it.
    expect(ledger.entries.map((e) => e.kind)).toEqual(['sqs-queue']);
    expect((await ledger.tryTeardown()).failed).toEqual([]);
    expect(await watch.leftovers()).toEqual([]);
    await watch.close();
  });

  it('is not woken by events its rule does not match (another source), which never reach its queue', async () => {
    const ledger = new Ledger();
    const watch = new Watch({ setting: 'on', clients: { events, sqs }, ledger, runId: 'w3' });
    try {
      await watch.start({ pipelineName: 'web' });
      await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'app.other', DetailType: 'X', Detail: '{"pipeline":"web"}' }],
        }),
      );
      // Matching happens when the event is put: the run's rule did not match it, so nothing is delivered.
      expect(sandbox.services.events.invocations(watch.report().name!)).toEqual({
        matched: 0,
        delivered: 0,
        failed: 0,
      });
      expect(watch.report()).toMatchObject({ events: 0, wakes: 0 });
    } finally {
      await watch.close();
      await ledger.tryTeardown();
    }
  });
});
