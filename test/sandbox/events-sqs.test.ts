/**
 * The sandbox's EventBridge and SQS through the real SDK v3 clients and the AWS CLI: SQS over JSON 1.0 with its
 * query-compatible errors, long polling that answers as soon as a message arrives, EventBridge rules with SQS
 * targets, the queue policy EventBridge needs, and delivery as AWS promises it (late, sometimes twice).
 */
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { createQueue, queuePolicy, ruleToQueue, type TestQueue } from './helpers/events.ts';

const ACCOUNT = '000000000000';

describe('sandbox SQS and EventBridge', () => {
  let sandbox: Sandbox;
  let sqs: SQSClient;
  let events: EventBridgeClient;

  beforeAll(async () => {
    sandbox = await startSandbox({ faults: [], timeScale: 0.02 });
    const config = {
      endpoint: sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    };
    sqs = new SQSClient(config);
    events = new EventBridgeClient(config);
  });
  afterAll(async () => {
    sqs?.destroy();
    events?.destroy();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await sandbox.services.events.reset();
    await sandbox.services.sqs.reset();
    Object.assign(sandbox.services.events.delivery, { delayMs: [0, 0], duplicateRate: 0 });
  });

  const queueFor = (name: string) => createQueue(sqs, name);
  const ruleTo = (name: string, pattern: object, queue: TestQueue, policy = true) =>
    ruleToQueue(events, sqs, { name, pattern, queue, policy });

  it('serves SQS on JSON 1.0 with queue URLs on the edge port, and answers a missing queue with both error codes', async () => {
    const { url, arn } = await queueFor('plain');
    expect(url).toBe(`http://127.0.0.1:${sandbox.port}/${ACCOUNT}/plain`);
    expect(arn).toBe(`arn:aws:sqs:us-east-1:${ACCOUNT}:plain`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'plain' }))).QueueUrl).toBe(url);
    const error = await sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect((error as QueueDoesNotExist).$metadata.httpStatusCode).toBe(400);

    const cli = await awsCli(sandbox.endpoint, ['sqs', 'get-queue-url', '--queue-name', 'nope']);
    expect(cli.code).not.toBe(0);
    expect(cli.errorCode).toBe('AWS.SimpleQueueService.NonExistentQueue');
  });

  it('long-polls: answers as soon as a message arrives, and with no Messages after the wait', async () => {
    const { url } = await queueFor('long');
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(empty.Messages).toBeUndefined();

    const started = performance.now();
    const receiving = sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' }));
    const got = await receiving;
    expect(got.Messages?.map((m) => m.Body)).toEqual(['hello']);
    // Answered by the arrival, far inside the 20 s wait (the SDK also checked MD5OfBody).
    expect(performance.now() - started).toBeLessThan(10_000);

    const handle = got.Messages![0]!.ReceiptHandle!;
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.Messages![0]!.ReceiptHandle! }),
    );
    const bad = await sqs
      .send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'fake' }))
      .catch((e: unknown) => e as Error);
    expect((bad as Error).name).toBe('ReceiptHandleIsInvalid');
    const range = await sqs
      .send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 15 }))
      .catch((e: unknown) => e as Error);
    expect((range as Error).message).toMatch(/Value 15 for parameter MaxNumberOfMessages is invalid/);
  });

  it('the AWS CLI creates a rule, long-polls the queue with --wait-time-seconds and receives a matching event', async () => {
    const aws = (args: string[]) => awsCli(sandbox.endpoint, args);
    const queue = await aws(['sqs', 'create-queue', '--queue-name', 'cli-q']);
    expect(queue.code).toBe(0);
    const url = queue.json.QueueUrl as string;
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:cli-q`;
    const rule = await aws([
      'events',
      'put-rule',
      '--name',
      'cli-rule',
      '--event-pattern',
      JSON.stringify({ source: ['app.orders'], detail: { kind: [{ prefix: 'paid' }] } }),
    ]);
    expect(rule.json.RuleArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:rule/cli-rule`);
    const attrs = JSON.stringify({ Policy: queuePolicy(arn, rule.json.RuleArn) });
    expect((await aws(['sqs', 'set-queue-attributes', '--queue-url', url, '--attributes', attrs])).code).toBe(
      0,
    );
    expect(
      (await aws(['events', 'put-targets', '--rule', 'cli-rule', '--targets', `Id=q,Arn=${arn}`])).json
        .FailedEntryCount,
    ).toBe(0);
    await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'app.orders', DetailType: 'Order', Detail: JSON.stringify({ kind: 'refund' }) },
          { Source: 'app.orders', DetailType: 'Order', Detail: JSON.stringify({ kind: 'paid-card' }) },
        ],
      }),
    );
    const received = await aws(['sqs', 'receive-message', '--queue-url', url, '--wait-time-seconds', '5']);
    expect(received.code).toBe(0);
    const messages = received.json.Messages as { Body: string }[];
    expect(messages.map((m) => JSON.parse(m.Body).detail.kind)).toEqual(['paid-card']);
    const described = await aws(['events', 'describe-rule', '--name', 'cli-rule']);
    expect(described.json.State).toBe('ENABLED');
  });

  it('matches patterns as EventBridge does: exact, prefix, anything-but, exists, numeric, arrays intersect', async () => {
    const event = {
      source: 'aws.codepipeline',
      'detail-type': 'CodePipeline Stage Execution State Change',
      resources: ['arn:aws:codepipeline:us-east-1:000000000000:web'],
      detail: { pipeline: 'web', stage: 'Deploy', state: 'SUCCEEDED', version: 3 },
    };
    const test = async (pattern: object) =>
      (
        await events.send(
          new TestEventPatternCommand({
            EventPattern: JSON.stringify(pattern),
            Event: JSON.stringify(event),
          }),
        )
      ).Result;
    expect(await test({ source: ['aws.codepipeline'], detail: { pipeline: ['web'] } })).toBe(true);
    expect(await test({ source: ['aws.codedeploy'] })).toBe(false);
    expect(await test({ 'detail-type': [{ prefix: 'CodePipeline Stage' }] })).toBe(true);
    expect(await test({ detail: { state: [{ 'anything-but': ['FAILED', 'STOPPED'] }] } })).toBe(true);
    expect(await test({ detail: { state: [{ 'anything-but': { prefix: 'SUCC' } }] } })).toBe(false);
    expect(await test({ detail: { 'execution-id': [{ exists: false }] } })).toBe(true);
    expect(await test({ detail: { version: [{ numeric: ['>=', 3] }] } })).toBe(true);
    expect(await test({ resources: ['arn:aws:codepipeline:us-east-1:000000000000:web', 'other'] })).toBe(
      true,
    );
    // A pattern key spelt otherwise never matches (§1.8), and a leaf that is not an array is refused (§2.1).
    expect(await test({ detail: { 'deployment-group': ['x'] } })).toBe(false);
    const invalid = await events
      .send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ source: 'aws.codepipeline' }) }))
      .catch((e: unknown) => e as Error);
    expect(invalid).toMatchObject({ name: 'InvalidEventPatternException' });
    expect((invalid as Error).message).toMatch(
      /Event pattern is not valid. Reason: "source" must be an object or an array/,
    );
  });

  it('delivers only to a queue whose policy lets the rule send; otherwise drops the event and counts a failed invocation', async () => {
    const allowed = await queueFor('allowed');
    const closed = await queueFor('closed');
    await ruleTo('to-allowed', { source: ['app.test'] }, allowed);
    await ruleTo('to-closed', { source: ['app.test'] }, closed, false);
    await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'app.test', DetailType: 'T', Detail: '{"n":1}' }] }),
    );
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: allowed.url, WaitTimeSeconds: 5 }));
    expect(got.Messages).toHaveLength(1);
    await poll(() => sandbox.services.events.invocations('to-closed'), {
      timeout: 5_000,
      what: 'the failed invocation of to-closed',
      isDone: (s) => s.failed === 1,
    });
    expect(sandbox.services.events.invocations('to-closed')).toEqual({ matched: 1, delivered: 0, failed: 1 });
    const none = await sqs.send(new ReceiveMessageCommand({ QueueUrl: closed.url, WaitTimeSeconds: 0 }));
    expect(none.Messages).toBeUndefined();
  });

  it('delivers late and sometimes twice (same event id), as AWS promises no better', async () => {
    const queue = await queueFor('adversary');
    await ruleTo('dup', { source: ['app.dup'] }, queue);
    Object.assign(sandbox.services.events.delivery, { delayMs: [500, 2_000], duplicateRate: 1 });
    const sent = performance.now();
    await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'app.dup', DetailType: 'T', Detail: '{}' }] }),
    );
    const bodies: string[] = [];
    await poll(
      async () => {
        const r = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
        );
        for (const m of r.Messages ?? []) {
          bodies.push(m.Body!);
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queue.url,
              Entries: [{ Id: '1', ReceiptHandle: m.ReceiptHandle! }],
            }),
          );
        }
        return bodies.length;
      },
      { timeout: 10_000, what: 'both copies of the event', isDone: (n) => n >= 2 },
    );
    expect(performance.now() - sent).toBeGreaterThanOrEqual(10); // 500 AWS ms at time scale 0.02
    const ids = bodies.map((b) => JSON.parse(b).id);
    expect(ids[0]).toBe(ids[1]);
  });

  it('refuses to delete a rule that has targets, tags rules and queues, and deletes queue and rule in teardown order', async () => {
    const queue = await queueFor('tagged');
    const ruleArn = await ruleTo('tagged-rule', { source: ['x.y'] }, queue);
    const blocked = await events
      .send(new DeleteRuleCommand({ Name: 'tagged-rule' }))
      .catch((e: unknown) => e as Error);
    expect(blocked).toMatchObject({
      name: 'ValidationException',
      message: "Rule can't be deleted since it has targets.",
    });
    await events.send(
      new PutRuleCommand({
        Name: 'tagged-rule',
        EventPattern: '{"source":["x.y"]}',
        Tags: [{ Key: 'run', Value: 'r1' }],
      }),
    );
    expect((await events.send(new ListTagsForResourceCommand({ ResourceARN: ruleArn }))).Tags).toEqual([]);
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'tagged-rule' }))).Targets).toHaveLength(
      1,
    );
    await events.send(new RemoveTargetsCommand({ Rule: 'tagged-rule', Ids: ['q'] }));
    await events.send(new DeleteRuleCommand({ Name: 'tagged-rule' }));
    const gone = await events
      .send(new DescribeRuleCommand({ Name: 'tagged-rule' }))
      .catch((e: unknown) => e as Error);
    expect(gone).toMatchObject({ name: 'ResourceNotFoundException' });
    const created = await sqs.send(new CreateQueueCommand({ QueueName: 'with-tags', tags: { run: 'r1' } }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: created.QueueUrl }))).Tags).toEqual({
      run: 'r1',
    });
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
    const recreate = await sqs
      .send(new CreateQueueCommand({ QueueName: 'tagged' }))
      .catch((e: unknown) => e as Error);
    expect(recreate).toMatchObject({ name: 'QueueDeletedRecently' });
  });
});
