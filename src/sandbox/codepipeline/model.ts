/**
 * CodePipeline shapes the sandbox stores and returns, with the member names of the service model
 * (`codepipeline/2015-07-09`). Only what the sandbox reads is typed; everything else passes through.
 */

export type PipelineExecutionStatus =
  | 'Cancelled'
  | 'InProgress'
  | 'Stopped'
  | 'Stopping'
  | 'Succeeded'
  | 'Superseded'
  | 'Failed';
export type StageExecutionStatus =
  | 'Cancelled'
  | 'InProgress'
  | 'Failed'
  | 'Stopped'
  | 'Stopping'
  | 'Succeeded'
  | 'Skipped';
export type ActionExecutionStatus = 'InProgress' | 'Abandoned' | 'Succeeded' | 'Failed';
export type ExecutionMode = 'QUEUED' | 'SUPERSEDED' | 'PARALLEL';

export interface ActionTypeId {
  category: string;
  owner: string;
  provider: string;
  version: string;
}

export interface ActionDeclaration {
  name: string;
  actionTypeId: ActionTypeId;
  runOrder?: number;
  configuration?: Record<string, string>;
  inputArtifacts?: { name: string }[];
  outputArtifacts?: { name: string; files?: string[] }[];
  roleArn?: string;
  region?: string;
  namespace?: string;
  timeoutInMinutes?: number;
  [extra: string]: unknown;
}

export interface StageDeclaration {
  name: string;
  actions: ActionDeclaration[];
  [extra: string]: unknown;
}

export interface PipelineDeclaration {
  name: string;
  roleArn: string;
  artifactStore?: { type: string; location: string; encryptionKey?: unknown };
  artifactStores?: Record<string, { type: string; location: string }>;
  stages: StageDeclaration[];
  version?: number;
  executionMode?: ExecutionMode;
  pipelineType?: 'V1' | 'V2';
  variables?: { name: string; defaultValue?: string; description?: string }[];
  [extra: string]: unknown;
}

export interface Tag {
  key: string;
  value: string;
}

export interface ErrorDetails {
  code: string;
  message: string;
}

export interface ArtifactRevision {
  name: string;
  revisionId: string;
  revisionChangeIdentifier?: string;
  revisionSummary?: string;
  created?: Date;
  revisionUrl?: string;
}

export interface SourceRevision {
  actionName: string;
  revisionId?: string;
  revisionSummary?: string;
  revisionUrl?: string;
}

export interface ExecutionTrigger {
  triggerType: string;
  triggerDetail: string;
}
