/**
 * How the harness learns of changes: AWS's own state-change events (EventBridge → SQS, ./channel.ts) when they can
 * be set up, polling otherwise. Waits ask it for their poll options ({@link Watch.pollOptions}): with events on, a
 * wait is woken by an event that concerns it and reads the resource once to confirm (events come late, twice or
 * out of order, aws-semantics-events-auth-regions §1.7, so none is believed on its own); its interval becomes a
 * slow safety net for events that never come. With events off, unavailable or lost, the waits poll as before.
 *
 * The setting is `events` (`HARNESS_EVENTS`): `auto` (events when they can be set up, else polling, said once),
 * `on` (events or the run fails, naming why), `off` (polling only).
 *
 * @example
 * const watch = new Watch({ setting: 'auto', clients, ledger, runId, log: console.log });
 * await watch.start({ pipelineName: 'cph-r1-pipeline', applicationName: 'cph-r1-app', deploymentGroupName: 'cph-r1-dg' });
 * await poll(probe, { timeout, isDone, ...watch.pollOptions({ deploymentId }, { min: 250, max: 5000 }) });
 */
import { randomBytes } from 'node:crypto';
import { DescribeRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AccessDeniedError, ConfigError } from '../errors.ts';
import { errorLine, type IntervalOptions, isAccessDenied } from '../poll.ts';
import type { Ledger } from '../teardown/ledger.ts';
import type { Leftover } from '../teardown/leaks.ts';
import { type Channel, type ChannelStats, type ChannelTarget, openChannel } from './channel.ts';
import { concerns, describeEvent, settlesInstances, type WatchedEvent, type WatchTopic } from './topics.ts';

/** `auto`: events when they can be set up, else polling; `on`: events or fail; `off`: polling only. */
export type EventsSetting = 'auto' | 'on' | 'off';

export interface WatchOptions {
  readonly setting: EventsSetting;
  /** Without both clients, the watch polls. */
  readonly clients: { readonly events?: EventBridgeClient | undefined; readonly sqs?: SQSClient | undefined };
  readonly ledger: Ledger;
  readonly runId: string;
  /** The rule's and the queue's name. @default `cph-<run id>-<6 hex>-events`, new for each watch */
  readonly name?: string;
  readonly log?: (line: string) => void;
  /**
   * How long a wake waits for more events before it lets the wait read (events of one change come in bursts:
   * stage SUCCEEDED, next stage STARTED, action STARTED; one ReceiveMessage answers up to ten at once), in ms.
   * Events of one change delivered apart (AWS delivers each on its own, up to seconds late) are not worth waiting
   * for: a read per delivery costs less than holding every wake. @default 20
   */
  readonly settleMs?: number;
}

/** What the watch did, for reports and benches. */
export interface WatchReport {
  readonly mode: 'events' | 'polling';
  /** The name of the run's rule and queue, once the watch began making them. */
  readonly name: string | undefined;
  /** Why the run polls (setting off, denied, lost), or undefined when events are on. */
  readonly reason: string | undefined;
  /** Distinct events received. */
  readonly events: number;
  /** Copies of events already received, dropped. */
  readonly duplicates: number;
  /** Times a wait was woken by an event before its next poll. */
  readonly wakes: number;
  /** ReceiveMessage calls made. */
  readonly receives: number;
}

interface Waiter {
  readonly topic: WatchTopic;
  readonly wake: () => void;
}

/** What a wait needs of the watch (the pipeline and deploy waits take it in their context). */
export interface Watching {
  pollOptions(topic: WatchTopic, base: IntervalOptions | undefined): WatchedPollOptions;
  /** Events received so far (0 while polling): an answer read before the last event may be out of date. */
  eventsReceived(): number;
}

/** The part of a poll's options the watch decides. */
export interface WatchedPollOptions {
  interval?: IntervalOptions | undefined;
  wake?: ((signal: AbortSignal) => Promise<unknown>) | undefined;
}

/** Keeps the last events to answer a wake that starts after an event arrived (the read raced it). */
const RECENT = 256;

export class Watch implements Watching {
  readonly #options: WatchOptions;
  readonly #waiters = new Set<Waiter>();
  readonly #recent: { seq: number; event: WatchedEvent; settles: boolean }[] = [];
  /** Each deployment's instances by the state of their last event (`START` until an end state comes). */
  readonly #instances = new Map<string, Map<string, string>>();
  #seq = 0;
  #wakes = 0;
  #channel: Channel | undefined;
  #starting: Promise<void> | undefined;
  #target: ChannelTarget | undefined;
  #reason: string | undefined;
  #stats: ChannelStats | undefined;
  /** The name of the rule and queue, once the setup began creating them. */
  #created: string | undefined;
  /** The channel was opened (events were on at some point). */
  #opened = false;
  /** {@link Watch.close} was called: no channel is opened any more. */
  #closed = false;

  constructor(options: WatchOptions) {
    this.#options = options;
    if (options.setting === 'off') this.#reason = 'events are off (events: off, HARNESS_EVENTS)';
  }

  /** `events` while the channel is open, else `polling`. */
  get mode(): 'events' | 'polling' {
    return this.#channel ? 'events' : 'polling';
  }

  /**
   * What the watch did so far: `events` when the channel was open and never lost (closing it at teardown does not
   * count), else `polling` with the reason.
   */
  report(): WatchReport {
    const events = this.#opened && this.#reason === undefined;
    return {
      mode: events ? 'events' : 'polling',
      name: this.#created,
      reason: events ? undefined : (this.#reason ?? 'events were not set up (no release was followed)'),
      events: this.#seq,
      duplicates: this.#stats?.duplicates ?? 0,
      wakes: this.#wakes,
      receives: this.#stats?.receives ?? 0,
    };
  }

  /** One line for logs and reports: how the run learns of changes. */
  describe(): string {
    const r = this.report();
    return r.mode === 'events'
      ? `events: EventBridge rule ${r.name} → SQS queue ${r.name} (${r.events} events, ${r.duplicates} duplicates dropped, ${r.wakes} waits woken)`
      : `polling: ${r.reason}`;
  }

  /**
   * Sets up the channel for a pipeline and deployment group (once; a later call with another target moves the
   * rule). With `auto`, a failure (a denied action, a team policy forbidding new rules) falls back to polling and
   * says why once in the log; with `on` it throws.
   */
  async start(target: ChannelTarget): Promise<void> {
    // Closed: teardown has begun (a release it follows to restore a branch polls; nothing new is created).
    if (this.#options.setting === 'off' || this.#closed) return;
    if (this.#starting) {
      await this.#starting;
      if (this.#channel && !sameTarget(this.#target, target)) {
        this.#target = target;
        await this.#channel
          .retarget(target)
          .catch((error: unknown) => this.#fallBack('moving the rule failed', error, false));
      }
      return;
    }
    this.#target = target;
    this.#starting = this.#open(target);
    await this.#starting;
  }

  async #open(target: ChannelTarget): Promise<void> {
    const { events, sqs } = this.#options.clients;
    if (!events || !sqs) {
      this.#fallBack('no EventBridge and SQS clients were given', undefined);
      return;
    }
    // A name of its own each time: SQS refuses a queue name for 60 s after its queue was deleted
    // (aws-semantics-events-auth-regions §3.7), and scenarios of one run follow each other faster than that.
    const name = this.#options.name ?? `cph-${this.#options.runId}-${randomBytes(3).toString('hex')}-events`;
    this.#created = name;
    try {
      this.#channel = await openChannel({
        events,
        sqs,
        ledger: this.#options.ledger,
        name,
        runId: this.#options.runId,
        target,
        onEvent: (event) => this.#notify(event),
        onLost: (reason, error) => {
          // Mid-run, even with `on`: the waits carry on polling rather than fail a release that is fine.
          this.#channel = undefined;
          this.#fallBack(reason, error, false);
        },
      });
      this.#stats = this.#channel.stats;
      this.#opened = true;
      this.#options.log?.(
        `watching by events: EventBridge rule ${name} → SQS queue ${name}; polling stays as the safety net`,
      );
    } catch (error) {
      this.#fallBack(`setting up EventBridge rule and SQS queue ${name} failed`, error);
    }
  }

  #fallBack(what: string, error: unknown, mayFail = true): void {
    const denied = error instanceof AccessDeniedError || isAccessDenied(error);
    const why = error === undefined ? what : `${what}: ${denied ? 'access denied, ' : ''}${errorLine(error)}`;
    if (this.#options.setting === 'on' && mayFail) {
      throw new ConfigError(
        `events are on (events: on, HARNESS_EVENTS) but ${why}; allow the EventBridge and SQS actions of the ` +
          'shipped IAM policy (iam/*-stack-policy.json), or set HARNESS_EVENTS=auto to fall back to polling',
        { key: 'events', source: 'default' },
      );
    }
    if (this.#reason === undefined) this.#options.log?.(`watching by polling: ${why}`);
    this.#reason = why;
    // Waits parked on a wake go back to their interval at once.
    for (const waiter of [...this.#waiters]) waiter.wake();
  }

  #notify(event: WatchedEvent): void {
    this.#seq += 1;
    const settles = settlesInstances(this.#instances, event, RECENT);
    this.#recent.push({ seq: this.#seq, event, settles });
    if (this.#recent.length > RECENT) this.#recent.shift();
    if (settles) for (const waiter of [...this.#waiters]) if (concerns(waiter.topic, event)) waiter.wake();
    this.#options.log?.(`event: ${describeEvent(event)}`);
  }

  eventsReceived(): number {
    return this.#seq;
  }

  /**
   * The poll options of a wait on `topic`: without events, the interval as given and no wake; with events, a wake
   * on every event that concerns the topic and the interval slowed to a safety net for an event that never
   * comes: from twice `base.max` (at most 10 s) growing to 30 s (or `base.max` when that is slower). Options
   * taken while events are on keep the slower interval if the channel is lost during that wait (the channel's
   * loss wakes it at once); the next wait polls at the base interval again.
   */
  pollOptions(topic: WatchTopic, base: IntervalOptions | undefined): WatchedPollOptions {
    if (!this.#channel) return { interval: base };
    const min = base?.min ?? 250;
    const max = base?.max ?? 5000;
    return {
      interval: {
        ...base,
        min: Math.max(min, Math.min(2 * max, 10_000)),
        max: Math.max(max, 30_000),
      },
      wake: this.#waker(topic),
    };
  }

  /**
   * A wake function for one wait: resolves on the next event concerning `topic` (or one missed since the last
   * call), a settle time after it; then at the topic's follow-up times after that event, unless another comes.
   */
  #waker(topic: WatchTopic): (signal: AbortSignal) => Promise<void> {
    let seen = this.#seq;
    const settle = this.#options.settleMs ?? 20;
    const followUps = topic.followUpMs ?? [];
    /** When the last event of this topic came (ms, performance clock), and how many follow-ups were made since. */
    let lastEventAt: number | undefined;
    let followed = 0;
    return (signal) =>
      new Promise<void>((resolve) => {
        // Events gone (fallback): never wake early, the interval is the wait's again.
        if (!this.#channel) {
          signal.addEventListener('abort', () => resolve(), { once: true });
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        let followTimer: NodeJS.Timeout | undefined;
        const done = () => {
          this.#waiters.delete(waiter);
          clearTimeout(timer);
          clearTimeout(followTimer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const woken = () => {
          if (timer) return;
          seen = this.#seq;
          lastEventAt = performance.now();
          followed = 0;
          this.#wakes += 1;
          clearTimeout(followTimer);
          timer = setTimeout(done, settle);
        };
        const waiter: Waiter = { topic, wake: () => (this.#channel ? woken() : done()) };
        signal.addEventListener('abort', done, { once: true });
        if (this.#recent.some((r) => r.seq > seen && r.settles && concerns(topic, r.event))) {
          woken();
          return;
        }
        seen = this.#seq;
        this.#waiters.add(waiter);
        const next = followUps[followed];
        if (lastEventAt !== undefined && next !== undefined && (topic.followUpIf?.() ?? true)) {
          followed += 1;
          followTimer = setTimeout(done, Math.max(0, lastEventAt + next - performance.now()));
        }
      });
  }

  /**
   * The leak check by id: the rule and the queue this watch created, if they still exist (after teardown: none).
   * Nothing is listed when the watch never created them.
   */
  async leftovers(): Promise<Leftover[]> {
    const { events, sqs } = this.#options.clients;
    if (!this.#created || !events || !sqs) return [];
    const name = this.#created;
    const out: Leftover[] = [];
    const gone = (error: unknown) => {
      if (/ResourceNotFound|QueueDoesNotExist|NonExistentQueue/.test((error as { name?: string }).name ?? ''))
        return undefined;
      throw error;
    };
    if (await events.send(new DescribeRuleCommand({ Name: name })).catch(gone)) {
      out.push({ kind: 'events-rule', id: name, reason: 'name' });
    }
    if (await sqs.send(new GetQueueUrlCommand({ QueueName: name })).catch(gone)) {
      out.push({ kind: 'sqs-queue', id: name, reason: 'name' });
    }
    return out;
  }

  /**
   * Stops receiving (rule and queue are deleted by the ledger's teardown) and opens no channel any more: what
   * teardown follows (a branch restored and released) polls. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const channel = this.#channel;
    this.#channel = undefined;
    for (const waiter of [...this.#waiters]) waiter.wake();
    await channel?.close();
  }
}

function sameTarget(a: ChannelTarget | undefined, b: ChannelTarget): boolean {
  return (
    a?.pipelineName === b.pipelineName &&
    a?.applicationName === b.applicationName &&
    a?.deploymentGroupName === b.deploymentGroupName
  );
}
