/**
 * The CodePipeline operations the sandbox serves, with the SDK's input and output types: what each handler
 * file implements and `handlers.ts` assembles. An operation of the model absent here answers `NotImplemented`.
 */
import type * as Sdk from '@aws-sdk/client-codepipeline';
import type { Handlers, Operation, OutputOf, SandboxRuntime } from '../types.ts';
import type { ExecutionEngine } from './engine.ts';
import type { ApprovalRunner } from './runners/approval.ts';
import type { PipelineStore } from './store.ts';

/** The output of an operation whose model declares none: an empty object. */
export type NoOutput = Record<string, never>;

export interface CodePipelineOperations {
  CreatePipeline: Operation<Sdk.CreatePipelineInput, Sdk.CreatePipelineOutput>;
  GetPipeline: Operation<Sdk.GetPipelineInput, Sdk.GetPipelineOutput>;
  UpdatePipeline: Operation<Sdk.UpdatePipelineInput, Sdk.UpdatePipelineOutput>;
  DeletePipeline: Operation<Sdk.DeletePipelineInput, NoOutput>;
  ListPipelines: Operation<Sdk.ListPipelinesInput, Sdk.ListPipelinesOutput>;
  GetPipelineState: Operation<Sdk.GetPipelineStateInput, Sdk.GetPipelineStateOutput>;
  GetPipelineExecution: Operation<Sdk.GetPipelineExecutionInput, Sdk.GetPipelineExecutionOutput>;
  ListPipelineExecutions: Operation<Sdk.ListPipelineExecutionsInput, Sdk.ListPipelineExecutionsOutput>;
  ListActionExecutions: Operation<Sdk.ListActionExecutionsInput, Sdk.ListActionExecutionsOutput>;
  StartPipelineExecution: Operation<Sdk.StartPipelineExecutionInput, Sdk.StartPipelineExecutionOutput>;
  StopPipelineExecution: Operation<Sdk.StopPipelineExecutionInput, Sdk.StopPipelineExecutionOutput>;
  RetryStageExecution: Operation<Sdk.RetryStageExecutionInput, Sdk.RetryStageExecutionOutput>;
  PutApprovalResult: Operation<Sdk.PutApprovalResultInput, Sdk.PutApprovalResultOutput>;
  DisableStageTransition: Operation<Sdk.DisableStageTransitionInput, NoOutput>;
  EnableStageTransition: Operation<Sdk.EnableStageTransitionInput, NoOutput>;
  TagResource: Operation<Sdk.TagResourceInput, Sdk.TagResourceOutput>;
  UntagResource: Operation<Sdk.UntagResourceInput, Sdk.UntagResourceOutput>;
  ListTagsForResource: Operation<Sdk.ListTagsForResourceInput, Sdk.ListTagsForResourceOutput>;
}

/** The handlers of some CodePipeline operations (one handler file's share). */
export type CodePipelineHandlers<K extends keyof CodePipelineOperations> = Handlers<
  Pick<CodePipelineOperations, K>
>;

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
export type CodePipelineOutput<K extends keyof CodePipelineOperations> = OutputOf<CodePipelineOperations, K>;

/** What every CodePipeline handler file is built from. */
export interface HandlerDeps {
  runtime: SandboxRuntime;
  store: PipelineStore;
  engine: ExecutionEngine;
  approvals: ApprovalRunner;
}
