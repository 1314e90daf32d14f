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
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(runId)) {
    throw new Error(
      `run id '${runId}' is not usable in resource names: use 1-16 lowercase letters, digits or dashes, starting with a letter or digit`,
    );
  }
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

/** A short random run id (base36), unique enough for concurrent runs on one account. */
export function newRunId(): string {
  return `r${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
}
