/**
 * Forcing a failed deployment, guarded: only on a deployment group / pipeline this run created or one tagged as
 * a test target. Two ways: push a revision whose ValidateService fails (`bad-revision`), or stop the running
 * deployment with rollback (`stop-deployment`, aws-semantics §3.9).
 */
import { type CodeDeployClient, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { type PushOptions, type PushResult, pushRevision } from '../source/push.ts';
import type { Guard } from '../teardown/guard.ts';

export type ForceFailedDeployOptions =
  | {
      mode: 'bad-revision';
      guard: Guard;
      /** The pipeline that will deploy it (checked by the guard as kind `pipeline`). */
      pipelineName: string;
      push: Omit<PushOptions, 'unhealthy'>;
    }
  | {
      mode: 'stop-deployment';
      guard: Guard;
      codedeploy: CodeDeployClient;
      deploymentId: string;
      /** The deployment group, as the guard knows it (name or ARN, kind `deployment-group`). */
      deploymentGroup: string;
    };

export type ForceFailedDeployResult =
  | ({ mode: 'bad-revision' } & PushResult)
  | {
      mode: 'stop-deployment';
      deploymentId: string;
      status?: string | undefined;
      statusMessage?: string | undefined;
    };

/**
 * @throws GuardRefusedError when the target is neither ours nor a tagged test target.
 * @example
 * ```ts
 * const bad = await forceFailedDeploy({ mode: 'bad-revision', guard, pipelineName, push: { repoUrl, runId } });
 * const execution = await pipeline.findExecution({ commitId: bad.commitId });
 * ```
 */
export async function forceFailedDeploy(options: ForceFailedDeployOptions): Promise<ForceFailedDeployResult> {
  if (options.mode === 'bad-revision') {
    await options.guard.assert({
      kind: 'pipeline',
      id: options.pipelineName,
      action: 'push an unhealthy revision to',
    });
    const pushed = await pushRevision({ ...options.push, unhealthy: true });
    return { mode: 'bad-revision', ...pushed };
  }
  await options.guard.assert({
    kind: 'deployment-group',
    id: options.deploymentGroup,
    action: 'stop-deployment',
  });
  const out = await options.codedeploy.send(
    new StopDeploymentCommand({ deploymentId: options.deploymentId, autoRollbackEnabled: true }),
  );
  return {
    mode: 'stop-deployment',
    deploymentId: options.deploymentId,
    status: out.status,
    statusMessage: out.statusMessage,
  };
}
