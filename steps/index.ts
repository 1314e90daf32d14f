/**
 * The harness's cucumber step library. Import it from your own cucumber config to run our features (or your
 * own, with our steps) against your pipeline:
 *
 * @example
 * ```js
 * // cucumber.mjs
 * export default { import: ['codepipeline-harness/steps'], paths: ['features/*.feature'] };
 * ```
 */
import './hooks.ts';
import './release.steps.ts';
import './failure.steps.ts';
import './teardown.steps.ts';

export { HarnessWorld } from './world.ts';
export type { Unchecked } from './world.ts';
export { runSandbox, withoutSecrets } from './hooks.ts';
