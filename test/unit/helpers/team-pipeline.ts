/**
 * A team's pipeline as GetPipeline answers it, for tests with aws-sdk-client-mock: CodeCommit source `team-repo`
 * on branch `release`, a CodeBuild stage, a manual approval and a CodeDeploy action on `team-app`/`team-dg`,
 * in eu-west-1 of account 123456789012.
 */
import type { GetPipelineCommandOutput } from '@aws-sdk/client-codepipeline';

export const TEAM_PIPELINE_ARN = 'arn:aws:codepipeline:eu-west-1:123456789012:team-pipeline';

/** The names that differ between teams. @example teamPipeline({ deployStage: 'DeployBlueGreen' }) */
export function teamPipeline(
  names: { approvalAction?: string; deployStage?: string } = {},
): GetPipelineCommandOutput {
  return {
    pipeline: {
      name: 'team-pipeline',
      roleArn: 'r',
      stages: [
        {
          name: 'Source',
          actions: [
            {
              name: 'Checkout',
              actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
              configuration: { RepositoryName: 'team-repo', BranchName: 'release' },
            },
          ],
        },
        {
          name: 'BuildAndTest',
          actions: [
            {
              name: 'Build',
              actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            },
          ],
        },
        {
          name: 'Approval',
          actions: [
            {
              name: names.approvalAction ?? 'ManualApproval',
              actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
            },
          ],
        },
        {
          name: names.deployStage ?? 'Deploy',
          actions: [
            {
              name: 'Deploy',
              actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
              configuration: { ApplicationName: 'team-app', DeploymentGroupName: 'team-dg' },
            },
          ],
        },
      ],
    },
    metadata: { pipelineArn: TEAM_PIPELINE_ARN },
    $metadata: {},
  } as GetPipelineCommandOutput;
}
