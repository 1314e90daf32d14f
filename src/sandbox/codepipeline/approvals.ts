/**
 * PutApprovalResult (aws-semantics 2.9): only the token of the open approval request of that action is
 * accepted; a second answer to the same request is ApprovalAlreadyCompletedException.
 */
import { ServiceError } from '../protocol/errors.ts';
import { callerArn } from './ids.ts';
import { pipelineOrThrow, stageOrThrow } from './lookups.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';

/**
 * @example
 * const handlers = approvalHandlers(deps);
 * handlers.PutApprovalResult({ pipelineName: 'web', stageName: 'Approval', actionName: 'Approve', token, result: { status: 'Approved', summary: 'ok' } }, ctx);
 */
export function approvalHandlers({
  runtime,
  store,
  approvals,
}: HandlerDeps): CodePipelineHandlers<'PutApprovalResult'> {
  return {
    PutApprovalResult(input, ctx): CodePipelineOutput<'PutApprovalResult'> {
      const p = pipelineOrThrow(store, input.pipelineName, ctx);
      const stage = stageOrThrow(store, p, input.stageName);
      const declared = p.declaration.stages.find((s) => s.name === input.stageName)!;
      const action = declared.actions.find((a) => a.name === input.actionName);
      if (!action) {
        throw new ServiceError(
          'ActionNotFoundException',
          `Action '${input.actionName}' does not exist in stage '${input.stageName}' of pipeline '${input.pipelineName}'`,
        );
      }
      if (action.actionTypeId.category !== 'Approval') {
        throw new ServiceError(
          'InvalidApprovalTokenException',
          `Action '${input.actionName}' is not an approval action`,
        );
      }
      const latest = stage.actions.get(input.actionName);
      // A second answer to the same approval request (aws-semantics 2.9); a token of an older, expired or
      // abandoned request is InvalidApprovalTokenException below.
      if (latest?.answered && latest.token === input.token) {
        throw new ServiceError(
          'ApprovalAlreadyCompletedException',
          `The approval request for action '${input.actionName}' of pipeline '${input.pipelineName}' was already answered (${latest.answered})`,
        );
      }
      const open = latest?.status === 'InProgress' ? latest : undefined;
      const by = callerArn(ctx.accountId);
      const answer = { status: input.result.status, summary: input.result.summary, by };
      if (!open || !approvals.answer(open.actionExecutionId, input.token, answer)) {
        throw new ServiceError(
          'InvalidApprovalTokenException',
          `The approval action '${input.actionName}' for pipeline '${input.pipelineName}' has already received a response or has expired, or the token '${input.token}' is not the token of its open approval request; read the current token from GetPipelineState`,
        );
      }
      open.answered = input.result.status;
      return { approvedAt: runtime.clock.now() };
    },
  };
}
