/**
 * vitest helper: one Harness for a `describe` block, started (and, on the sandbox, provisioned with the sample
 * stack and its first release) before the tests and closed after them, teardown and leak check included.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { useHarness } from 'codepipeline-harness/vitest';
 *
 * describe('our release pipeline', () => {
 *   const run = useHarness({ provision: true });
 *   it('releases a version bump with no failed request', async () => {
 *     const release = await run.harness.release();
 *     expect(release.probe?.failures.total).toBe(0);
 *   }, run.timeout);
 * });
 * ```
 */
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, releaseTimeout } from './config.ts';
import { Harness, type HarnessOptions } from './harness.ts';
import { LeakError } from './errors.ts';
import type { LeakReport } from './teardown/leaks.ts';

export interface UseHarnessOptions extends HarnessOptions {
  /** Create the sample stack and release its first version (sandbox target). @default false */
  provision?: boolean;
  /** Fail the suite when the leak check finds anything after teardown. @default true */
  expectNoLeaks?: boolean;
  /** For the before/after hooks (provisioning includes a first release). @default `timeout` */
  hookTimeoutMs?: number;
}

export interface HarnessFixture {
  /** The running harness (only inside tests and hooks). */
  readonly harness: Harness;
  /** What the leak check found after teardown (after `afterAll`). */
  readonly leaks: LeakReport | undefined;
  /**
   * A test timeout (ms) for a test that makes one release: `releaseTimeout(config)`, the sum of the config's own
   * deadlines, so the harness's timeout error (naming the last state it saw) fires before vitest's. Pass it as
   * the third argument of `it`; multiply it for a test that releases more than once.
   */
  readonly timeout: number;
}

export function useHarness(options: UseHarnessOptions = {}): HarnessFixture {
  let harness: Harness | undefined;
  let leaks: LeakReport | undefined;
  const config = loadConfig({
    ...(options.config ? { overrides: options.config } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.configFile ? { file: options.configFile } : {}),
  });
  const testTimeout = releaseTimeout(config);
  const timeout = options.hookTimeoutMs ?? testTimeout;
  beforeAll(async () => {
    harness = await Harness.start(options);
    if (options.provision) await harness.provision();
  }, timeout);
  afterAll(async () => {
    if (!harness) return;
    leaks = (await harness.close()).leaks;
    if (leaks && !leaks.clean && options.expectNoLeaks !== false) {
      throw new LeakError(
        `the suite left ${leaks.leftovers.map((l) => `${l.kind} ${l.id}`).join(', ')}`,
        leaks.leftovers,
        { lastState: leaks },
      );
    }
  }, timeout);
  return {
    get harness() {
      if (!harness)
        throw new Error('useHarness(): the harness is not started yet (use it inside a test or hook)');
      return harness;
    },
    get leaks() {
      return leaks;
    },
    timeout: testTimeout,
  };
}
