/**
 * Result forms of waits and actions: `tryX()` runs the same core as `x()` and returns what happened instead of
 * throwing, so a team can test an expected failure without try/catch. Only the harness's typed errors become
 * results; a programming error or bad input still throws.
 */
import { HarnessError } from './errors.ts';

/** What a `tryX()` call returns: the value of a success, or the typed error the assert form would throw. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: HarnessError };

/**
 * Runs `work` and turns a `HarnessError` into `{ ok: false, error }`; any other error is rethrown.
 *
 * @example
 * ```ts
 * const stage = await attempt(() => waitForStage(ctx, execution, 'Deploy', 'Succeeded'));
 * if (!stage.ok && stage.error instanceof ExecutionFailedError) console.log(stage.error.failed?.errorMessage);
 * ```
 */
export async function attempt<T>(work: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof HarnessError) return { ok: false, error };
    throw error;
  }
}
