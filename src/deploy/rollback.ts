/**
 * Proving a rollback (aws-semantics §3.10): the original deployment ended Failed/Stopped, CodeDeploy created a
 * rollback deployment linked both ways (`rollbackInfo`, `creator: codeDeployRollback`), that rollback succeeded,
 * and optionally the pipeline failed at its Deploy stage, the previous version was served throughout and is live
 * on every target again. CodeDeploy writes the link after the `Failed`/`Stopped` status: whenever a rollback is
 * expected, it is waited for within the rollback deadline.
 */
import { type CodeDeployClient, type DeploymentInfo, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DeploymentReadyError, formatDuration, RollbackNotProvenError } from '../errors.ts';
import type { IntervalOptions } from '../poll.ts';
import type { ExecutionRef, PipelineContext } from '../pipeline/observe.ts';
import { waitForStage } from '../pipeline/stages.ts';
import { checkLive, type LiveOptions, type LiveResult } from '../traffic/live.ts';
import type { ProbeReport } from '../traffic/probe.ts';
import { waitForDeploymentEnd } from './deployment.ts';

export interface RollbackCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RollbackProof {
  proven: boolean;
  deploymentId: string;
  status: string;
  rollbackDeploymentId?: string | undefined;
  rollbackStatus?: string | undefined;
  checks: RollbackCheck[];
  /** The live check of the previous version (with `options.live`). */
  live?: LiveResult | undefined;
}

export interface RollbackOptions {
  /**
   * For each wait; also how long, once the original deployment's status is final, a rollback link that is
   * expected but not there yet is waited for (CodeDeploy writes `rollbackInfo` after the status).
   * @default 1800000 (ms, 30m)
   */
  timeout?: number;
  /**
   * The caller stopped the deployment with `autoRollbackEnabled` (as `forceFailedDeploy('stop-deployment')` does):
   * a rollback is expected whatever the group's auto-rollback events say, so its late link is waited for.
   * Without it, a rollback is expected when the deployment's auto-rollback covers how it ended.
   * @default false
   */
  rollbackExpected?: boolean;
  interval?: IntervalOptions;
  signal?: AbortSignal;
  /** Also prove the pipeline execution failed at this stage. */
  pipeline?: { context: PipelineContext; execution: ExecutionRef; stage: string };
  /** Also prove only `version` was served (and nothing failed) while the probe ran. */
  served?: { report: ProbeReport; version: string };
  /**
   * Also prove every target serves `version` again (the `checkLive` of the load balancer's `url`); a
   * `version` of undefined (the previous version is unknown) fails the check.
   */
  live?: { url: string; version: string | undefined; options?: LiveOptions };
}

/** The outcome fields of a deployment read once. */
function pick(info: DeploymentInfo) {
  return {
    errorInformation: info.errorInformation,
    rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId,
    rollbackMessage: info.rollbackInfo?.rollbackMessage,
  };
}

/**
 * Result form: runs every check and returns them; throws only when the deployment cannot be read at all.
 *
 * @example
 * ```ts
 * const proof = await checkRollback(codedeploy, deploymentId, { served: { report, version: previous } });
 * for (const c of proof.checks) console.log(c.ok ? 'ok ' : 'NOT', c.name, c.detail);
 * ```
 */
export async function checkRollback(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: RollbackOptions = {},
): Promise<RollbackProof> {
  const wait = {
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.interval ? { interval: options.interval } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const checks: RollbackCheck[] = [];
  const linkTimeout = options.timeout ?? 30 * 60_000; // ms, the rollback deadline
  const original = await waitForDeploymentEnd(codedeploy, deploymentId, {
    ...wait,
    rollbackExpected: options.rollbackExpected === true,
    rollbackLinkTimeout: linkTimeout,
  }).catch((error: unknown) => {
    // Still waiting in Ready: not failed, and not ours to continue here; the checks below say so.
    if (!(error instanceof DeploymentReadyError)) throw error;
    const info = (error.lastState ?? {}) as DeploymentInfo;
    return { status: info.status ?? 'Ready', info, rollbackExpected: undefined, ...pick(info) };
  });
  const failed = original.status === 'Failed' || original.status === 'Stopped';
  checks.push({
    name: 'original deployment failed or stopped',
    ok: failed,
    detail: `${deploymentId} ${original.status}${original.errorInformation?.code ? ` (${original.errorInformation.code})` : ''}`,
  });
  const rollbackId = original.rollbackDeploymentId;
  checks.push({
    name: 'rollback deployment created',
    ok: Boolean(rollbackId),
    detail:
      rollbackId ??
      `no rollbackInfo.rollbackDeploymentId${
        original.rollbackMessage
          ? `: ${original.rollbackMessage}`
          : original.rollbackExpected
            ? ` within ${formatDuration(linkTimeout)} of the ${original.status} status, though a rollback was expected (${original.rollbackExpected})`
            : ''
      }`,
  });
  let rollbackStatus: string | undefined;
  if (rollbackId) {
    const info = (await codedeploy.send(new GetDeploymentCommand({ deploymentId: rollbackId })))
      .deploymentInfo;
    const linked = info?.rollbackInfo?.rollbackTriggeringDeploymentId === deploymentId;
    checks.push({
      name: 'rollback linked both ways',
      ok: linked && info?.creator === 'codeDeployRollback',
      detail: `creator ${info?.creator ?? '?'}, rollbackTriggeringDeploymentId ${info?.rollbackInfo?.rollbackTriggeringDeploymentId ?? 'missing'}`,
    });
    const outcome = await waitForDeploymentEnd(codedeploy, rollbackId, wait);
    rollbackStatus = outcome.status;
    checks.push({
      name: 'rollback deployment succeeded',
      ok: outcome.status === 'Succeeded',
      detail: `${rollbackId} ${outcome.status}${outcome.errorInformation?.message ? ` (${outcome.errorInformation.message})` : ''}`,
    });
  }
  if (options.pipeline) {
    const { context, execution, stage } = options.pipeline;
    const ok = await waitForStage(context, execution, stage, 'Failed', wait).then(
      () => ({ ok: true, detail: `execution ${execution.pipelineExecutionId} Failed at ${stage}` }),
      (error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }),
    );
    checks.push({ name: `pipeline failed at ${stage}`, ...ok });
  }
  if (options.served) {
    const { report, version } = options.served;
    const others = report.versions.filter((v) => v.version !== version);
    checks.push({
      name: 'previous version served throughout',
      ok: others.length === 0 && report.failures.total === 0 && report.ok > 0,
      detail:
        `${report.ok} good answers, ${report.failures.total} failed` +
        (others.length
          ? `, other versions served: ${others.map((v) => `${v.version} x${v.count}`).join(', ')}`
          : ''),
    });
  }
  let live: LiveResult | undefined;
  if (options.live) {
    const { url, version, options: liveOptions } = options.live;
    if (version === undefined) {
      checks.push({
        name: 'previous version live on every target',
        ok: false,
        detail: 'the previous version is unknown: release one first (Harness.ready() does)',
      });
    } else {
      live = await checkLive(url, version, {
        ...liveOptions,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      checks.push({
        name: 'previous version live on every target',
        ok: live.live,
        detail: live.live
          ? `${version} on ${Object.keys(live.instances).join(', ') || 'every target'}`
          : (live.reason ?? `${version} not live`),
      });
    }
  }
  return {
    proven: checks.every((c) => c.ok),
    deploymentId,
    status: original.status,
    rollbackDeploymentId: rollbackId,
    rollbackStatus,
    checks,
    live,
  };
}

/**
 * Assert form of {@link checkRollback}: the same checks, one core.
 * @throws RollbackNotProvenError naming every check that failed.
 */
export async function expectRollback(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: RollbackOptions = {},
): Promise<RollbackProof> {
  const proof = await checkRollback(codedeploy, deploymentId, options);
  if (proof.proven) return proof;
  const failed = proof.checks.filter((c) => !c.ok);
  throw new RollbackNotProvenError(
    `rollback of deployment ${deploymentId} not proven: ${failed.map((c) => `${c.name}: NO (${c.detail})`).join('; ')}`,
    { deploymentId, failedChecks: failed.map((c) => c.name) },
    { lastState: proof },
  );
}
