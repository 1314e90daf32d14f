/**
 * The live check overlapped with the end of a deployment: on blue/green, users get the new version once traffic
 * has shifted, and what follows (blue's termination wait, the Deploy stage's end) changes nothing they see; so
 * the check runs during that wait instead of after it, and the release is proven when both are done.
 */

/** What {@link liveWhileEnding} runs side by side. */
export interface LiveWhileEnding<T, L> {
  /** Follows the rest of the release to its end (the deployment's `Succeeded`, the stage); started at once. */
  end: () => Promise<T>;
  /**
   * The live check, started at once beside `end`; aborted through `signal` when `end` fails (the result form
   * is expected: "not live" is a result, so the deployment's own failure is the error a caller sees).
   */
  live: (signal: AbortSignal) => Promise<L>;
}

/**
 * Runs the live check and the rest of the deployment at the same time; resolves with both once both are done.
 * When `end` fails, the live check is aborted and awaited (nothing keeps running), and `end`'s error is thrown.
 *
 * @example
 * ```ts
 * const { value: outcome, live } = await liveWhileEnding({
 *   end: () => waitForDeployment(codedeploy, deploymentId),
 *   live: (signal) => checkLive(url, version, { signal }),
 * });
 * ```
 */
export async function liveWhileEnding<T, L>(steps: LiveWhileEnding<T, L>): Promise<{ value: T; live: L }> {
  const controller = new AbortController();
  const live = steps.live(controller.signal);
  // Observed below in every path; this only keeps an early rejection from being reported as unhandled.
  live.catch(() => undefined);
  try {
    const value = await steps.end();
    return { value, live: await live };
  } catch (error) {
    controller.abort(error);
    await live.catch(() => undefined);
    throw error;
  }
}
