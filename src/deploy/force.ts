/**
 * The two ways of making a deployment fail on purpose, each guarded (only on a pipeline / deployment group this
 * run created or one tagged as a test target): push a revision whose ValidateService fails, or stop a running
 * deployment with rollback (aws-semantics §3.9). `Harness.forceFailedDeploy` drives either through the pipeline.
 */
import { type CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  assertPipelineDeployment,
  assertPipelineSource,
  type PipelineShape,
} from '../stack/pipeline-shape.ts';
import { type PushOptions, type PushResult, pushRevision } from '../source/push.ts';
import type { Guard } from '../teardown/guard.ts';
import { type StopDeploymentResult, stopDeployment } from './stop.ts';

export type { StopDeploymentResult } from './stop.ts';

/** Options of {@link pushUnhealthyRevision}. */
export interface PushUnhealthyRevisionOptions {
  guard: Guard;
  /** The pipeline that will deploy it: ours or tagged as a test target, and its Source must watch the push's branch. */
  pipeline: PipelineShape;
  push: Omit<PushOptions, 'unhealthy'>;
}

/**
 * Pushes a version bump whose health check fails (`config/health.json` unhealthy, so ValidateService fails).
 *
 * @throws GuardRefusedError (before anything is pushed) when the pipeline is neither ours nor a tagged test
 *   target, or its Source action does not watch the repository and branch of the push.
 * @example
 * ```ts
 * const bad = await pushUnhealthyRevision({ guard, pipeline: shape, push: { repoUrl, runId } });
 * const execution = await pipeline.findExecution({ commitId: bad.commitId });
 * ```
 */
export async function pushUnhealthyRevision(options: PushUnhealthyRevisionOptions): Promise<PushResult> {
  await options.guard.assert({
    kind: 'pipeline',
    id: options.pipeline.name,
    action: 'push an unhealthy revision to',
  });
  assertPipelineSource(options.pipeline, options.push.repoUrl, options.push.branch ?? 'main');
  return pushRevision({ ...options.push, unhealthy: true });
}

/** Options of {@link stopDeploymentWithRollback}. */
export interface StopDeploymentOptions {
  guard: Guard;
  codedeploy: CodeDeployClient;
  deploymentId: string;
  /** The pipeline whose Deploy action started it: ours or tagged as a test target. */
  pipeline: PipelineShape;
}

/**
 * Stops a running deployment with `autoRollbackEnabled`, so CodeDeploy rolls it back.
 *
 * @throws GuardRefusedError (before anything is stopped) when the pipeline is neither ours nor a tagged test
 *   target, or the deployment is not in the deployment group of the pipeline's Deploy action (compared by ARN).
 * @example
 * ```ts
 * await stopDeploymentWithRollback({ guard, codedeploy, deploymentId, pipeline: shape });
 * const outcome = await waitForDeploymentEnd(codedeploy, deploymentId);   // Stopped, rollback linked
 * ```
 */
export async function stopDeploymentWithRollback(
  options: StopDeploymentOptions,
): Promise<StopDeploymentResult> {
  await assertStoppable(options);
  return stopDeployment(options.codedeploy, options.deploymentId, { autoRollbackEnabled: true });
}

/**
 * The guard of {@link stopDeploymentWithRollback} alone, so a caller can check before the moment it must stop
 * (then StopDeployment is the only call between that moment and the stop).
 *
 * @throws GuardRefusedError when the pipeline is neither ours nor a tagged test target, or the deployment is not
 *   in the deployment group of the pipeline's Deploy action (compared by ARN).
 */
export async function assertStoppable(options: StopDeploymentOptions): Promise<void> {
  const { pipeline, deploymentId } = options;
  await options.guard.assert({ kind: 'pipeline', id: pipeline.name, action: 'stop a deployment of' });
  const info = (await options.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;
  assertPipelineDeployment(pipeline, deploymentId, info ?? {});
}
