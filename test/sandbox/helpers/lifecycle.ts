/**
 * Waits (with `poll`, never a fixed sleep) until a target of a deployment runs a lifecycle event: what a test
 * that must act "mid-way" (stop a deployment while a hook runs) synchronises on.
 *
 * @example
 * await lifecycleEventRunning(clients.codedeploy, deploymentId, 'BeforeInstall');
 */
import {
  BatchGetDeploymentTargetsCommand,
  type CodeDeployClient,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { poll } from '../../../src/poll.ts';

export async function lifecycleEventRunning(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  event: string,
  timeout = 30_000, // ms
): Promise<void> {
  await poll(
    async () => {
      // Until the deployment has started, CodeDeploy refuses to list its targets (as AWS does).
      const listed = await codedeploy
        .send(new ListDeploymentTargetsCommand({ deploymentId }))
        .catch((error: { name?: string }) => {
          if (error.name === 'DeploymentNotStartedException') return undefined;
          throw error;
        });
      if (!listed) return 'not started yet';
      const { targetIds = [] } = listed;
      if (targetIds.length === 0) return 'no targets yet';
      const { deploymentTargets = [] } = await codedeploy.send(
        new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds }),
      );
      const running = deploymentTargets.some((t) =>
        t.instanceTarget?.lifecycleEvents?.some(
          (e) => e.lifecycleEventName === event && e.status === 'InProgress',
        ),
      );
      return running ? 'running' : `${targetIds.length} target(s), ${event} not running`;
    },
    {
      timeout,
      interval: { min: 25, max: 100 },
      what: `${event} of deployment ${deploymentId} to run`,
      isDone: (state) => state === 'running',
    },
  );
}
