/**
 * The retry policy of every client `createClients` builds: more attempts than the SDK's 3, exponential backoff
 * with full jitter and a cap, for throttling, 5xx and network errors only, and no retry quota.
 *
 * Why not the SDK's own strategies: `standard` (and `adaptive`, which adds a client-side rate limiter on top)
 * keep a per-client retry quota of 500 tokens; a retry costs 5 (throttling) or 14 (5xx, timeouts) and a success
 * gives back only its last retry's cost, or 1 after a first-try success (@smithy/core
 * `util-retry/StandardRetryStrategy.js`, `retries-2026-config.js`). Under a sustained 30% throttle plus 5% 503
 * the quota loses about 0.2 tokens a call at 3 attempts and 0.35 at 10, so a client that makes a few thousand
 * calls (a long run's, or one shared by several waits) ends up not retrying at all: the first throttle surfaces.
 * Here every call has its own bound (attempts, and so time) and nothing is shared between calls. Which errors
 * are throttling, transient or client errors is the SDK's classification (aws-semantics §1.3, §5); this decides
 * only what to do with each.
 */

/**
 * A retry token as the SDK's retry middleware reads it: `RetryToken` of @smithy/types, not a dependency of ours.
 * The class below spells the SDK's `RetryStrategyV2` out structurally; `createClients` checks (`satisfies`) that
 * it still fits the clients' `retryStrategy`.
 */
interface Token {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/** Options of {@link HarnessRetryStrategy}; every field has a default. */
export interface RetryPolicy {
  /** Attempts per call, the first one included. @default 10 */
  maxAttempts?: number;
  /**
   * Attempts when no connection could be made at all (`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, `EHOSTUNREACH`,
   * `ENETUNREACH`): nothing listens there, and waiting rarely helps, so a wrong endpoint fails fast.
   * @default 3
   */
  connectAttempts?: number;
  /** Backoff base for 5xx and network errors: retry n waits up to `baseDelayMs * 2^(n-1)`. @default 100 (ms) */
  baseDelayMs?: number;
  /** Backoff base after a throttling answer (the service asked us to slow down). @default 500 (ms) */
  throttleBaseDelayMs?: number;
  /** Cap of one backoff, before jitter; also the most a `Retry-After` hint can make us wait. @default 5000 (ms) */
  maxDelayMs?: number;
  /** The random source of the jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/** The defaults of {@link RetryPolicy}, in one place. */
export const DEFAULT_RETRY_POLICY: Readonly<Required<Omit<RetryPolicy, 'random'>>> = {
  maxAttempts: 10,
  connectAttempts: 3,
  baseDelayMs: 100, // ms
  throttleBaseDelayMs: 500, // ms
  maxDelayMs: 5_000, // ms
};

/** What a {@link HarnessRetryStrategy} has seen, summed over every client that shares it. */
export interface RetryStats {
  /** Retries after a throttling answer (`ThrottlingException`, `Throttling`, HTTP 429, ...). */
  throttled: number;
  /** Retries after a 5xx answer. */
  serverErrors: number;
  /** Retries after a network error or timeout (no answer). */
  network: number;
  /** Calls that failed after their last attempt with an error we retry (the bound was reached). */
  exhausted: number;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The SDK's retry middleware sleeps `delay` (racing the call's abort signal) before the next attempt. */
function token(count: number, delay: number): Token {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

function connectFailure(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && CONNECT_FAILURES.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * A retry strategy for SDK v3 clients (`retryStrategy` in any client's config). Retries throttling, 5xx and
 * network errors (the SDK's own classification) up to `maxAttempts` per call, waiting
 * `random(0, min(maxDelayMs, base * 2^retry))` before each retry (full jitter; base 500 ms after throttling,
 * 100 ms otherwise), at least a `Retry-After` hint (capped). Client errors (4xx: validation, not found, access
 * denied, an already-answered approval) are never retried. No retry quota: a sustained throttle slows calls
 * down but never turns retries off. A call's `abortSignal` ends its backoff at once.
 *
 * `createClients` gives one to every client it builds; give one to clients of your own to share the policy.
 *
 * @example
 * ```ts
 * const codedeploy = new CodeDeployClient({ region, retryStrategy: new HarnessRetryStrategy({ maxAttempts: 6 }) });
 * ```
 */
export class HarnessRetryStrategy {
  /** The policy in force: the defaults with what the constructor was given. */
  readonly policy: Readonly<Required<Omit<RetryPolicy, 'random'>>>;
  readonly #random: () => number;
  readonly #stats: RetryStats = { throttled: 0, serverErrors: 0, network: 0, exhausted: 0 };

  constructor(policy: RetryPolicy = {}) {
    const { random, ...given } = policy;
    const merged = { ...DEFAULT_RETRY_POLICY, ...withoutUndefined(given) };
    for (const key of ['maxAttempts', 'connectAttempts'] as const) {
      if (!Number.isInteger(merged[key]) || merged[key] < 1)
        throw new RangeError(`retry policy: ${key} must be a whole number >= 1, got ${merged[key]}`);
    }
    for (const key of ['baseDelayMs', 'throttleBaseDelayMs', 'maxDelayMs'] as const) {
      if (!Number.isFinite(merged[key]) || merged[key] < 0)
        throw new RangeError(`retry policy: ${key} must be a number of ms >= 0, got ${merged[key]}`);
    }
    this.policy = Object.freeze(merged);
    this.#random = random ?? Math.random;
  }

  /** Counts of retries by cause since this strategy was made (a copy). */
  get stats(): RetryStats {
    return { ...this.#stats };
  }

  /** The token of a call's first attempt (no delay; nothing to acquire: there is no quota). */
  async acquireInitialRetryToken(
    _scope: string,
  ): Promise<{ getRetryCount(): number; getRetryDelay(): number }> {
    return token(0, 0);
  }

  /**
   * Allows one more attempt (a token whose delay the SDK sleeps) or throws, and the SDK then surfaces the
   * call's last error as is.
   */
  async refreshRetryTokenForRetry(
    previous: { getRetryCount(): number },
    info: {
      errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';
      error?: unknown;
      retryAfterHint?: Date;
    },
  ): Promise<{ getRetryCount(): number; getRetryDelay(): number }> {
    const retries = previous.getRetryCount();
    const type = info.errorType;
    if (type === 'CLIENT_ERROR') throw new Error('not retried: a client error');
    const connect = type === 'TRANSIENT' && connectFailure(info.error);
    const limit = connect
      ? Math.min(this.policy.connectAttempts, this.policy.maxAttempts)
      : this.policy.maxAttempts;
    if (retries + 1 >= limit) {
      this.#stats.exhausted += 1;
      throw new Error(`not retried: ${limit} attempts made`);
    }
    if (type === 'THROTTLING') this.#stats.throttled += 1;
    else if (type === 'SERVER_ERROR' || isServerAnswer(info.error)) this.#stats.serverErrors += 1;
    else this.#stats.network += 1;
    return token(retries + 1, this.delayFor(retries, type === 'THROTTLING', info.retryAfterHint));
  }

  /** Nothing to record: no quota to refill. */
  recordSuccess(_token: unknown): void {}

  /** The wait before retry `retries + 1`: full jitter over a capped exponential, at least a Retry-After hint. */
  delayFor(retries: number, throttled: boolean, retryAfter?: Date): number {
    const base = throttled ? this.policy.throttleBaseDelayMs : this.policy.baseDelayMs;
    const ceiling = Math.min(this.policy.maxDelayMs, base * 2 ** retries);
    const jittered = Math.floor(this.#random() * ceiling);
    const hinted = retryAfter ? Math.min(retryAfter.getTime() - Date.now(), this.policy.maxDelayMs) : 0;
    return Math.max(jittered, hinted, 0);
  }
}

function isServerAnswer(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return status !== undefined && status >= 500;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
