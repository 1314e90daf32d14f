/**
 * "The new version is live": HTTP through the load balancer until the last `consecutive` answers all carry
 * the version and (with `everyTarget`) every expected target has answered with it. One core (`checkLive`,
 * the result form) and the assert form (`expectLive`). With `seen` (a running traffic probe's answers) the
 * answers the probe gets from then on count, and the check sends a request of its own only when none came.
 */
import type { Dispatcher } from 'undici';
import { NotLiveError, WaitTimeoutError, formatDuration } from '../errors.ts';
import { poll } from '../poll.ts';
import { localhostAgent } from './agent.ts';
import { type Sample, describeSample, sample } from './sample.ts';

export interface LiveOptions {
  /** Good answers in a row required. @default 5 */
  consecutive?: number;
  /** Require every expected target to have served the version during the final streak. @default true */
  everyTarget?: boolean;
  /**
   * The targets that must serve it: a count, the instance ids, or a function that reads them (e.g. the healthy
   * targets from DescribeTargetHealth), called at the start and again before a streak is accepted (at most once
   * a second), so targets that change while traffic shifts are followed. Without it, `everyTarget` can only
   * speak for the instances that answered.
   */
  expectedTargets?: number | readonly string[] | (() => Promise<readonly string[]>);
  /** @default 300000 (ms, 5m) */
  timeout?: number;
  /** Pause between requests. @default 200 (ms) */
  intervalMs?: number;
  /** Per request. @default 2000 (ms) */
  requestTimeoutMs?: number;
  /** Path appended to the load balancer URL. @default '/version' */
  path?: string;
  /** @default a `localhostAgent()` created and closed by the call */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /**
   * Answers someone else already gets from the same URL and path (a running traffic probe's `samples`, a
   * growing array): those that arrive after the check starts count as its own, oldest first, and the check sends
   * a request of its own only when none came for two intervals. @default none: every answer is its own
   */
  seen?: () => readonly Sample[];
}

export interface LiveResult {
  live: boolean;
  url: string;
  version: string;
  /** Every response, oldest first: who answered what, when. */
  evidence: Sample[];
  /** Last version each instance served. */
  instances: Record<string, string | undefined>;
  /** The targets that had to serve it, as last read (when `expectedTargets` named them). */
  expectedTargets?: readonly string[] | undefined;
  /** Why it is not live (absent when live). */
  reason?: string;
  /** How many of `evidence` the check requested itself (the rest came from `seen`). */
  requests: number;
}

interface Progress {
  streak: number;
  streakInstances: Set<string>;
  last?: Sample;
}

type Expected = number | readonly string[] | undefined;

function missingTargets(p: Progress, expected: Expected): string[] | number {
  if (expected === undefined) return 0;
  if (typeof expected === 'number') return Math.max(0, expected - p.streakInstances.size);
  return expected.filter((id) => !p.streakInstances.has(id));
}

function missingCount(m: string[] | number): number {
  return typeof m === 'number' ? m : m.length;
}

function namedTargets(expected: Expected): readonly string[] | undefined {
  return typeof expected === 'object' ? expected : undefined;
}

/**
 * Result form: never throws for "not live" (only for a bad argument or an abort); returns the evidence.
 *
 * @example
 * ```ts
 * const result = await checkLive(url, version, { consecutive: 5, expectedTargets: 2 });
 * if (!result.live) console.log(result.reason, result.evidence);
 * ```
 */
export async function checkLive(
  url: string,
  version: string,
  options: LiveOptions = {},
): Promise<LiveResult> {
  const consecutive = options.consecutive ?? 5;
  const everyTarget = options.everyTarget ?? true;
  const timeout = options.timeout ?? 5 * 60_000; // ms
  const intervalMs = options.intervalMs ?? 200; // ms
  const target = new URL(options.path ?? '/version', url).toString();
  const dispatcher = options.dispatcher ?? localhostAgent();
  const evidence: Sample[] = [];
  const instances: Record<string, string | undefined> = {};
  const progress: Progress = { streak: 0, streakInstances: new Set() };
  const read = typeof options.expectedTargets === 'function' ? options.expectedTargets : undefined;
  // Only answers that come after the start count: the ones before may predate the traffic shift.
  let consumed = options.seen?.().length ?? 0;
  let requests = 0;
  let freshAt = performance.now();
  let expected: Expected = read ? await read() : (options.expectedTargets as Expected);
  let readAt = performance.now();
  const done = (p: Progress) =>
    p.streak >= consecutive && (!everyTarget || missingCount(missingTargets(p, expected)) === 0);
  const describe = (p: Progress) =>
    `${p.streak}/${consecutive} in a row; last: ${p.last ? describeSample(p.last) : 'none'}; instances: ${
      Object.entries(instances)
        .map(([id, v]) => `${id}=${v}`)
        .join(', ') || 'none'
    }`;
  try {
    await poll(
      async () => {
        const fresh = options.seen?.().slice(consumed) ?? [];
        consumed += fresh.length;
        if (fresh.length > 0) freshAt = performance.now();
        else if (!options.seen || performance.now() - freshAt >= 2 * intervalMs) {
          fresh.push(await sample(target, { dispatcher, timeoutMs: options.requestTimeoutMs ?? 2000 }));
          requests += 1;
        }
        for (const s of fresh) {
          evidence.push(s);
          if (s.instanceId) instances[s.instanceId] = s.version;
          if (s.kind === 'ok' && s.version === version) {
            progress.streak += 1;
            if (s.instanceId) progress.streakInstances.add(s.instanceId);
          } else {
            progress.streak = 0;
            progress.streakInstances = new Set();
          }
          progress.last = s;
          if (done(progress)) break;
        }
        // Before a streak is accepted, the targets are read again (at most once a second): traffic may have shifted.
        if (read && progress.streak >= consecutive && performance.now() - readAt >= 1000) {
          expected = await read();
          readAt = performance.now();
        }
        return { ...progress, streakInstances: new Set(progress.streakInstances) };
      },
      {
        timeout,
        signal: options.signal,
        interval: { min: intervalMs, max: intervalMs },
        what: `${version} live at ${url}`,
        describe,
        isDone: done,
      },
    );
    return {
      live: true,
      url,
      version,
      evidence,
      instances,
      expectedTargets: namedTargets(expected),
      requests,
    };
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const missing = missingTargets(progress, expected);
    const other = Object.entries(instances).filter(([, v]) => v !== version);
    const reasons = [
      `${progress.streak}/${consecutive} good answers in a row after ${formatDuration(timeout)}`,
      other.length
        ? `still serving another version: ${other.map(([id, v]) => `${id}=${v ?? 'none'}`).join(', ')}`
        : '',
      everyTarget && missingCount(missing)
        ? `not seen serving it: ${typeof missing === 'number' ? `${missing} of ${String(expected)} targets` : missing.join(', ')}`
        : '',
      `last answers: ${evidence.slice(-3).map(describeSample).join('; ') || 'none'}`,
      evidence.at(-1)?.kind === 'redirect'
        ? `${url} redirects instead of answering: set HARNESS_APP_URL (appUrl) to the URL users reach`
        : '',
    ].filter(Boolean);
    return {
      live: false,
      url,
      version,
      evidence,
      instances,
      expectedTargets: namedTargets(expected),
      reason: reasons.join('; '),
      requests,
    };
  } finally {
    if (!options.dispatcher) await dispatcher.close();
  }
}

/**
 * Assert form of `checkLive`.
 *
 * @throws NotLiveError with the evidence (who answered what, when) and the reason.
 * @example
 * ```ts
 * const { evidence } = await expectLive(url, version, { consecutive: 5, everyTarget: true, expectedTargets: 2 });
 * ```
 */
export async function expectLive(
  url: string,
  version: string,
  options: LiveOptions = {},
): Promise<LiveResult> {
  return assertLive(await checkLive(url, version, options));
}

/**
 * The assert form of a `checkLive` result got earlier (e.g. by a live check overlapped with a deployment's end).
 *
 * @throws NotLiveError with the evidence and the reason when `result` is not live.
 * @example
 * ```ts
 * const live = assertLive(await checkLive(url, 'v3'));
 * ```
 */
export function assertLive(result: LiveResult): LiveResult {
  if (result.live) return result;
  throw new NotLiveError(`${result.url} does not serve ${result.version}: ${result.reason}`, {
    url: result.url,
    version: result.version,
    evidence: result.evidence,
  });
}
