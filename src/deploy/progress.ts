/**
 * One line saying where a deployment is, for timeout and failure messages:
 * `deployment d-7Q…: InProgress, instance i-0a… at BeforeAllowTraffic (Pending)`.
 */
import { type CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { currentEvent, type TargetLifecycle, lifecycleEvents } from './targets.ts';

/** Describes targets that are not done: `instance i-1 at ValidateService (InProgress)`. */
export function describeTargets(targets: TargetLifecycle[]): string {
  return targets
    .filter((t) => t.status !== 'Succeeded' && t.status !== 'Skipped')
    .map((t) => {
      const event = currentEvent(t);
      const label = t.label ? ` [${t.label}]` : '';
      if (!event) return `instance ${t.targetId}${label} ${t.status}`;
      const why = event.errorCode ? `: ${event.errorCode}${event.message ? ` ${event.message}` : ''}` : '';
      return `instance ${t.targetId}${label} at ${event.name} (${event.status}${why})`;
    })
    .join(', ');
}

/**
 * `deployment <id>: <status>[, instance <i> at <event> (<status>)]...` — best effort, one GetDeployment plus
 * the target calls.
 */
export async function describeDeploymentProgress(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<string> {
  const out = await codedeploy.send(new GetDeploymentCommand({ deploymentId }));
  const status = out.deploymentInfo?.status ?? 'Unknown';
  const targets = await lifecycleEvents(codedeploy, deploymentId).catch(() => []);
  const detail = describeTargets(targets);
  return `deployment ${deploymentId}: ${status}${detail ? `, ${detail}` : ''}`;
}
