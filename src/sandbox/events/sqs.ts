/**
 * SQS in the sandbox, over its JSON 1.0 protocol (`AmazonSQS.*`, aws-semantics-events-auth-regions §3): standard
 * queues that EventBridge rules deliver to, long polling that answers as soon as a message arrives, visibility,
 * deletion by receipt handle. Queue URLs name the edge port (`http://127.0.0.1:<port>/<account>/<name>`, §3.2):
 * SDK v3 with an `endpoint` sends to the endpoint, and without one to the queue URL's host, which is the sandbox.
 *
 * @example
 * const sqs = new SqsService(runtime);
 * const { QueueUrl } = await sqs.handlers.CreateQueue({ QueueName: 'q' }, ctx);
 */
import type * as Sdk from '@aws-sdk/client-sqs';
import { ServiceError } from '../protocol/errors.ts';
import type { Handlers, Operation, OutputOf, SandboxRuntime, SandboxService } from '../types.ts';
import { type MessageRecord, type QueueRecord, QueueStore, SETTABLE_ATTRIBUTES } from './queues.ts';

export interface SqsOperations {
  CreateQueue: Operation<Sdk.CreateQueueRequest, Sdk.CreateQueueResult>;
  GetQueueUrl: Operation<Sdk.GetQueueUrlRequest, Sdk.GetQueueUrlResult>;
  ListQueues: Operation<Sdk.ListQueuesRequest, Sdk.ListQueuesResult>;
  GetQueueAttributes: Operation<Sdk.GetQueueAttributesRequest, Sdk.GetQueueAttributesResult>;
  SetQueueAttributes: Operation<Sdk.SetQueueAttributesRequest, object>;
  SendMessage: Operation<Sdk.SendMessageRequest, Sdk.SendMessageResult>;
  ReceiveMessage: Operation<Sdk.ReceiveMessageRequest, Sdk.ReceiveMessageResult>;
  DeleteMessage: Operation<Sdk.DeleteMessageRequest, object>;
  DeleteMessageBatch: Operation<Sdk.DeleteMessageBatchRequest, Sdk.DeleteMessageBatchResult>;
  ChangeMessageVisibility: Operation<Sdk.ChangeMessageVisibilityRequest, object>;
  PurgeQueue: Operation<Sdk.PurgeQueueRequest, object>;
  DeleteQueue: Operation<Sdk.DeleteQueueRequest, object>;
  TagQueue: Operation<Sdk.TagQueueRequest, object>;
  UntagQueue: Operation<Sdk.UntagQueueRequest, object>;
  ListQueueTags: Operation<Sdk.ListQueueTagsRequest, Sdk.ListQueueTagsResult>;
}

type Out<K extends keyof SqsOperations> = OutputOf<SqsOperations, K>;

const NAME = /^[A-Za-z0-9_-]{1,80}$/;
/** AWS refuses a deleted queue's name for 60 s (§3.3). */
const DELETED_NAME_MS = 60_000;

function noQueue(): ServiceError {
  return new ServiceError('QueueDoesNotExist', 'The specified queue does not exist.');
}

function invalidValue(name: string, value: unknown, reason: string): ServiceError {
  // The legacy Query code; the x-amzn-query-error header carries it too (§3.1).
  return new ServiceError(
    'InvalidParameterValue',
    `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`,
  );
}

function inRange(name: string, value: number | undefined, min: number, max: number, reason: string): void {
  if (value !== undefined && (value < min || value > max)) throw invalidValue(name, value, reason);
}

export class SqsService implements SandboxService {
  readonly name = 'sqs' as const;
  readonly runtime: SandboxRuntime;
  readonly store = new QueueStore();
  readonly handlers: Handlers<SqsOperations>;
  /** Long polls in progress: ended (empty) on reset and stop. */
  readonly #polls = new Set<() => void>();

  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
    this.handlers = this.#handlers();
  }

  /** `http://127.0.0.1:<port>/<account>/<name>`: the edge port, which every region shares (§3.2). */
  urlOf(name: string): string {
    return `http://127.0.0.1:${this.runtime.edgePort()}/${this.runtime.accountId}/${name}`;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.runtime.region}:${this.runtime.accountId}:${name}`;
  }

  /** The queue an ARN names in this region, if it exists (EventBridge targets name queues by ARN). */
  byArn(arn: string): QueueRecord | undefined {
    const name = arn.split(':').at(-1) ?? '';
    const queue = this.store.queues.get(name);
    return queue?.arn === arn ? queue : undefined;
  }

  /** The queue a QueueUrl names: its last two path segments are the account and the name (any host). */
  #queue(url: string): QueueRecord {
    let parts: string[];
    try {
      parts = new URL(url).pathname.split('/').filter(Boolean);
    } catch {
      parts = url.split('/').filter(Boolean);
    }
    const [account, name] = parts.slice(-2);
    if (account !== this.runtime.accountId || name === undefined) throw noQueue();
    const queue = this.store.queues.get(name);
    if (!queue) throw noQueue();
    return queue;
  }

  #handlers(): Handlers<SqsOperations> {
    const store = this.store;
    return {
      CreateQueue: (input): Out<'CreateQueue'> => {
        const name = input.QueueName;
        if (!NAME.test(name)) {
          throw invalidValue(
            'QueueName',
            name,
            name.endsWith('.fifo')
              ? 'The sandbox serves standard queues only; FIFO queues are not implemented.'
              : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
          );
        }
        const attributes = checkAttributes(input.Attributes ?? {});
        const existing = store.queues.get(name);
        if (existing) {
          for (const [key, value] of Object.entries(attributes)) {
            if (existing.attributes[key] !== value) {
              throw new ServiceError(
                'QueueNameExists',
                `A queue already exists with the same name and a different value for attribute ${key}`,
              );
            }
          }
          return { QueueUrl: existing.url };
        }
        const deletedAt = store.deleted.get(name);
        if (deletedAt !== undefined && Date.now() - deletedAt < DELETED_NAME_MS) {
          throw new ServiceError(
            'QueueDeletedRecently',
            'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
          );
        }
        const queue = store.create(name, { url: this.urlOf(name), arn: this.arnOf(name), attributes });
        Object.assign(queue.tags, input.tags ?? {});
        return { QueueUrl: queue.url };
      },
      GetQueueUrl: (input): Out<'GetQueueUrl'> => {
        if (input.QueueOwnerAWSAccountId && input.QueueOwnerAWSAccountId !== this.runtime.accountId)
          throw noQueue();
        const queue = store.queues.get(input.QueueName);
        if (!queue) throw noQueue();
        return { QueueUrl: queue.url };
      },
      ListQueues: (input): Out<'ListQueues'> => {
        const urls = [...store.queues.values()]
          .filter((q) => !input.QueueNamePrefix || q.name.startsWith(input.QueueNamePrefix))
          .map((q) => q.url)
          .slice(0, input.MaxResults ?? 1000);
        return urls.length > 0 ? { QueueUrls: urls } : {};
      },
      GetQueueAttributes: (input): Out<'GetQueueAttributes'> => {
        const queue = this.#queue(input.QueueUrl);
        const all = queueAttributes(queue);
        const wanted = input.AttributeNames ?? [];
        if (wanted.length === 0) return {};
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(all))
          if (wanted.includes('All') || wanted.includes(k as never)) out[k] = v;
        return { Attributes: out };
      },
      SetQueueAttributes: (input) => {
        const queue = this.#queue(input.QueueUrl);
        Object.assign(queue.attributes, checkAttributes(input.Attributes));
        queue.lastModified = Date.now();
        return {};
      },
      SendMessage: (input): Out<'SendMessage'> => {
        const queue = this.#queue(input.QueueUrl);
        inRange('DelaySeconds', input.DelaySeconds, 0, 900, 'Must be >= 0 and <= 900, if provided.');
        if (input.MessageBody === '') {
          throw new ServiceError(
            'InvalidMessageContents',
            'The message body must be at least one character long.',
          );
        }
        const message = store.send(
          queue,
          input.MessageBody,
          this.runtime.accountId,
          (input.DelaySeconds ?? 0) * 1000,
        );
        return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
      },
      ReceiveMessage: (input) => this.#receive(input),
      DeleteMessage: (input) => {
        const queue = this.#queue(input.QueueUrl);
        this.#delete(queue, input.ReceiptHandle);
        return {};
      },
      DeleteMessageBatch: (input): Out<'DeleteMessageBatch'> => {
        const queue = this.#queue(input.QueueUrl);
        const entries = input.Entries;
        if (entries.length === 0)
          throw new ServiceError(
            'EmptyBatchRequest',
            'There should be at least one DeleteMessageBatchRequestEntry in the request.',
          );
        if (entries.length > 10)
          throw new ServiceError(
            'TooManyEntriesInBatchRequest',
            `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
          );
        if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
          throw new ServiceError(
            'BatchEntryIdsNotDistinct',
            'Id values in the batch request must be unique.',
          );
        }
        const Successful: { Id: string }[] = [];
        const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
        for (const entry of entries) {
          try {
            this.#delete(queue, entry.ReceiptHandle);
            Successful.push({ Id: entry.Id });
          } catch (error) {
            const e = error as ServiceError;
            Failed.push({ Id: entry.Id, SenderFault: true, Code: e.code, Message: e.message });
          }
        }
        return { Successful, Failed };
      },
      ChangeMessageVisibility: (input) => {
        const queue = this.#queue(input.QueueUrl);
        inRange(
          'VisibilityTimeout',
          input.VisibilityTimeout,
          0,
          43_200,
          'Must be >= 0 and <= 43200, if provided.',
        );
        const message = this.#byHandle(queue, input.ReceiptHandle);
        if (message.visibleAt <= Date.now()) {
          throw new ServiceError(
            'MessageNotInflight',
            `Value ${input.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
          );
        }
        message.visibleAt = input.VisibilityTimeout === 0 ? 0 : Date.now() + input.VisibilityTimeout * 1000;
        if (input.VisibilityTimeout === 0) store.wake(queue);
        return {};
      },
      PurgeQueue: (input) => {
        const queue = this.#queue(input.QueueUrl);
        queue.messages = [];
        return {};
      },
      DeleteQueue: (input) => {
        const queue = this.#queue(input.QueueUrl);
        queue.messages = [];
        store.wake(queue);
        store.queues.delete(queue.name);
        store.deleted.set(queue.name, Date.now());
        return {};
      },
      TagQueue: (input) => {
        Object.assign(this.#queue(input.QueueUrl).tags, input.Tags);
        return {};
      },
      UntagQueue: (input) => {
        const queue = this.#queue(input.QueueUrl);
        for (const key of input.TagKeys) delete queue.tags[key];
        return {};
      },
      ListQueueTags: (input): Out<'ListQueueTags'> => {
        const tags = this.#queue(input.QueueUrl).tags;
        return Object.keys(tags).length > 0 ? { Tags: { ...tags } } : {};
      },
    };
  }

  #byHandle(queue: QueueRecord, handle: string): MessageRecord {
    const message = this.store.byHandle(queue, handle);
    if (message) return message;
    if (!isReceiptHandle(handle, queue.arn)) {
      throw new ServiceError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle.slice(0, 200)}" is not a valid receipt handle.`,
      );
    }
    // A handle of a message already deleted: DeleteMessage succeeds (§3.6); visibility changes cannot apply.
    throw new ServiceError(
      'MessageNotInflight',
      `Value ${handle.slice(0, 200)} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
    );
  }

  #delete(queue: QueueRecord, handle: string): void {
    const message = this.store.byHandle(queue, handle);
    if (message) {
      this.store.remove(queue, message);
      return;
    }
    if (!isReceiptHandle(handle, queue.arn)) {
      throw new ServiceError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle.slice(0, 200)}" is not a valid receipt handle.`,
      );
    }
  }

  async #receive(input: Sdk.ReceiveMessageRequest & { QueueUrl: string }): Promise<Out<'ReceiveMessage'>> {
    const queue = this.#queue(input.QueueUrl);
    inRange(
      'MaxNumberOfMessages',
      input.MaxNumberOfMessages,
      1,
      10,
      'Must be between 1 and 10, if provided.',
    );
    inRange('WaitTimeSeconds', input.WaitTimeSeconds, 0, 20, 'Must be >= 0 and <= 20, if provided.');
    inRange(
      'VisibilityTimeout',
      input.VisibilityTimeout,
      0,
      43_200,
      'Must be >= 0 and <= 43200, if provided.',
    );
    const max = input.MaxNumberOfMessages ?? 1;
    const waitMs =
      (input.WaitTimeSeconds ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds ?? '0')) * 1000;
    const visibilityMs =
      (input.VisibilityTimeout ?? Number(queue.attributes.VisibilityTimeout ?? '30')) * 1000;
    const deadline = Date.now() + waitMs;
    let taken = this.store.take(queue, max, visibilityMs);
    // Long poll: answer as soon as one message is visible, else after the wait with no `Messages` (§3.5).
    while (taken.length === 0 && Date.now() < deadline && this.store.queues.get(queue.name) === queue) {
      await this.#wait(queue, deadline);
      taken = this.store.take(queue, max, visibilityMs);
    }
    if (taken.length === 0) return {};
    const names = new Set<string>([
      ...(input.MessageSystemAttributeNames ?? []),
      ...(input.AttributeNames ?? []),
    ]);
    return {
      Messages: taken.map(({ message, handle }) => ({
        MessageId: message.messageId,
        ReceiptHandle: handle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        ...(names.size > 0 ? { Attributes: messageAttributes(message, names) } : {}),
      })),
    };
  }

  /** Resolves when the queue is woken, a message becomes visible again, the deadline passes, or the sandbox stops. */
  #wait(queue: QueueRecord, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const next = this.store.nextVisible(queue);
      const until = Math.min(deadline, next ?? deadline);
      const done = () => {
        clearTimeout(timer);
        queue.waiters.delete(done);
        this.#polls.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - Date.now()));
      queue.waiters.add(done);
      this.#polls.add(done);
    });
  }

  async reset(): Promise<void> {
    this.store.clear();
    for (const end of [...this.#polls]) end();
  }

  async stop(): Promise<void> {
    await this.reset();
  }
}

function isReceiptHandle(handle: string, queueArn: string): boolean {
  return Buffer.from(handle, 'base64').toString('utf8').startsWith(`${queueArn} `);
}

function checkAttributes(attributes: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'FifoQueue' || key === 'ContentBasedDeduplication') {
      throw invalidValue(
        'Attribute',
        key,
        'The sandbox serves standard queues only; FIFO attributes are not implemented.',
      );
    }
    if (!SETTABLE_ATTRIBUTES.has(key)) {
      throw new ServiceError('InvalidAttributeName', `Unknown Attribute ${key.slice(0, 100)}.`);
    }
    if (key === 'Policy') {
      try {
        JSON.parse(value);
      } catch {
        throw new ServiceError(
          'InvalidAttributeValue',
          `Invalid value for the parameter Policy: it is not valid JSON.`,
        );
      }
    }
  }
  const ranges: Record<string, [number, number]> = {
    VisibilityTimeout: [0, 43_200],
    ReceiveMessageWaitTimeSeconds: [0, 20],
    DelaySeconds: [0, 900],
    MessageRetentionPeriod: [60, 1_209_600],
    MaximumMessageSize: [1024, 1_048_576],
  };
  for (const [key, [min, max]] of Object.entries(ranges)) {
    const raw = attributes[key];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ServiceError(
        'InvalidAttributeValue',
        `Invalid value for the parameter ${key}: must be ${min}..${max}.`,
      );
    }
  }
  return { ...attributes };
}

function queueAttributes(queue: QueueRecord): Record<string, string> {
  const now = Date.now();
  const visible = queue.messages.filter((m) => m.visibleAt <= now);
  const inFlight = queue.messages.filter((m) => m.visibleAt > now && m.receiveCount > 0);
  const delayed = queue.messages.filter((m) => m.visibleAt > now && m.receiveCount === 0);
  return {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(visible.length),
    ApproximateNumberOfMessagesNotVisible: String(inFlight.length),
    ApproximateNumberOfMessagesDelayed: String(delayed.length),
    CreatedTimestamp: String(Math.floor(queue.created / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModified / 1000)),
    ...queue.attributes,
  };
}

function messageAttributes(message: MessageRecord, names: ReadonlySet<string>): Record<string, string> {
  const all: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
  };
  if (names.has('All')) return all;
  return Object.fromEntries(Object.entries(all).filter(([k]) => names.has(k)));
}
