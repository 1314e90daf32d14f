/**
 * The sandbox's time scale. Durations AWS defines (health check interval, deregistration delay, blue
 * termination wait, approval timeout) go through {@link Clock.scaled}; real work takes the time it takes.
 * Every timer is cancelled by {@link Clock.stop}, so a stopped sandbox keeps nothing scheduled.
 */
export class Clock {
  readonly timeScale: number;
  readonly #controller = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(timeScale = 1) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new RangeError(
        `timeScale must be a finite number > 0 (got ${timeScale}); e.g. 0.01 runs AWS durations 100x faster`,
      );
    }
    this.timeScale = timeScale;
  }

  /** Aborted when the sandbox stops. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** An AWS-defined duration in seconds → real milliseconds under this time scale (at least 1 ms). */
  scaled(seconds: number): number {
    return Math.max(1, Math.round(seconds * 1000 * this.timeScale));
  }

  now(): Date {
    return new Date();
  }

  /** Resolves after `ms` real milliseconds; rejects with the abort reason when the sandbox stops or `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const signals = signal ? AbortSignal.any([this.signal, signal]) : this.signal;
    return new Promise((resolve, reject) => {
      if (signals.aborted) return reject(signals.reason);
      const onAbort = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        reject(signals.reason);
      };
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        signals.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.#timers.add(timer);
      signals.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` every `ms` until the sandbox stops or the returned function is called. */
  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms);
    this.#timers.add(timer);
    const cancel = () => {
      clearInterval(timer);
      this.#timers.delete(timer);
      // Restarted intervals must not pile abort listeners on the sandbox's signal.
      this.signal.removeEventListener('abort', cancel);
    };
    this.signal.addEventListener('abort', cancel, { once: true });
    return cancel;
  }

  stop(): void {
    this.#controller.abort(new Error('sandbox stopped'));
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
