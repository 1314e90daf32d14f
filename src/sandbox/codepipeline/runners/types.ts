/**
 * The contract between the execution engine and the action runners (one module per provider).
 * A runner does the action's work and resolves with its outcome; it never changes pipeline state itself.
 */
import type { SandboxRuntime } from '../../types.ts';
import type { ActionDeclaration, ErrorDetails } from '../model.ts';

export interface ActionRunContext {
  readonly runtime: SandboxRuntime;
  readonly pipelineName: string;
  readonly pipelineExecutionId: string;
  readonly stageName: string;
  readonly action: ActionDeclaration;
  readonly actionExecutionId: string;
  /** Input artifacts in declaration order, each a local directory. */
  readonly inputArtifacts: readonly { name: string; dir: string }[];
  /** Output artifacts in declaration order, each an empty local directory to fill. */
  readonly outputArtifacts: readonly { name: string; dir: string }[];
  /** The source revision (commit id) behind the primary input artifact, when a source action made it. */
  readonly inputRevision?: string;
  /** A revision pinned for this source action (a pushed commit, or StartPipelineExecution sourceRevisions). */
  readonly pinnedRevision?: string;
  /** Aborted when the sandbox stops or resets or the pipeline is deleted: end all work now. */
  readonly signal: AbortSignal;
  /** Aborted when the action is abandoned (StopPipelineExecution with abandon); the result is ignored after. */
  readonly abandoned: AbortSignal;
  /** Publishes progress while running (external id and URL, approval token, summary). */
  update(patch: ActionProgress): void;
}

export interface ActionProgress {
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  summary?: string;
  token?: string;
  percentComplete?: number;
}

export interface SourceRevisionResult {
  revisionId: string;
  revisionSummary?: string;
  revisionUrl?: string;
  revisionChangeIdentifier?: string;
  created?: Date;
}

export interface ActionResult {
  status: 'Succeeded' | 'Failed';
  summary?: string;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  errorDetails?: ErrorDetails;
  outputVariables?: Record<string, string>;
  /** Source actions: the revision they fetched. */
  revision?: SourceRevisionResult;
  /** Who answered (approvals). */
  lastUpdatedBy?: string;
}

export interface ActionRunner {
  run(ctx: ActionRunContext): Promise<ActionResult>;
  /** Ends everything the runner still runs (processes, timers). */
  stop?(): Promise<void>;
}

/**
 * A failed result with AWS's `JobFailed` code.
 *
 * @example
 * return failed(`Repository ${name} does not exist`);
 */
export function failed(message: string, extra: Partial<ActionResult> = {}): ActionResult {
  return { status: 'Failed', errorDetails: { code: 'JobFailed', message: clip(message, 5000) }, ...extra };
}

/**
 * Clips text to a model length limit, keeping the end (the end of a log says why it failed).
 *
 * @example
 * clip('abcdef', 5); // '...ef'
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return '...' + text.slice(text.length - (max - 3));
}
