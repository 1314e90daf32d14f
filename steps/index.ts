/**
 * The harness's cucumber step library. Importing it registers nothing: a support file of yours calls
 * `defineHarnessSteps()` once, which registers our steps and the hooks they need. Any World works (yours too):
 * the steps keep their state beside it, reachable with `harnessScenario(this)`.
 *
 * @example
 * ```js
 * // features/support/harness.mjs  (cucumber.mjs: import: ['features/support/*.mjs'])
 * import { defineHarnessSteps } from 'codepipeline-harness/steps';
 * defineHarnessSteps({ summary: 'reports/summary.md' });
 * ```
 */
import { type HarnessConfigInput, loadConfig, releaseTimeout, sandboxTimeScale } from '../src/config.ts';
import { stepDefiners } from './define.ts';
import { defineFailureSteps } from './failure.steps.ts';
import { defineHarnessHooks } from './hooks.ts';
import { defineReleaseSteps } from './release.steps.ts';
import { defineTeardownSteps } from './teardown.steps.ts';

export { harnessScenario, HarnessScenario } from './scenario.ts';
export type { Unchecked, WorldLike } from './scenario.ts';
export { withoutSecrets } from './hooks.ts';

/** Options of {@link defineHarnessSteps}. */
export interface HarnessStepsOptions {
  /** Write a Markdown summary of the run's scenarios to this path at the end. @default nothing is written */
  summary?: string;
  /**
   * Each step's timeout, in ms. @default 3 minutes on the sandbox; on AWS `releaseTimeout(config)` (the sum of
   * the config's own deadlines, so the harness's timeout, naming the last state it saw, fires first)
   */
  stepTimeoutMs?: number;
  /** Time scale of the sandbox the steps start (0 < scale <= 1). @default HARNESS_TIME_SCALE, else 0.02 */
  timeScale?: number;
  /** Progress lines (stage changes as they happen). @default stderr when it is a terminal outside CI */
  log?: (line: string) => void;
  /** Configuration from code, over the file and `HARNESS_*` env, used to pick defaults here. */
  config?: HarnessConfigInput;
  /**
   * Run `codepipeline-harness doctor`'s checks before the first scenario; when one fails no scenario runs, the
   * run fails with the doctor's answer (also in `summary`). `destructive` adds the test-target tag check.
   * @default true, destructive unless the command line's tags exclude `@destructive`
   */
  preflight?: boolean | { destructive: boolean };
}

/** Whether the cucumber command line can select `@destructive` scenarios (its tags do not exclude them). */
function destructiveSelected(argv: readonly string[]): boolean {
  const tags = argv.flatMap((arg, i) =>
    arg === '--tags' || arg === '-t' ? [argv[i + 1] ?? ''] : arg.startsWith('--tags=') ? [arg.slice(7)] : [],
  );
  return !tags.some((t) => /not\s+@destructive\b/.test(t));
}

let defined = false;

/**
 * Registers the harness's step definitions and the hooks they need (a sandbox for the run on target `sandbox`,
 * a Harness per scenario, teardown and the leak check after each, the evidence of a failure). Call it once, from
 * one support file; your own World, steps and hooks stay yours.
 *
 * @throws Error when called a second time (cucumber would report every step as ambiguous).
 * @example
 * ```js
 * import { setWorldConstructor, Then, World } from '@cucumber/cucumber';
 * import { defineHarnessSteps, harnessScenario } from 'codepipeline-harness/steps';
 *
 * setWorldConstructor(class TeamWorld extends World { team = 'payments'; });
 * defineHarnessSteps();
 * Then('our smoke check passes', async function () {
 *   const { harness } = harnessScenario(this);
 *   const live = await harness.checkLive(harness.currentVersion);
 *   if (!live.live) throw new Error(`${this.team}: ${live.reason}`);
 * });
 * ```
 */
export function defineHarnessSteps(options: HarnessStepsOptions = {}): void {
  if (defined) {
    throw new Error(
      'defineHarnessSteps() was called twice: call it once, from one cucumber support file (each call would ' +
        'register every step again, and cucumber would report them ambiguous)',
    );
  }
  defined = true;
  const config = loadConfig(options.config ? { overrides: options.config } : {});
  const timeout = options.stepTimeoutMs ?? (config.target === 'aws' ? releaseTimeout(config) : 3 * 60_000);
  const quiet = Boolean(process.env.CI) || !process.stderr.isTTY;
  const runSandbox = defineHarnessHooks({
    config,
    summary: options.summary,
    timeScale:
      options.timeScale === undefined
        ? sandboxTimeScale(process.env.HARNESS_TIME_SCALE?.trim() || 0.02, 'HARNESS_TIME_SCALE')
        : sandboxTimeScale(options.timeScale, 'defineHarnessSteps({ timeScale })'),
    hookTimeoutMs: timeout,
    log: options.log ?? (quiet ? undefined : (line: string) => process.stderr.write(`      ${line}\n`)),
    preflight:
      options.preflight === false
        ? false
        : typeof options.preflight === 'object'
          ? options.preflight
          : { destructive: destructiveSelected(process.argv) },
  });
  const keywords = stepDefiners(timeout);
  defineReleaseSteps(keywords);
  defineFailureSteps(keywords);
  defineTeardownSteps(keywords, runSandbox);
}
