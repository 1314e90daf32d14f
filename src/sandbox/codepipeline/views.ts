/**
 * How CodePipeline shows its records on the wire: action executions (GetPipelineState, ListActionExecutions),
 * console entity URLs and pagination tokens.
 */
import type { ActionExecution, ActionExecutionDetail } from '@aws-sdk/client-codepipeline';
import { ServiceError } from '../protocol/errors.ts';
import { actionTypeIdView } from './declarations.ts';
import type { ActionExecutionRecord } from './store.ts';

/**
 * An action's `latestExecution` in GetPipelineState.
 *
 * @example
 * actionExecution(record).status; // 'InProgress'
 */
export function actionExecution(r: ActionExecutionRecord): ActionExecution {
  return {
    actionExecutionId: r.actionExecutionId,
    status: r.status,
    ...(r.summary ? { summary: r.summary } : {}),
    lastStatusChange: r.lastUpdateTime,
    // The token identifies the currently open approval request only (aws-semantics 2.5).
    ...(r.token && r.status === 'InProgress' ? { token: r.token } : {}),
    ...(r.lastUpdatedBy ? { lastUpdatedBy: r.lastUpdatedBy } : {}),
    ...(r.externalExecutionId ? { externalExecutionId: r.externalExecutionId } : {}),
    ...(r.externalExecutionUrl ? { externalExecutionUrl: r.externalExecutionUrl } : {}),
    ...(r.percentComplete !== undefined ? { percentComplete: r.percentComplete } : {}),
    ...(r.errorDetails ? { errorDetails: r.errorDetails } : {}),
  };
}

/**
 * One `actionExecutionDetails` entry of ListActionExecutions.
 *
 * @example
 * actionExecutionDetail(record, 'artifact-bucket', 'us-east-1').input.region; // 'us-east-1'
 */
export function actionExecutionDetail(
  r: ActionExecutionRecord,
  bucket: string,
  region: string,
): ActionExecutionDetail {
  const configuration = r.action.configuration ?? {};
  return {
    pipelineExecutionId: r.pipelineExecutionId,
    actionExecutionId: r.actionExecutionId,
    pipelineVersion: r.pipelineVersion,
    stageName: r.stageName,
    actionName: r.actionName,
    startTime: r.startTime,
    lastUpdateTime: r.lastUpdateTime,
    ...(r.lastUpdatedBy ? { updatedBy: r.lastUpdatedBy } : {}),
    status: r.status,
    input: {
      actionTypeId: actionTypeIdView(r.action.actionTypeId),
      configuration,
      resolvedConfiguration: r.resolvedConfiguration ?? configuration,
      ...(r.action.roleArn ? { roleArn: r.action.roleArn } : {}),
      region: r.action.region ?? region,
      inputArtifacts: r.inputArtifacts.map((a) => ({ name: a.name, s3location: { bucket, key: a.key } })),
      ...(r.action.namespace ? { namespace: r.action.namespace } : {}),
    },
    output: {
      outputArtifacts: r.outputArtifacts.map((a) => ({ name: a.name, s3location: { bucket, key: a.key } })),
      executionResult: {
        ...(r.externalExecutionId ? { externalExecutionId: r.externalExecutionId } : {}),
        ...(r.summary ? { externalExecutionSummary: r.summary } : {}),
        ...(r.externalExecutionUrl ? { externalExecutionUrl: r.externalExecutionUrl } : {}),
        ...(r.errorDetails ? { errorDetails: r.errorDetails } : {}),
      },
      ...(r.outputVariables ? { outputVariables: r.outputVariables } : {}),
    },
  };
}

/**
 * The console link CodePipeline shows for an action's resource.
 *
 * @example
 * entityUrl('CodeDeploy', { ApplicationName: 'web' }, 'us-east-1').entityUrl; // 'https://us-east-1.console.aws.amazon.com/codedeploy/...'
 */
export function entityUrl(
  provider: string,
  config: Record<string, string>,
  region: string,
): { entityUrl?: string } {
  const console = `https://${region}.console.aws.amazon.com`;
  if (provider === 'CodeCommit' && config.RepositoryName) {
    return {
      entityUrl: `${console}/codesuite/codecommit/repositories/${config.RepositoryName}/browse/refs/heads/${config.BranchName}?region=${region}`,
    };
  }
  if (provider === 'CodeBuild' && config.ProjectName) {
    return {
      entityUrl: `${console}/codesuite/codebuild/projects/${config.ProjectName}/history?region=${region}`,
    };
  }
  if (provider === 'Manual' && config.ExternalEntityLink) return { entityUrl: config.ExternalEntityLink };
  if (provider === 'CodeDeploy' && config.ApplicationName) {
    return {
      entityUrl: `${console}/codedeploy/home?region=${region}#/applications/${config.ApplicationName}`,
    };
  }
  return {};
}

/**
 * Opaque offset tokens; a token this sandbox did not issue is InvalidNextTokenException.
 *
 * @example
 * paginate(items, input.nextToken, input.maxResults ?? 100); // { items, nextToken? }
 */
export function paginate<T>(
  items: T[],
  token: string | undefined,
  max: number,
): { items: T[]; nextToken?: string } {
  let start = 0;
  if (token !== undefined) {
    const m = /^o(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
    if (!m)
      throw new ServiceError(
        'InvalidNextTokenException',
        `The next token '${token}' is not valid; pass the nextToken of the previous response`,
      );
    start = Number(m[1]);
  }
  const end = start + max;
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { nextToken: Buffer.from(`o${end}`).toString('base64url') } : {}),
  };
}
