/**
 * An EventBridge rule delivering to an SQS queue, as a test sets it up on the sandbox (aws-semantics-events-auth-regions
 * §2.5): the queue, the rule, the queue policy that lets EventBridge send for that one rule, the target; and reading
 * what the queue received until a test has what it waits for, deleting each message read.
 *
 * @example
 * const queue = await createQueue(sqs, 'deploy-events');
 * await ruleToQueue(events, sqs, { name: 'deploy-events', pattern: { source: ['aws.codedeploy'] }, queue });
 * const received = await receiveEvents<{ id: string }>(sqs, queue.url, {
 *   what: 'two events',
 *   isDone: (es) => es.length >= 2,
 * });
 */
import { type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { poll } from '../../../src/poll.ts';
import { queuePolicy } from '../../../src/watch/channel.ts';

/** A queue as tests address it: its URL for SQS calls, its ARN for rule targets and policies. */
export interface TestQueue {
  url: string;
  arn: string;
}

/** The policy of §2.5 (the harness's own): EventBridge may send to the queue for this one rule. */
export { queuePolicy };

/** Creates the queue `name` and reads its ARN. */
export async function createQueue(sqs: SQSClient, name: string): Promise<TestQueue> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

export interface RuleToQueueOptions {
  /** The rule's name, on the default bus. */
  name: string;
  /** The rule's event pattern (§1.8), as an object. */
  pattern: object;
  queue: TestQueue;
  /** Set the queue policy that lets EventBridge send for this rule; without it deliveries fail. @default true */
  policy?: boolean;
}

/**
 * Puts the rule, allows it on the queue (unless `policy: false`) and targets the queue (target id `q`).
 *
 * @returns the rule's ARN.
 * @throws Error when PutTargets refuses the target, with its error code and message.
 */
export async function ruleToQueue(
  events: EventBridgeClient,
  sqs: SQSClient,
  options: RuleToQueueOptions,
): Promise<string> {
  const { name, queue } = options;
  const { RuleArn } = await events.send(
    new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(options.pattern) }),
  );
  if (options.policy ?? true) {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: { Policy: queuePolicy(queue.arn, RuleArn!) },
      }),
    );
  }
  const put = await events.send(
    new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'q', Arn: queue.arn }] }),
  );
  if (put.FailedEntryCount) {
    const failures = (put.FailedEntries ?? []).map((f) => `${f.ErrorCode}: ${f.ErrorMessage}`).join('; ');
    throw new Error(`PutTargets refused queue ${queue.arn} as a target of rule ${name}: ${failures}`);
  }
  return RuleArn!;
}

export interface ReceiveEventsOptions<E> {
  /** What is awaited, for the timeout message. */
  what: string;
  /** True once the events received so far (duplicates included) are all the test waits for. */
  isDone: (received: E[]) => boolean;
  /** One line for what was received so far. @default JSON of every event */
  describe?: (received: E[]) => string;
  /** @default 30_000 ms */
  timeout?: number;
}

/**
 * Long-polls the queue (2 s waits, 10 messages at a time), parses each body as an event and deletes the message,
 * until `isDone`. Delivery is at least once: the events come in arrival order, duplicates (same `id`) included.
 *
 * @throws WaitTimeoutError at the deadline, with what was received.
 */
export async function receiveEvents<E>(
  sqs: SQSClient,
  queueUrl: string,
  options: ReceiveEventsOptions<E>,
): Promise<E[]> {
  const received: E[] = [];
  await poll(
    async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
      );
      for (const m of out.Messages ?? []) {
        received.push(JSON.parse(m.Body!) as E);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
      return [...received];
    },
    {
      timeout: options.timeout ?? 30_000,
      what: options.what,
      isDone: options.isDone,
      ...(options.describe ? { describe: options.describe } : {}),
    },
  );
  return received;
}
