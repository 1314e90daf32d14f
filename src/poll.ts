/**
 * THE waiting primitive (DESIGN.md 5.1). Every wait in the library is built on `poll`; nothing else
 * sleeps in a loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { explainAccessDenied } from './aws/denied.ts';
import {
  AccessDeniedError,
  type Change,
  CredentialsExpiredError,
  HarnessError,
  WaitTimeoutError,
  formatDuration,
} from './errors.ts';

/** Interval policy: short right after a change, multiplied by `factor` while nothing moves, capped at `max`. */
export interface IntervalOptions {
  /** @default 250 (ms) */
  min?: number;
  /** @default 5000 (ms) */
  max?: number;
  /** @default 1.5 */
  factor?: number;
  /**
   * Each sleep is randomized by ±this fraction, so pollers sharing a round-robin load balancer or an API
   * never fall into lock-step (two 200 ms pollers would otherwise each see only one of two targets).
   * @default 0.2
   */
  jitter?: number;
}

/** What `timeoutError` receives to build a domain-specific timeout error. */
export interface TimeoutContext<T> {
  timeoutMs: number;
  lastState: T | undefined;
  lastSummary: string | undefined;
  history: Change<T>[];
  /** The last transient error that was still being retried at the deadline, if any. */
  lastError: unknown;
}

export interface PollOptions<T> {
  /** Deadline in ms from the first call. Never slept past. */
  timeout: number;
  /** True when the wait is over. */
  isDone: (state: T) => boolean;
  /** One line describing a state; a different line is a change. @default JSON.stringify */
  describe?: (state: T) => string;
  /** What is being waited for, for the default timeout message, e.g. `deployment d-ABC to succeed`. */
  what?: string;
  /** Called on every change (the first observation included). */
  onChange?: (change: Change<T>) => void;
  signal?: AbortSignal;
  interval?: IntervalOptions;
  /** When true (or returns true for the state), keep the interval short: a change is imminent. */
  expectChange?: boolean | ((state: T) => boolean);
  /** Builds the error thrown at the deadline. @default a `WaitTimeoutError` naming `what` and the last state */
  timeoutError?: (context: TimeoutContext<T>) => Error;
  /**
   * Ends a pause early: called before each pause with a signal that aborts when the pause ends anyway; when the
   * promise it returns resolves first, the next probe runs at once (an event says the state may have changed:
   * src/watch). The interval stays the safety net. @default none: pauses run their full interval
   */
  wake?: (signal: AbortSignal) => Promise<unknown>;
}

/** How long past the deadline a hanging probe call may run before it is aborted. */
const HUNG_CALL_GRACE_MS = 1000; // ms

/** What the probe receives on each call. */
export interface ProbeContext {
  /** 1-based call count, retries of transient errors included. */
  attempt: number;
  /**
   * Aborted when the caller aborts or 1 s after the deadline; pass it to SDK calls (`{ abortSignal }`) and
   * fetches so a hanging call cannot hold the wait past its deadline.
   */
  signal: AbortSignal;
}

/**
 * Thrown by a probe to end the wait at once with `error` (a terminal failure such as a `Failed`
 * deployment: not "still waiting"). Like p-retry's `AbortError` / terratest's `FatalError`.
 *
 * @example
 * ```ts
 * if (info.status === 'Failed') throw new StopPolling(new DeploymentFailedError(...));
 * ```
 */
export class StopPolling extends Error {
  readonly error: Error;
  constructor(error: Error) {
    super(error.message);
    this.name = 'StopPolling';
    this.error = error;
  }
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const ACCESS_DENIED =
  /^(AccessDenied.*|UnauthorizedOperation|UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch|ExpiredToken.*|MissingAuthenticationToken.*|NotAuthorized.*)$/;

type AwsLike = {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
};

/**
 * True for errors that heal by waiting: AWS throttling (the codes SDK v3 treats as throttling,
 * aws-semantics §1.3 and §5), 5xx (`$fault: 'server'` or status >= 500), HTTP 429 and network errors.
 */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as AwsLike;
  if (e instanceof HarnessError) return false;
  if (e.name && (THROTTLING.has(e.name) || TRANSIENT_NAMES.has(e.name))) return true;
  if (e.code && (THROTTLING.has(e.code) || NETWORK.has(e.code))) return true;
  const status = e.$metadata?.httpStatusCode;
  if (e.$fault === 'server' || (status !== undefined && (status >= 500 || status === 429))) return true;
  if (typeof e.message === 'string' && /socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT/.test(e.message))
    return true;
  if (e.cause && e.cause !== error) return isTransientError(e.cause);
  return false;
}

/** True for AWS permission/credential errors (`AccessDenied*`, `UnrecognizedClientException`, ...). */
export function isAccessDenied(error: unknown): boolean {
  const name = (error as AwsLike | undefined)?.name;
  return typeof name === 'string' && ACCESS_DENIED.test(name);
}

function jsonDescribe(state: unknown): string {
  try {
    return JSON.stringify(state) ?? String(state);
  } catch {
    return String(state);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error('The wait was aborted', { cause: signal.reason });
}

/**
 * Calls `probe` until `isDone(state)`, adapting the interval, retrying transient errors within the deadline,
 * stopping at once on errors that cannot heal, and throwing a `WaitTimeoutError` (or `timeoutError(...)`)
 * with the last observed state and the history of changes at the deadline.
 *
 * Unhealable: a `StopPolling` (its `error` is thrown), any `HarnessError`, AWS access denied (thrown as
 * `AccessDeniedError`), and every other non-transient error (thrown as is: not found, validation...).
 *
 * @example
 * ```ts
 * const info = await poll(
 *   async ({ signal }) => (await codedeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: signal })).deploymentInfo!,
 *   { timeout: 10 * 60_000, what: `deployment ${deploymentId}`, describe: (d) => d.status ?? '?', isDone: (d) => d.status === 'Succeeded' },
 * );
 * ```
 */
export async function poll<T>(
  probe: (context: ProbeContext) => Promise<T> | T,
  options: PollOptions<T>,
): Promise<T> {
  const min = options.interval?.min ?? 250; // ms
  const max = Math.max(min, options.interval?.max ?? 5000); // ms
  const factor = options.interval?.factor ?? 1.5;
  const jitter = Math.min(Math.max(options.interval?.jitter ?? 0.2, 0), 1);
  const describe = options.describe ?? jsonDescribe;
  const { signal, timeout } = options;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError(`poll: timeout must be a non-negative number of ms, got ${String(timeout)}`);
  }

  const started = performance.now();
  const deadline = started + timeout;
  const history: Change<T>[] = [];
  let lastState: T | undefined;
  let lastSummary: string | undefined;
  let observed = false;
  let lastError: unknown;
  let attempt = 0;
  let interval = min;

  const timeoutFailure = (): Error => {
    const context: TimeoutContext<T> = { timeoutMs: timeout, lastState, lastSummary, history, lastError };
    if (options.timeoutError) return options.timeoutError(context);
    const what = options.what ?? 'the wait';
    const seen = observed ? `still ${lastSummary}` : 'nothing observed yet';
    const retrying = lastError ? `; last error: ${errorLine(lastError)}` : '';
    return new WaitTimeoutError(`${what}: ${seen} after ${formatDuration(timeout)}${retrying}`, timeout, {
      lastState,
      history,
      cause: lastError,
    });
  };

  const callOnce = async (): Promise<T> => {
    attempt += 1;
    // A call that hangs (no SDK request timeout by default) is cut at the deadline plus a grace period.
    const cut = AbortSignal.timeout(
      Math.ceil(Math.max(1, deadline - performance.now())) + HUNG_CALL_GRACE_MS,
    );
    const callSignal = signal ? AbortSignal.any([signal, cut]) : cut;
    try {
      return await probe({ attempt, signal: callSignal });
    } catch (error) {
      if (signal?.aborted) throw new AbortError(abortReason(signal));
      if (cut.aborted) {
        lastError = error;
        throw new AbortError(timeoutFailure());
      }
      if (error instanceof StopPolling) throw new AbortError(error.error);
      // Already explained (a denial the clients turned into an AccessDeniedError, a harness verdict).
      if (error instanceof HarnessError) throw new AbortError(error);
      if (isAccessDenied(error)) {
        const name = (error as AwsLike).name ?? 'AccessDenied';
        if (/^(ExpiredToken|RequestExpired|TokenRefreshRequired)/.test(name)) {
          throw new AbortError(
            new CredentialsExpiredError(
              `${options.what ?? 'a wait'}: the AWS credentials have expired (${name}); refresh them ` +
                '(`aws sso login`, or a new session for the profile or role) and run again',
              name,
              { cause: error, lastState, history },
            ),
          );
        }
        const explained = explainAccessDenied(error);
        throw new AbortError(
          new AccessDeniedError(`${options.what ?? 'a wait'}: ${explained.message}`, name, {
            cause: error,
            lastState,
            history,
            ...(explained.action ? { action: explained.action } : {}),
            ...(explained.resource ? { resource: explained.resource } : {}),
            statements: explained.statements,
          }),
        );
      }
      if (!isTransientError(error))
        throw new AbortError(error instanceof Error ? error : new Error(String(error)));
      lastError = error;
      throw error;
    }
  };

  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    let state: T;
    try {
      // Transient errors are retried with jittered exponential backoff, bounded by the time left.
      state = await pRetry(callOnce, {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: min,
        maxTimeout: max,
        factor: 2,
        randomize: true,
        maxRetryTime: Math.max(0, deadline - performance.now()),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (isTransientError(error)) throw timeoutFailure();
      throw error;
    }
    lastError = undefined;
    const summary = describe(state);
    lastState = state;
    if (!observed || summary !== lastSummary) {
      const change: Change<T> = {
        at: new Date(),
        elapsedMs: Math.round(performance.now() - started),
        summary,
        state,
      };
      history.push(change);
      lastSummary = summary;
      observed = true;
      interval = min;
      options.onChange?.(change);
    } else {
      interval = Math.min(max, interval * factor);
    }
    if (options.isDone(state)) return state;
    const expect =
      typeof options.expectChange === 'function' ? options.expectChange(state) : options.expectChange;
    if (expect) interval = min;

    const left = deadline - performance.now();
    if (left <= 0) throw timeoutFailure();
    // Never sleep past the deadline: the last probe runs at the deadline itself.
    const pause = Math.min(interval * (1 + jitter * (2 * Math.random() - 1)), left);
    if (options.wake) {
      await pauseOrWake(pause, options.wake, signal);
      continue;
    }
    await sleep(pause, undefined, signal ? { signal } : undefined).catch(() => {
      throw abortReason(signal!);
    });
  }
}

/** Sleeps `ms` unless `wake` resolves first; throws the abort reason when `signal` aborts. */
async function pauseOrWake(
  ms: number,
  wake: (signal: AbortSignal) => Promise<unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const round = new AbortController();
  const both = signal ? AbortSignal.any([signal, round.signal]) : round.signal;
  try {
    await Promise.race([
      sleep(ms, undefined, { signal: both }),
      // A wake source that fails only loses its shortcut: the pause runs on.
      wake(both).catch(() => sleep(ms, undefined, { signal: both })),
    ]);
  } catch {
    if (signal?.aborted) throw abortReason(signal);
  } finally {
    round.abort();
  }
  if (signal?.aborted) throw abortReason(signal);
}

/** `Name: message` of an error, for one-line messages. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
