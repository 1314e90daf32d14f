/**
 * Proving a rollback (aws-semantics §3.10): the original deployment ended Failed/Stopped, CodeDeploy created a
 * rollback deployment linked both ways (`rollbackInfo`, `creator: codeDeployRollback`), that rollback succeeded,
 * and optionally the pipeline failed at its Deploy stage and the previous version was served throughout.
 */
import { type CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { RollbackNotProvenError } from '../errors.ts';
import type { IntervalOptions } from '../poll.ts';
import type { ExecutionRef, PipelineContext } from '../pipeline/observe.ts';
import { waitForStage } from '../pipeline/stages.ts';
import type { ProbeReport } from '../traffic/probe.ts';
import { deploymentOutcome } from './deployment.ts';

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
}

export interface RollbackOptions {
  /** For each wait. @default 1800000 (ms, 30m) */
  timeout?: number;
  interval?: IntervalOptions;
  signal?: AbortSignal;
  /** Also prove the pipeline execution failed at this stage. */
  pipeline?: { context: PipelineContext; execution: ExecutionRef; stage: string };
  /** Also prove only `version` was served (and nothing failed) while the probe ran. */
  served?: { report: ProbeReport; version: string };
}

/**
 * Result form: runs every check and returns them; throws only when the deployment cannot be read at all.
 *
 * @example
 * ```ts
 * const proof = await rollbackResult(codedeploy, deploymentId, { served: { report, version: previous } });
 * for (const c of proof.checks) console.log(c.ok ? 'ok ' : 'NOT', c.name, c.detail);
 * ```
 */
export async function rollbackResult(
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
  const original = await deploymentOutcome(codedeploy, deploymentId, wait);
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
      `no rollbackInfo.rollbackDeploymentId${original.rollbackMessage ? `: ${original.rollbackMessage}` : ''}`,
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
    const outcome = await deploymentOutcome(codedeploy, rollbackId, wait);
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
  return {
    proven: checks.every((c) => c.ok),
    deploymentId,
    status: original.status,
    rollbackDeploymentId: rollbackId,
    rollbackStatus,
    checks,
  };
}

/**
 * Assert form of `rollbackResult`.
 * @throws RollbackNotProvenError naming every check that failed.
 */
export async function expectRollback(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  options: RollbackOptions = {},
): Promise<RollbackProof> {
  const proof = await rollbackResult(codedeploy, deploymentId, options);
  if (proof.proven) return proof;
  const failed = proof.checks.filter((c) => !c.ok);
  throw new RollbackNotProvenError(
    `rollback of deployment ${deploymentId} not proven: ${failed.map((c) => `${c.name}: NO (${c.detail})`).join('; ')}`,
    { deploymentId, failedChecks: failed.map((c) => c.name) },
    { lastState: proof },
  );
}
