/**
 * Deploy/CodeDeploy: hands the input artifact to the sandbox CodeDeploy as a revision and follows the
 * deployment to its end (aws-semantics 2.8): `externalExecutionId` = deployment id, summary
 * `Deployment Succeeded`, Failed with the deployment's error information. Abandoning the action does not
 * stop the deployment.
 */
import { failed } from './types.ts';
import type { ActionResult, ActionRunContext, ActionRunner } from './types.ts';

export interface DeploymentStatus {
  status: string;
  errorInformation?: { code?: string; message?: string };
}

/**
 * What the Deploy action needs from the sandbox's CodeDeploy (src/sandbox/codedeploy).
 *
 * @example
 * const { deploymentId } = await backend.createDeployment({
 *   applicationName: 'app', deploymentGroupName: 'dg', artifactDir: '/…/BuildArtifact',
 *   revision: { revisionType: 'S3', s3Location: { bucket: 'artifacts', key: 'p/BuildArtif/abc1234', bundleType: 'zip' } },
 * });
 */
export interface DeployBackend {
  createDeployment(args: {
    applicationName: string;
    deploymentGroupName: string;
    artifactDir: string;
    description?: string;
    revision?: { revisionType: 'S3'; s3Location: { bucket: string; key: string; bundleType: 'zip' } };
  }): Promise<{ deploymentId: string }> | { deploymentId: string };
  getDeploymentStatus(deploymentId: string): Promise<DeploymentStatus> | DeploymentStatus;
  /** Calls back on changes of one deployment; returns an unsubscribe function. */
  onDeploymentChange?(
    deploymentId: string,
    callback: (status: DeploymentStatus) => void,
  ): (() => void) | undefined;
}

/** The sandbox CodeDeploy's own internal API (src/sandbox/codedeploy/index.ts). */
interface CodeDeployInternal {
  createDeployment: DeployBackend['createDeployment'];
  getDeploymentInfo(deploymentId: string): (DeploymentStatus & { deploymentId?: string }) | undefined;
  onDeploymentChange?(listener: (info: DeploymentStatus & { deploymentId?: string }) => void): () => void;
}

/**
 * The deploy API of `deps.codedeploy` (either shape above), or undefined while that service has none.
 *
 * @example
 * const backend = deployBackend(deps.codedeploy); // undefined → the action fails with a clear message
 */
export function deployBackend(codedeploy: unknown): DeployBackend | undefined {
  const c = codedeploy as Partial<DeployBackend> & Partial<CodeDeployInternal>;
  if (!c || typeof c.createDeployment !== 'function') return undefined;
  if (typeof c.getDeploymentStatus === 'function') return c as DeployBackend;
  if (typeof c.getDeploymentInfo !== 'function') return undefined;
  const internal = c as CodeDeployInternal;
  return {
    createDeployment: (args) => internal.createDeployment(args),
    getDeploymentStatus: (id) => {
      const info = internal.getDeploymentInfo(id);
      if (!info) {
        return {
          status: 'Failed',
          errorInformation: { code: 'DEPLOYMENT_MISSING', message: `Deployment ${id} no longer exists` },
        };
      }
      return {
        status: info.status,
        ...(info.errorInformation ? { errorInformation: info.errorInformation } : {}),
      };
    },
    ...(typeof internal.onDeploymentChange === 'function'
      ? {
          onDeploymentChange: (id: string, callback: (s: DeploymentStatus) => void) =>
            internal.onDeploymentChange!((info) => {
              if (info.deploymentId === id) callback(info);
            }),
        }
      : {}),
  };
}

const FINAL = new Set(['Succeeded', 'Failed', 'Stopped']);
/** CodeDeploy actions time out after 5 days (CodePipeline quotas); scaled like other AWS durations. */
const DEPLOY_TIMEOUT_SECONDS = 5 * 24 * 3600;

/**
 * Runs Deploy/CodeDeploy actions: one deployment per action execution, followed to its end.
 *
 * @example
 * const deploy = new CodeDeployRunner(() => deployBackend(codedeploy), () => 'artifact-bucket');
 * (await deploy.run(ctx)).externalExecutionId; // 'd-ABCDEF123'
 */
export class CodeDeployRunner implements ActionRunner {
  readonly #backend: (region?: string) => DeployBackend | undefined;
  readonly #bucket: (pipelineName: string) => string;

  /**
   * @param backend the CodeDeploy of the pipeline's region, or, given a cross-region action's `region`, that
   *   region's
   */
  constructor(
    backend: (region?: string) => DeployBackend | undefined,
    bucket: (pipelineName: string) => string,
  ) {
    this.#backend = backend;
    this.#bucket = bucket;
  }

  async run(ctx: ActionRunContext): Promise<ActionResult> {
    const config = ctx.action.configuration ?? {};
    const applicationName = config.ApplicationName ?? '';
    const deploymentGroupName = config.DeploymentGroupName ?? '';
    const backend = this.#backend(ctx.action.region);
    if (!backend && ctx.action.region !== undefined && ctx.action.region !== ctx.runtime.region) {
      return failed(
        `Action ${ctx.action.name} deploys in ${ctx.action.region}, whose CodeDeploy this pipeline in ${ctx.runtime.region} cannot reach`,
      );
    }
    if (!backend) {
      return failed(
        `The sandbox CodeDeploy service cannot create deployments yet, so action ${ctx.action.name} cannot deploy to ${applicationName}/${deploymentGroupName}`,
      );
    }
    const input = ctx.inputArtifacts[0];
    if (!input) return failed(`Action ${ctx.action.name} has no input artifact to deploy`);
    let deploymentId: string;
    try {
      const key = `${ctx.pipelineName.slice(0, 20)}/${input.name.slice(0, 10)}/${ctx.pipelineExecutionId.replaceAll('-', '').slice(0, 7)}`;
      ({ deploymentId } = await backend.createDeployment({
        applicationName,
        deploymentGroupName,
        artifactDir: input.dir,
        description: `Deployed by CodePipeline ${ctx.pipelineName} execution ${ctx.pipelineExecutionId}`,
        revision: {
          revisionType: 'S3',
          s3Location: { bucket: this.#bucket(ctx.pipelineName), key, bundleType: 'zip' },
        },
      }));
    } catch (error) {
      const e = error as { name?: string; code?: string; message?: string };
      return failed(`${e.code ?? e.name ?? 'Error'}: ${e.message ?? String(error)}`);
    }
    const region = ctx.action.region ?? ctx.runtime.region;
    const externalExecutionUrl = `https://${region}.console.aws.amazon.com/codedeploy/home?region=${region}#/deployments/${deploymentId}`;
    ctx.update({ externalExecutionId: deploymentId, externalExecutionUrl });
    const base = { externalExecutionId: deploymentId, externalExecutionUrl };

    const deadline = AbortSignal.timeout(ctx.runtime.clock.scaled(DEPLOY_TIMEOUT_SECONDS));
    const ended = AbortSignal.any([ctx.signal, ctx.abandoned, deadline]);
    const status = await new Promise<DeploymentStatus | undefined>((resolve) => {
      let done = false;
      const finish = (s: DeploymentStatus | undefined) => {
        if (done) return;
        done = true;
        cancel();
        resolve(s);
      };
      const check = async () => {
        try {
          const s = await backend.getDeploymentStatus(deploymentId);
          if (FINAL.has(s.status)) finish(s);
        } catch (error) {
          finish({ status: 'Failed', errorInformation: { code: 'InternalError', message: String(error) } });
        }
      };
      const off = backend.onDeploymentChange?.(deploymentId, (s) => {
        if (FINAL.has(s.status)) finish(s);
      });
      const every = ctx.runtime.clock.every(250, () => void check());
      const cancel = () => {
        every();
        off?.();
      };
      if (ended.aborted) finish(undefined);
      ended.addEventListener('abort', () => finish(undefined), { once: true });
      void check();
    });
    if (!status) {
      if (deadline.aborted)
        return failed(`Deployment ${deploymentId} did not finish within the action timeout`, base);
      return failed(`Stopped following deployment ${deploymentId}`, base);
    }
    if (status.status === 'Succeeded')
      return { status: 'Succeeded', summary: 'Deployment Succeeded', ...base };
    const info = status.errorInformation;
    return failed(
      `Deployment ${deploymentId} ${status.status.toLowerCase()}${info ? `: ${info.code ?? ''}${info.code && info.message ? ': ' : ''}${info.message ?? ''}` : ''}`,
      { ...base, summary: `Deployment ${status.status}` },
    );
  }
}
