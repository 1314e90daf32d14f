/**
 * The sandbox's watchdog (watchdog.ts), started off the start's critical path: a second Node process booting
 * while the sandbox loads and answers its first call competes with it for the CPU (the machine may have two
 * cores). It starts before the first process group is spawned (what it guards: the sandbox's `ProcessTracker`
 * calls {@link DeferredWatchdog.start} as its `beforeSpawn`), and at the latest `delayMs` after the sandbox listens (it also
 * removes a temp data dir of a sandbox that died).
 *
 * @example
 * const watchdog = new DeferredWatchdog({ dataDir, removeDataDir: true });
 * const processes = new ProcessTracker({ dataDir, beforeSpawn: () => watchdog.start() });
 * watchdog.startAfter(250); // once the sandbox listens
 * await watchdog.stop();
 */
import { startWatchdog, type Watchdog, type WatchdogOptions } from './watchdog.ts';

/** How long after the sandbox listens its watchdog starts when no process group needed it earlier, ms. */
export const WATCHDOG_DELAY_MS = 250;

export class DeferredWatchdog {
  readonly #options: WatchdogOptions;
  #watchdog: Watchdog | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: WatchdogOptions) {
    this.#options = options;
  }

  /** Its pid once started. */
  get pid(): number | undefined {
    return this.#watchdog?.pid;
  }

  /** Starts the watchdog now (no-op once started or stopped). Throws when it cannot be spawned. */
  start(): void {
    if (this.#watchdog || this.#stopped) return;
    clearTimeout(this.#timer);
    this.#watchdog = startWatchdog(this.#options);
  }

  /**
   * Starts it after `delayMs` unless something started it before. A failure to spawn it then goes to `onError`
   * (the next process spawn tries again and throws to its caller).
   */
  startAfter(delayMs: number, onError: (error: unknown) => void): void {
    if (this.#watchdog || this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      try {
        this.start();
      } catch (error) {
        onError(error);
      }
    }, delayMs);
    this.#timer.unref();
  }

  /** Cancels a pending start and stops a started watchdog (see `Watchdog.stop`). Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#watchdog?.stop();
  }
}
