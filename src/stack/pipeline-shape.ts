/**
 * What a pipeline is, read from its declaration (GetPipeline): its ARN, execution mode, stages, the repository
 * and branch its Source action watches, and the deployment group its Deploy action deploys to. The guard
 * compares what the harness is about to touch with it, so a push or a stop can only land on that pipeline's own
 * source and deployment group, whatever stack the run is on.
 */
import {
  type CodePipelineClient,
  GetPipelineCommand,
  type GetPipelineCommandOutput,
  type PipelineDeclaration,
} from '@aws-sdk/client-codepipeline';
import type { HarnessConfig } from '../config.ts';
import { GuardRefusedError, HarnessError } from '../errors.ts';
import { errorLine } from '../poll.ts';

/** The deployment group a Deploy action deploys to. */
export interface DeployTarget {
  applicationName: string;
  deploymentGroupName: string;
  /** `arn:<partition>:codedeploy:<region>:<account>:deploymentgroup:<application>/<group>` */
  deploymentGroupArn: string;
}

/** A pipeline as its declaration describes it. */
export interface PipelineShape {
  name: string;
  arn: string;
  region: string;
  account: string;
  executionMode: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL';
  stages: string[];
  /** The Source action: provider and what it watches. */
  source: { provider: string; repository: string | undefined; branch: string | undefined };
  /** The CodeDeploy action of the Deploy stage. */
  deploy: DeployTarget;
}

const ARN = /^arn:([^:]+):codepipeline:([^:]+):(\d{12}):(.+)$/;

/** Options of {@link readPipelineShape}. */
export interface ReadPipelineShapeOptions {
  codepipeline: CodePipelineClient;
  pipelineName: string;
  /** Where the names were configured, for the error when a stage is missing. */
  stages: HarnessConfig['stages'];
  approvalActionName: string;
  region: string;
}

/**
 * Reads the pipeline's declaration and checks it has the configured stages and approval action.
 *
 * @throws HarnessError when the pipeline cannot be read, or a configured stage/action is not in it (listing
 *   the real names and the `HARNESS_STAGE_*` to set).
 * @example
 * ```ts
 * const shape = await readPipelineShape({ codepipeline, pipelineName, stages: config.stages, ... });
 * shape.deploy.deploymentGroupArn; // arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:app/dg
 * ```
 */
export async function readPipelineShape(options: ReadPipelineShapeOptions): Promise<PipelineShape> {
  const { pipelineName, region } = options;
  const out = await options.codepipeline
    .send(new GetPipelineCommand({ name: pipelineName }))
    .catch((error) => {
      throw new HarnessError(
        `pipeline ${pipelineName} cannot be read in ${region} (${errorLine(error)}); ` +
          'set HARNESS_PIPELINE_NAME and HARNESS_REGION to your pipeline',
        { cause: error },
      );
    });
  return pipelineShapeOf(out, options);
}

/**
 * The checks and the shape of {@link readPipelineShape} on a GetPipeline answer already read (no call): for a
 * caller that reads the pipeline itself (the doctor, with its own deadline and error mapping).
 *
 * @throws HarnessError when a configured stage/action is not in the declaration.
 */
export function pipelineShapeOf(
  out: Pick<GetPipelineCommandOutput, 'pipeline' | 'metadata'>,
  options: Omit<ReadPipelineShapeOptions, 'codepipeline'>,
): PipelineShape {
  const { pipelineName, stages, region } = options;
  const declaration = out.pipeline;
  const arn = out.metadata?.pipelineArn ?? '';
  const [, partition = 'aws', arnRegion = region, account = ''] = ARN.exec(arn) ?? [];
  const declared = declaration?.stages ?? [];
  const names = declared.map((s) => s.name ?? '');
  const missing = (
    [
      ['source', 'HARNESS_STAGE_SOURCE'],
      ['build', 'HARNESS_STAGE_BUILD'],
      ['approval', 'HARNESS_STAGE_APPROVAL'],
      ['deploy', 'HARNESS_STAGE_DEPLOY'],
    ] as const
  ).filter(([key]) => !names.includes(stages[key]));
  if (missing.length) {
    throw new HarnessError(
      `pipeline ${pipelineName} has no stage ${missing.map(([k]) => `"${stages[k]}" (stages.${k})`).join(', ')}; ` +
        `its stages are ${names.join(', ')}: set ${missing.map(([, env]) => env).join(', ')} to yours`,
    );
  }
  const actionsOf = (stage: string) => declared.find((s) => s.name === stage)?.actions ?? [];
  if (!actionsOf(stages.approval).some((a) => a.name === options.approvalActionName)) {
    throw new HarnessError(
      `stage ${stages.approval} of pipeline ${pipelineName} has no action "${options.approvalActionName}"; its actions ` +
        `are ${actionsOf(stages.approval)
          .map((a) => a.name)
          .join(', ')}: set HARNESS_APPROVAL_ACTION to yours`,
    );
  }
  const sourceAction = actionsOf(stages.source).find((a) => a.actionTypeId?.category === 'Source');
  const config = sourceAction?.configuration ?? {};
  const deployAction = actionsOf(stages.deploy).find((a) => a.actionTypeId?.provider === 'CodeDeploy');
  if (!deployAction?.configuration?.ApplicationName || !deployAction.configuration.DeploymentGroupName) {
    throw new HarnessError(
      `stage ${stages.deploy} of pipeline ${pipelineName} has no CodeDeploy action with an application and ` +
        'deployment group; set HARNESS_STAGE_DEPLOY to the stage that deploys with CodeDeploy',
    );
  }
  const applicationName = deployAction.configuration.ApplicationName;
  const deploymentGroupName = deployAction.configuration.DeploymentGroupName;
  return {
    name: pipelineName,
    arn,
    region: arnRegion,
    account,
    executionMode: (declaration?.executionMode as PipelineShape['executionMode']) ?? 'SUPERSEDED',
    stages: names,
    source: {
      provider: sourceAction?.actionTypeId?.provider ?? 'unknown',
      repository: config.RepositoryName ?? config.FullRepositoryId ?? config.S3Bucket,
      branch: config.BranchName,
    },
    deploy: {
      applicationName,
      deploymentGroupName,
      deploymentGroupArn: deploymentGroupArn(
        partition,
        arnRegion,
        account,
        applicationName,
        deploymentGroupName,
      ),
    },
  };
}

/** Stage and approval action names a declaration suggests for the harness's settings. */
export interface SuggestedNames {
  stages: Partial<HarnessConfig['stages']>;
  approvalActionName?: string;
}

/**
 * The names a pipeline's declaration suggests, by what its actions are (not by what they are called): the stage
 * of the Source action, of the first Build action, of the manual approval (and that action's name) and of the
 * CodeDeploy action. A stage that cannot be told is left out.
 *
 * @example
 * ```ts
 * suggestPipelineNames(declaration); // { stages: { source: 'Source', ..., deploy: 'DeployBlueGreen' }, approvalActionName: 'QA-Signoff' }
 * ```
 */
export function suggestPipelineNames(declaration: PipelineDeclaration | undefined): SuggestedNames {
  const stages = declaration?.stages ?? [];
  const stageWith = (test: (a: { category?: string; provider?: string }) => boolean) =>
    stages.find((s) => (s.actions ?? []).some((a) => test(a.actionTypeId ?? {})))?.name;
  const approvalStage = stages.find((s) =>
    (s.actions ?? []).some((a) => a.actionTypeId?.category === 'Approval'),
  );
  const found: SuggestedNames = { stages: {} };
  const source = stageWith((a) => a.category === 'Source');
  const build = stageWith((a) => a.category === 'Build' || a.category === 'Test');
  const deploy = stageWith((a) => a.provider === 'CodeDeploy');
  if (source) found.stages.source = source;
  if (build) found.stages.build = build;
  if (approvalStage?.name) found.stages.approval = approvalStage.name;
  if (deploy) found.stages.deploy = deploy;
  const approvalAction = approvalStage?.actions?.find((a) => a.actionTypeId?.category === 'Approval')?.name;
  if (approvalAction) found.approvalActionName = approvalAction;
  return found;
}

/** The ARN of a CodeDeploy deployment group. */
export function deploymentGroupArn(
  partition: string,
  region: string,
  account: string,
  application: string,
  group: string,
): string {
  return `arn:${partition}:codedeploy:${region}:${account}:deploymentgroup:${application}/${group}`;
}

/** The repository a clone URL names: `<name>` for CodeCommit, `<owner>/<repo>` for a Git host. */
function repositoryOf(url: string): { last: string; path: string } {
  const path = url
    .replace(/^codecommit:(:[^:]*)?\/\//, '/')
    .replace(/^[a-z+]+:\/\/[^/]+/i, '')
    .replace(/^[^@]+@[^:]+:/, '/')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  return { last: path.split('/').at(-1) ?? '', path: path.replace(/^\//, '') };
}

/**
 * The guard's source check: the repository and branch a push goes to are the ones the pipeline's Source action
 * watches. Runs before anything is pushed.
 *
 * @throws GuardRefusedError naming both sides and what to set.
 */
export function assertPipelineSource(shape: PipelineShape, repoUrl: string, branch: string): void {
  const { repository, branch: watched, provider } = shape.source;
  const { last, path } = repositoryOf(repoUrl);
  const sameRepository =
    repository !== undefined &&
    (provider === 'CodeCommit' ? last === repository : path.toLowerCase().endsWith(repository.toLowerCase()));
  if (sameRepository && branch === watched) return;
  throw new GuardRefusedError(
    `refusing to push to ${repoUrl} branch ${branch}: pipeline ${shape.name}'s Source action (${provider}) watches ` +
      `${repository ?? 'an unknown repository'} branch ${watched ?? '?'}; set HARNESS_SOURCE_REPOSITORY_URL and ` +
      'HARNESS_SOURCE_BRANCH to that repository and branch',
    { kind: 'repository', id: `${repoUrl}#${branch}`, action: 'push to' },
  );
}

/**
 * The guard's deployment check: the deployment about to be stopped belongs to the pipeline's Deploy action's
 * deployment group, compared by ARN.
 *
 * @throws GuardRefusedError naming the deployment's group and the pipeline's.
 */
export function assertPipelineDeployment(
  shape: PipelineShape,
  deploymentId: string,
  deployment: { applicationName?: string | undefined; deploymentGroupName?: string | undefined },
): void {
  const [, partition = 'aws'] = /^arn:([^:]+):/.exec(shape.arn) ?? [];
  const arn = deploymentGroupArn(
    partition,
    shape.region,
    shape.account,
    deployment.applicationName ?? '?',
    deployment.deploymentGroupName ?? '?',
  );
  if (arn === shape.deploy.deploymentGroupArn) return;
  throw new GuardRefusedError(
    `refusing to stop deployment ${deploymentId}: it belongs to ${arn}, not to ${shape.deploy.deploymentGroupArn} ` +
      `that pipeline ${shape.name}'s Deploy action deploys to`,
    { kind: 'deployment', id: deploymentId, action: 'stop' },
  );
}
