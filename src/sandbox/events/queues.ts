/**
 * SQS state of one region: standard queues, their messages and the long polls waiting on them
 * (aws-semantics-events-auth-regions §3.3–§3.7). Visibility timeouts and long-poll waits are real time, not
 * time-scaled: they are durations the client chooses, as `WaitTimeSeconds` is a client wait.
 *
 * @example
 * const store = new QueueStore();
 * const queue = store.create('events-q', { url, arn, attributes: {} });
 * store.send(queue, '{"detail-type":"..."}', 'events.amazonaws.com');
 */
import { createHash, randomUUID } from 'node:crypto';

export interface MessageRecord {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly sentAt: number;
  /** Epoch ms from which receives see it again (0: visible). */
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** Every receipt handle issued for it (any of them deletes it, as moto and AWS in practice do, §3.6). */
  readonly handles: Set<string>;
  readonly senderId: string;
}

export interface QueueRecord {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly created: number;
  lastModified: number;
  readonly attributes: Record<string, string>;
  readonly tags: Record<string, string>;
  messages: MessageRecord[];
  /** Long polls waiting for a message: each is woken (and re-checks) when one arrives or becomes visible. */
  readonly waiters: Set<() => void>;
}

/** The attributes a new queue has unless the request sets them (§3.3). */
export const QUEUE_DEFAULTS: Readonly<Record<string, string>> = {
  VisibilityTimeout: '30',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  SqsManagedSseEnabled: 'true',
};

/** Attributes SetQueueAttributes / CreateQueue accept on a standard queue. */
export const SETTABLE_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...Object.keys(QUEUE_DEFAULTS),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
]);

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export class QueueStore {
  /** By name. */
  readonly queues = new Map<string, QueueRecord>();
  /** Name → when it was deleted (epoch ms): the 60 s in which AWS refuses the name (§3.3). */
  readonly deleted = new Map<string, number>();

  create(name: string, init: { url: string; arn: string; attributes: Record<string, string> }): QueueRecord {
    const now = Date.now();
    const queue: QueueRecord = {
      name,
      url: init.url,
      arn: init.arn,
      created: now,
      lastModified: now,
      attributes: { ...QUEUE_DEFAULTS, ...init.attributes },
      tags: {},
      messages: [],
      waiters: new Set(),
    };
    this.queues.set(name, queue);
    return queue;
  }

  /** Adds a message and wakes the long polls waiting on the queue. */
  send(queue: QueueRecord, body: string, senderId: string, delayMs = 0): MessageRecord {
    const message: MessageRecord = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      sentAt: Date.now(),
      visibleAt: delayMs > 0 ? Date.now() + delayMs : 0,
      receiveCount: 0,
      handles: new Set(),
      senderId,
    };
    queue.messages.push(message);
    this.wake(queue);
    return message;
  }

  wake(queue: QueueRecord): void {
    for (const waiter of [...queue.waiters]) waiter();
  }

  /** Takes up to `max` visible messages, making them invisible for `visibilityMs`. */
  take(queue: QueueRecord, max: number, visibilityMs: number): { message: MessageRecord; handle: string }[] {
    const now = Date.now();
    this.#expire(queue, now);
    const out: { message: MessageRecord; handle: string }[] = [];
    for (const message of queue.messages) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      message.visibleAt = now + visibilityMs;
      message.receiveCount += 1;
      message.firstReceiveAt ??= now;
      const handle = Buffer.from(`${queue.arn} ${message.messageId} ${randomUUID()}`).toString('base64');
      message.handles.add(handle);
      out.push({ message, handle });
    }
    return out;
  }

  /** When the next invisible message becomes visible again (epoch ms), or undefined. */
  nextVisible(queue: QueueRecord): number | undefined {
    let next: number | undefined;
    const now = Date.now();
    for (const m of queue.messages)
      if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    return next;
  }

  byHandle(queue: QueueRecord, handle: string): MessageRecord | undefined {
    return queue.messages.find((m) => m.handles.has(handle));
  }

  remove(queue: QueueRecord, message: MessageRecord): void {
    queue.messages = queue.messages.filter((m) => m !== message);
  }

  /** Messages past the queue's retention period are gone, as on AWS. */
  #expire(queue: QueueRecord, now: number): void {
    const retentionMs = Number(queue.attributes.MessageRetentionPeriod ?? '345600') * 1000;
    if (queue.messages.some((m) => now - m.sentAt > retentionMs)) {
      queue.messages = queue.messages.filter((m) => now - m.sentAt <= retentionMs);
    }
  }

  clear(): void {
    for (const queue of this.queues.values()) {
      queue.messages = [];
      this.wake(queue);
    }
    this.queues.clear();
    this.deleted.clear();
  }
}
