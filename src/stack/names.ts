import { randomBytes } from 'node:crypto';

/**
 * Names of a stack the harness creates: one prefix per run, so two runs never collide and a sweep can find
 * everything a killed run left (`codepipeline-harness sweep --run <id>`).
 */
export interface StackNames {
  /** The run id this stack belongs to; also the value of the `codepipeline-harness:run` tag. */
  readonly runId: string;
  readonly prefix: string;
  readonly repositoryName: string;
  readonly pipelineName: string;
  readonly buildProjectName: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly loadBalancerName: string;
  readonly targetGroupName: string;
  readonly autoScalingGroupName: string;
}

/**
 * The one rule for a run id (config `runId`, `HARNESS_RUN_ID`, `sweep --run`): 1-16 lowercase letters, digits or
 * dashes, starting with a letter or digit. It goes into every resource name (`cph-<run id>-pipeline`; ELBv2
 * names stop at 32 characters) and is the value of the `codepipeline-harness:run` tag.
 */
export const RUN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,15}$/;

/** The rule in words, with an example: what an error about a run id says. */
export const RUN_ID_RULE =
  "1-16 lowercase letters, digits or dashes, starting with a letter or digit (it names the run's resources " +
  'cph-<run id>-*), e.g. "ci-42"';

/** The suffixes of a run's resource names (`cph-<run id>-<suffix>`), as {@link stackNames} makes them. */
const NAME_SUFFIXES = ['repo', 'pipeline', 'build', 'app', 'dg', 'alb', 'tg', 'asg'] as const;

/**
 * Whether `name` is exactly the name of one of run `runId`'s resources: `cph-<run id>-<suffix>` with a suffix
 * {@link stackNames} uses. Exact, so run `ci` never matches `cph-ci-2-repo` (run `ci-2`) or
 * `cph-ci-nightly-app` (run `ci-nightly`).
 *
 * @example
 * isRunResourceName('cph-ci-repo', 'ci')   // true
 * isRunResourceName('cph-ci-2-repo', 'ci') // false
 */
export function isRunResourceName(name: string, runId: string): boolean {
  const prefix = `cph-${runId}-`;
  return name.startsWith(prefix) && (NAME_SUFFIXES as readonly string[]).includes(name.slice(prefix.length));
}

/** Tag key marking every resource a run created, with the run id as value. */
export const RUN_TAG = 'codepipeline-harness:run';
/** Tag key marking a resource as a test target destructive actions may touch. */
export const TEST_TARGET_TAG = 'codepipeline-harness:test-target';

/**
 * Derives every resource name from a run id (lowercase letters, digits and dashes; ELBv2 names stop at 32
 * characters, so the prefix is kept short).
 *
 * @example
 * stackNames('r7k2q').pipelineName // 'cph-r7k2q-pipeline'
 */
export function stackNames(runId: string): StackNames {
  if (!RUN_ID_PATTERN.test(runId))
    throw new Error(`${JSON.stringify(runId)} is not a run id: use ${RUN_ID_RULE}`);
  const prefix = `cph-${runId}`;
  return {
    runId,
    prefix,
    repositoryName: `${prefix}-repo`,
    pipelineName: `${prefix}-pipeline`,
    buildProjectName: `${prefix}-build`,
    applicationName: `${prefix}-app`,
    deploymentGroupName: `${prefix}-dg`,
    loadBalancerName: `${prefix}-alb`,
    targetGroupName: `${prefix}-tg`,
    autoScalingGroupName: `${prefix}-asg`,
  };
}

/**
 * A short random run id (base36, 9 characters, within {@link RUN_ID_PATTERN}), unique enough for concurrent runs
 * on one account: the default of config `runId`.
 */
export function newRunId(): string {
  // 8 random base36 characters (36^8 ≈ 2.8e12): no clock part, so ids made in the same millisecond differ too.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `r${Array.from(randomBytes(8), (b) => alphabet[b % 36]).join('')}`;
}
