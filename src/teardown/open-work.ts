/**
 * The leak check of a run on a stack it did not create: by id, what the run itself opened (its executions,
 * their approvals and deployments, the `CodeDeploy_<group>_<deployment>` fleet of a deployment that did not
 * go live) and the branch it pushed to. No account-wide listing: it needs read access to those ids only.
 */
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetPipelineExecutionCommand, ListActionExecutionsCommand } from '@aws-sdk/client-codepipeline';
import type { HarnessClients } from '../aws/clients.ts';
import { DEPLOYMENT_ID } from '../deploy/deployment.ts';
import { OPEN_DEPLOYMENT, OPEN_EXECUTION } from '../pipeline/close.ts';
import type { LeakReport, Leftover } from './leaks.ts';

/** What the run did to the stack. */
export interface RunFootprint {
  pipelineName: string;
  /** Every execution the run started (found by its commits). */
  executionIds: readonly string[];
  /** The deployment group of the pipeline's Deploy action. */
  deploymentGroupName: string;
  /** The branch the run pushed to: the tree it must hold again, and a reader of the tree it holds now. */
  branch?: { id: string; treeBefore: string; treeNow: () => Promise<string> };
}

/**
 * Lists what the run left open or changed: an execution still running, a deployment not ended, a blue/green
 * copy of a deployment that did not succeed, a branch whose tree is not the one found.
 *
 * @example
 * ```ts
 * const report = await checkOpenWork(clients, { pipelineName, executionIds, deploymentGroupName });
 * if (!report.clean) console.table(report.leftovers);
 * ```
 */
export async function checkOpenWork(
  clients: Pick<HarnessClients, 'codepipeline' | 'codedeploy' | 'autoscaling'>,
  footprint: RunFootprint,
): Promise<LeakReport> {
  const leftovers: Leftover[] = [];
  const { pipelineName } = footprint;
  for (const pipelineExecutionId of footprint.executionIds) {
    const execution = (
      await clients.codepipeline.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }))
    ).pipelineExecution;
    if (OPEN_EXECUTION.has(execution?.status ?? '')) {
      leftovers.push({ kind: 'execution', id: pipelineExecutionId, reason: `still ${execution?.status}` });
    }
    const actions = await clients.codepipeline.send(
      new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId } }),
    );
    const deploymentIds = new Set(
      (actions.actionExecutionDetails ?? [])
        .map((d) => d.output?.executionResult?.externalExecutionId)
        .filter((id): id is string => Boolean(id && DEPLOYMENT_ID.test(id))),
    );
    for (const deploymentId of deploymentIds) {
      const info = (await clients.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;
      const status = info?.status ?? 'Unknown';
      if (OPEN_DEPLOYMENT.has(status)) {
        leftovers.push({ kind: 'deployment', id: deploymentId, reason: `still ${status}` });
        continue;
      }
      if (status === 'Succeeded') continue;
      const copy = `CodeDeploy_${footprint.deploymentGroupName}_${deploymentId}`;
      const groups = await clients.autoscaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [copy] }),
      );
      if (groups.AutoScalingGroups?.length) {
        leftovers.push({
          kind: 'auto-scaling-group',
          id: copy,
          reason: `codedeploy-copy of a ${status} deployment`,
        });
      }
    }
  }
  if (footprint.branch) {
    const now = await footprint.branch.treeNow();
    if (now !== footprint.branch.treeBefore) {
      leftovers.push({
        kind: 'branch',
        id: footprint.branch.id,
        reason: `holds tree ${now.slice(0, 12)}, not ${footprint.branch.treeBefore.slice(0, 12)} as found`,
      });
    }
  }
  return { clean: leftovers.length === 0, leftovers };
}
