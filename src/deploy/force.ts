/**
 * The two ways of making a deployment fail on purpose, each guarded (only on a pipeline / deployment group this
 * run created or one tagged as a test target): push a revision whose ValidateService fails, or stop a running
 * deployment with rollback (aws-semantics §3.9). `Harness.forceFailedDeploy` drives either through the pipeline.
 */
import { type CodeDeployClient, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { type PushOptions, type PushResult, pushRevision } from '../source/push.ts';
import type { Guard } from '../teardown/guard.ts';

/** Options of {@link pushUnhealthyRevision}. */
export interface PushUnhealthyRevisionOptions {
  guard: Guard;
  /** The pipeline that will deploy it (checked by the guard as kind `pipeline`). */
  pipelineName: string;
  push: Omit<PushOptions, 'unhealthy'>;
}

/**
 * Pushes a version bump whose health check fails (`config/health.json` unhealthy, so ValidateService fails).
 *
 * @throws GuardRefusedError (before anything is pushed) when the pipeline is neither ours nor a tagged test target.
 * @example
 * ```ts
 * const bad = await pushUnhealthyRevision({ guard, pipelineName, push: { repoUrl, runId } });
 * const execution = await pipeline.findExecution({ commitId: bad.commitId });
 * ```
 */
export async function pushUnhealthyRevision(options: PushUnhealthyRevisionOptions): Promise<PushResult> {
  await options.guard.assert({
    kind: 'pipeline',
    id: options.pipelineName,
    action: 'push an unhealthy revision to',
  });
  return pushRevision({ ...options.push, unhealthy: true });
}

/** Options of {@link stopDeploymentWithRollback}. */
export interface StopDeploymentOptions {
  guard: Guard;
  codedeploy: CodeDeployClient;
  deploymentId: string;
  /** The deployment group, as the guard knows it (name or ARN, kind `deployment-group`). */
  deploymentGroup: string;
}

/** What StopDeployment answered. */
export interface StopDeploymentResult {
  deploymentId: string;
  /** `Pending` or `Succeeded` (CodeDeploy's StopStatus). */
  status?: string | undefined;
  statusMessage?: string | undefined;
}

/**
 * Stops a running deployment with `autoRollbackEnabled`, so CodeDeploy rolls it back.
 *
 * @throws GuardRefusedError (before anything is stopped) when the group is neither ours nor a tagged test target.
 * @example
 * ```ts
 * await stopDeploymentWithRollback({ guard, codedeploy, deploymentId, deploymentGroup: 'awscicd-cap-dg' });
 * const outcome = await waitForDeploymentEnd(codedeploy, deploymentId);   // Stopped, rollback linked
 * ```
 */
export async function stopDeploymentWithRollback(
  options: StopDeploymentOptions,
): Promise<StopDeploymentResult> {
  await options.guard.assert({
    kind: 'deployment-group',
    id: options.deploymentGroup,
    action: 'stop-deployment',
  });
  const out = await options.codedeploy.send(
    new StopDeploymentCommand({ deploymentId: options.deploymentId, autoRollbackEnabled: true }),
  );
  return { deploymentId: options.deploymentId, status: out.status, statusMessage: out.statusMessage };
}
