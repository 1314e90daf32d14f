/**
 * StopDeployment made safe to retry (aws-semantics §3.9): the SDK retries a call whose answer was lost, and the
 * retry of a stop that landed is answered `DeploymentAlreadyCompletedException` once the deployment has stopped.
 */
import {
  type CodeDeployClient,
  GetDeploymentCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { WaitTimeoutError } from '../errors.ts';
import { isTransientError, poll } from '../poll.ts';
import { FINAL_DEPLOYMENT } from './deployment.ts';

/** What StopDeployment answered. */
export interface StopDeploymentResult {
  deploymentId: string;
  /** `Pending` or `Succeeded` (CodeDeploy's StopStatus). */
  status?: string | undefined;
  statusMessage?: string | undefined;
  /**
   * True when StopDeployment itself failed (`DeploymentAlreadyCompletedException`, or out of retries) and
   * GetDeployment showed the deployment `Stopped`: an earlier attempt had landed and only its answer was lost.
   */
  alreadyStopped?: boolean;
}

/** How long a stop that landed may take to show as `Stopped` (the running lifecycle scripts finish first). */
const STOP_VISIBLE_MS = 60_000; // ms

/**
 * Stops a deployment. A `DeploymentAlreadyCompletedException`, or running out of retries, counts as success only
 * when GetDeployment shows the deployment `Stopped` (read, waiting up to a minute while a refused stop's
 * deployment still winds down); any other end (`Succeeded`, `Failed`) rethrows the error, since then no stop
 * happened. No guard: callers check theirs first.
 *
 * @example
 * ```ts
 * const stop = await stopDeployment(codedeploy, 'd-ABCDEF123', { autoRollbackEnabled: true });
 * if (stop.alreadyStopped) log('an earlier attempt of ours had stopped it');
 * ```
 */
export async function stopDeployment(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: {
    /** @default true */
    autoRollbackEnabled?: boolean;
    signal?: AbortSignal;
  } = {},
): Promise<StopDeploymentResult> {
  try {
    const out = await codedeploy.send(
      new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: options.autoRollbackEnabled ?? true }),
      { abortSignal: options.signal },
    );
    return { deploymentId, status: out.status, statusMessage: out.statusMessage };
  } catch (error) {
    const refused = (error as { name?: string }).name === 'DeploymentAlreadyCompletedException';
    if (!refused && !isTransientError(error)) throw error;
    let status: string | undefined;
    try {
      status = await poll(
        async ({ signal }) =>
          (await codedeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: signal }))
            .deploymentInfo?.status ?? 'Unknown',
        {
          // Out of retries with the deployment still running: our stop did not land, or not yet; do not wait.
          timeout: refused ? STOP_VISIBLE_MS : 0,
          ...(options.signal ? { signal: options.signal } : {}),
          what: `deployment ${deploymentId} to show it stopped`,
          isDone: (s) => FINAL_DEPLOYMENT.has(s),
        },
      );
    } catch (readError) {
      if (!(readError instanceof WaitTimeoutError)) throw readError;
    }
    if (status !== 'Stopped') throw error;
    return {
      deploymentId,
      status: 'Succeeded',
      statusMessage: `the deployment is Stopped (StopDeployment answered ${(error as Error).name})`,
      alreadyStopped: true,
    };
  }
}
