/**
 * ARNs CodePipeline shows: the pipeline's own and the caller's (aws-semantics 2.1).
 */

/**
 * The caller, as CodePipeline records it (`triggerDetail`, `lastChangedBy`); the sandbox has no IAM.
 *
 * @example
 * callerArn('000000000000'); // 'arn:aws:iam::000000000000:root'
 */
export function callerArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/**
 * `arn:aws:codepipeline:<region>:<account>:<pipeline>` (aws-semantics 2.1).
 *
 * @example
 * pipelineArn('us-east-1', '000000000000', 'web'); // 'arn:aws:codepipeline:us-east-1:000000000000:web'
 */
export function pipelineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:codepipeline:${region}:${accountId}:${name}`;
}
