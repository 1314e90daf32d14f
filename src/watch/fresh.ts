/**
 * Answers just received, reused: a wait that starts right after another (Source has succeeded, now wait for
 * BuildAndTest) would read the same resource again a few milliseconds later and learn nothing. A read younger
 * than {@link FRESH_MS}, with no event about anything the run watches received since, is the answer a new read
 * would give: it is reused. A write of the harness's own (PutApprovalResult, ContinueDeployment) forgets it.
 *
 * @example
 * const state = await pipelineStates.read(client, 'cph-r1-pipeline', watch, () => client.send(command));
 * pipelineStates.forget(client, 'cph-r1-pipeline'); // after PutApprovalResult
 */
import type { Watching } from './watch.ts';

/** How long an answer stays as good as a new read, in ms (below the shortest poll interval, 250 ms). */
export const FRESH_MS = 100;

interface Answer<T> {
  readonly at: number;
  readonly events: number;
  readonly value: T;
}

/** The last answer per client and resource key. */
export class FreshReads<T> {
  readonly #byClient = new WeakMap<object, Map<string, Answer<T>>>();

  /**
   * `read()`'s answer, or the last one for `client` and `key` while it is fresh. Without a watch (a caller that
   * does not follow a run's events), every call reads.
   */
  async read(client: object, key: string, watch: Watching | undefined, read: () => Promise<T>): Promise<T> {
    if (!watch) return read();
    let answers = this.#byClient.get(client);
    if (!answers) {
      answers = new Map();
      this.#byClient.set(client, answers);
    }
    const events = watch.eventsReceived();
    const last = answers.get(key);
    if (last && last.events === events && performance.now() - last.at < FRESH_MS) return last.value;
    const value = await read();
    answers.set(key, { at: performance.now(), events, value });
    return value;
  }

  /** Forgets the answer for `client` and `key` (after a write that changes it). */
  forget(client: object, key: string): void {
    this.#byClient.get(client)?.delete(key);
  }
}
