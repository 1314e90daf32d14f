/**
 * Stage builders for the runbook's pipeline shape (Source/CodeCommit → BuildAndTest/CodeBuild →
 * Approval/Manual → Deploy/CodeDeploy), so tests state only what differs between their pipelines.
 * The harness's own stack is the capstone template (sample-app/infra/capstone.yaml); these are for tests
 * that name their resources freely.
 *
 * @example
 * const decl = declarePipeline('flow-app', [
 *   sourceStage('flow-app', { pollForSourceChanges: false }),
 *   buildStage('flow-build'),
 *   approvalStage(),
 * ]);
 * await codepipeline.send(new CreatePipelineCommand({ pipeline: decl }));
 */
import type { PipelineDeclaration, StageDeclaration } from '@aws-sdk/client-codepipeline';

export interface SourceStageOptions {
  /** Name of the output artifact. @default 'SourceArtifact' */
  outputArtifact?: string;
  /** When false, sets `PollForSourceChanges: 'false'`; when absent the key is left out. */
  pollForSourceChanges?: false;
}

/** A `Source` stage with one CodeCommit action on branch `main`. */
export function sourceStage(repositoryName: string, options: SourceStageOptions = {}): StageDeclaration {
  return {
    name: 'Source',
    actions: [
      {
        name: 'Source',
        actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
        configuration: {
          RepositoryName: repositoryName,
          BranchName: 'main',
          ...(options.pollForSourceChanges === false ? { PollForSourceChanges: 'false' } : {}),
        },
        outputArtifacts: [{ name: options.outputArtifact ?? 'SourceArtifact' }],
      },
    ],
  };
}

export interface BuildStageOptions {
  /** @default 'BuildAndTest' */
  actionName?: string;
  /** @default 'SourceArtifact' */
  inputArtifact?: string;
  /** @default 'BuildArtifact' */
  outputArtifact?: string;
}

/** A `BuildAndTest` stage with one CodeBuild action (reads `SourceArtifact`, writes `BuildArtifact` by default). */
export function buildStage(projectName: string, options: BuildStageOptions = {}): StageDeclaration {
  return {
    name: 'BuildAndTest',
    actions: [
      {
        name: options.actionName ?? 'BuildAndTest',
        actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
        configuration: { ProjectName: projectName },
        inputArtifacts: [{ name: options.inputArtifact ?? 'SourceArtifact' }],
        outputArtifacts: [{ name: options.outputArtifact ?? 'BuildArtifact' }],
      },
    ],
  };
}

/** A stage (default `Approval`) with one Manual approval action (default `ManualApproval`). */
export function approvalStage(stageName = 'Approval', actionName = 'ManualApproval'): StageDeclaration {
  return {
    name: stageName,
    actions: [
      {
        name: actionName,
        actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
      },
    ],
  };
}

export interface DeployStageOptions {
  /** @default 'Deploy' */
  actionName?: string;
  /** @default 'BuildArtifact' */
  inputArtifact?: string;
}

/** A `Deploy` stage with one CodeDeploy action (deploys `BuildArtifact` by default). */
export function deployStage(
  applicationName: string,
  deploymentGroupName: string,
  options: DeployStageOptions = {},
): StageDeclaration {
  return {
    name: 'Deploy',
    actions: [
      {
        name: options.actionName ?? 'Deploy',
        actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
        configuration: { ApplicationName: applicationName, DeploymentGroupName: deploymentGroupName },
        inputArtifacts: [{ name: options.inputArtifact ?? 'BuildArtifact' }],
      },
    ],
  };
}

export interface DeclarePipelineOptions {
  /** @default 'arn:aws:iam::000000000000:role/pipeline' */
  roleArn?: string;
  /** S3 artifact store bucket. @default 'artifacts' */
  artifactBucket?: string;
}

/** A pipeline declaration around `stages`, with an S3 artifact store. */
export function declarePipeline(
  name: string,
  stages: StageDeclaration[],
  options: DeclarePipelineOptions = {},
): PipelineDeclaration {
  return {
    name,
    roleArn: options.roleArn ?? 'arn:aws:iam::000000000000:role/pipeline',
    artifactStore: { type: 'S3', location: options.artifactBucket ?? 'artifacts' },
    stages,
  };
}
