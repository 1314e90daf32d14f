/**
 * `until`: the sandbox suites' wait for a condition, a `poll` at a fixed pace with a deadline that names what it
 * waited for.
 *
 * @example
 * const execution = await until('the execution to succeed', () => succeeded(id), { everyMs: 100 });
 */
import { poll } from '../../../src/poll.ts';

/** Calls `probe` every `everyMs` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { everyMs: number; timeoutMs: number },
): Promise<T> {
  const value = await poll(probe, {
    timeout: options.timeoutMs,
    isDone: (v) => Boolean(v),
    describe: (v) => (v ? 'reached' : String(v)),
    what,
    interval: { min: options.everyMs, max: options.everyMs },
  });
  return value as T;
}
