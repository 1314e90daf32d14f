/**
 * Closing what a run opened on a pipeline it did not create, so a failed scenario cannot hold the next one: our
 * execution stopped and abandoned, our approval (if still open) rejected, the deployment our execution started
 * (if still running) stopped with rollback, in that order, each with the evidence of what was done.
 */
import { type CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { DEPLOYMENT_ID } from '../deploy/deployment.ts';
import { stopDeployment } from '../deploy/stop.ts';
import { poll } from '../poll.ts';
import { reject } from './approval.ts';
import { type ExecutionRef, type PipelineContext, observeStage } from './observe.ts';

/** Execution statuses that are not over yet. */
export const OPEN_EXECUTION: ReadonlySet<string> = new Set(['InProgress', 'Stopping']);
/** Deployment statuses that are not over yet (`Ready` and `Baking` included). */
export const OPEN_DEPLOYMENT: ReadonlySet<string> = new Set([
  'Created',
  'Queued',
  'InProgress',
  'Baking',
  'Ready',
]);

/** Options of {@link closeExecution}. */
export interface CloseExecutionOptions {
  codedeploy: CodeDeployClient;
  approvalStage: string;
  approvalAction: string;
  /** Why, for StopPipelineExecution's reason and the approval's summary. */
  reason: string;
  /** How long to wait for the execution to leave `Stopping`. @default 60000 (ms) */
  timeout?: number;
}

/**
 * Leaves nothing of `execution` open. Returns one line per thing it closed (empty when all had ended).
 *
 * @example
 * ```ts
 * const done = await closeExecution(ctx, execution, { codedeploy, approvalStage: 'Approval',
 *   approvalAction: 'ManualApproval', reason: `codepipeline-harness run ${runId} teardown` });
 * ```
 */
export async function closeExecution(
  ctx: PipelineContext,
  execution: ExecutionRef,
  options: CloseExecutionOptions,
): Promise<string[]> {
  const id = execution.pipelineExecutionId;
  const done: string[] = [];
  const status = async () =>
    (
      await ctx.codepipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: ctx.pipelineName, pipelineExecutionId: id }),
      )
    ).pipelineExecution?.status ?? 'Unknown';
  // Our approval first, while it is ours to answer: a rejection is the clearest end, with a summary naming us.
  const approval = await observeStage(ctx, execution, options.approvalStage);
  if (approval.ours && approval.actions.some((a) => a.name === options.approvalAction && a.approvalOpen)) {
    await reject(ctx, execution, {
      stage: options.approvalStage,
      action: options.approvalAction,
      summary: options.reason,
      timeout: 0,
    });
    done.push(
      `rejected the open approval ${options.approvalStage}/${options.approvalAction} of execution ${id}`,
    );
  }
  if (OPEN_EXECUTION.has(await status())) {
    await ctx.codepipeline.send(
      new StopPipelineExecutionCommand({
        pipelineName: ctx.pipelineName,
        pipelineExecutionId: id,
        abandon: true,
        reason: options.reason,
      }),
    );
    done.push(`stopped and abandoned execution ${id}`);
  }
  // An abandoned CodeDeploy action leaves its deployment running: stop it too.
  const actions = await ctx.codepipeline.send(
    new ListActionExecutionsCommand({ pipelineName: ctx.pipelineName, filter: { pipelineExecutionId: id } }),
  );
  const deployments = (actions.actionExecutionDetails ?? [])
    .map((d) => d.output?.executionResult?.externalExecutionId)
    .filter((ext): ext is string => Boolean(ext && DEPLOYMENT_ID.test(ext)));
  for (const deploymentId of new Set(deployments)) {
    const info = (await options.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo;
    if (!OPEN_DEPLOYMENT.has(info?.status ?? '')) continue;
    try {
      const stop = await stopDeployment(options.codedeploy, deploymentId, { autoRollbackEnabled: true });
      done.push(
        stop.alreadyStopped
          ? `deployment ${deploymentId} (${info?.status}) was already stopped`
          : `stopped deployment ${deploymentId} (${info?.status}) with rollback`,
      );
    } catch (error) {
      // It ended on its own between our read and our stop: nothing is left open, which is what closing wants.
      if ((error as { name?: string }).name !== 'DeploymentAlreadyCompletedException') throw error;
      done.push(`deployment ${deploymentId} (${info?.status}) ended before it could be stopped`);
    }
  }
  await poll(status, {
    timeout: options.timeout ?? 60_000,
    interval: ctx.interval,
    isDone: (s) => !OPEN_EXECUTION.has(s),
    what: `execution ${id} to end after it was stopped`,
  });
  return done;
}
