/**
 * CodePipeline state: pipelines (every declared version, tags, per-stage runtime state) and their
 * executions and action executions. Plain data; the engine changes it, the handlers read it.
 */
import type {
  ActionDeclaration,
  ActionExecutionStatus,
  ArtifactRevision,
  ErrorDetails,
  ExecutionMode,
  ExecutionTrigger,
  PipelineDeclaration,
  PipelineExecutionStatus,
  SourceRevision,
  StageExecutionStatus,
  Tag,
} from './model.ts';

export interface TransitionRecord {
  enabled: boolean;
  lastChangedBy?: string;
  lastChangedAt?: Date;
  disabledReason?: string;
}

/** One run of one action in one execution (ListActionExecutions, GetPipelineState `latestExecution`). */
export interface ActionExecutionRecord {
  actionExecutionId: string;
  pipelineExecutionId: string;
  pipelineVersion: number;
  stageName: string;
  actionName: string;
  action: ActionDeclaration;
  startTime: Date;
  lastUpdateTime: Date;
  status: ActionExecutionStatus;
  summary?: string;
  /** Approval token; shown only while the action is InProgress. */
  token?: string;
  /** Set when an approval got its answer (distinguishes "already completed" from "expired"). */
  answered?: 'Approved' | 'Rejected';
  lastUpdatedBy?: string;
  externalExecutionId?: string;
  externalExecutionUrl?: string;
  percentComplete?: number;
  errorDetails?: ErrorDetails;
  outputVariables?: Record<string, string>;
  /** The configuration with variables resolved (ListActionExecutions `resolvedConfiguration`). */
  resolvedConfiguration?: Record<string, string>;
  inputArtifacts: { name: string; key: string }[];
  outputArtifacts: { name: string; key: string }[];
  currentRevision?: { revisionId: string; revisionChangeId: string; created: Date };
}

/** What one stage shows between executions: its transition, lock, waiting executions and last action runs. */
export interface StageRuntime {
  inbound: TransitionRecord;
  outboundEnabled: boolean;
  /** The execution inside the stage (SUPERSEDED and QUEUED lock a stage; PARALLEL does not). */
  lockedBy?: string;
  /** Executions waiting in front of the stage, oldest first. */
  waiting: string[];
  latest?: { pipelineExecutionId: string; status: StageExecutionStatus };
  actions: Map<string, ActionExecutionRecord>;
  manualRetryAttempt?: number;
}

export interface ExecutionRecord {
  pipelineExecutionId: string;
  pipelineName: string;
  pipelineVersion: number;
  /** The declaration this execution runs (it does not change when the pipeline is updated). */
  declaration: PipelineDeclaration;
  status: PipelineExecutionStatus;
  statusSummary?: string;
  startTime: Date;
  lastUpdateTime: Date;
  trigger: ExecutionTrigger;
  stopTrigger?: { reason?: string };
  executionMode: ExecutionMode;
  artifactRevisions: ArtifactRevision[];
  sourceRevisions: SourceRevision[];
  variables?: { name: string; resolvedValue: string }[];
  /** Source action name → revision to fetch (a push, or StartPipelineExecution sourceRevisions). */
  pinnedRevisions: Map<string, string>;
  /** Action namespace → output variables of the action that declared it. */
  namespaces: Map<string, Record<string, string>>;
  /** Artifact name → local directory. */
  artifactDirs: Map<string, string>;
  /** Index of the stage the execution is in or waiting for. */
  stageIndex: number;
  where: 'waiting' | 'inStage' | 'done';
  stageStatus: Map<string, StageExecutionStatus>;
  abandon?: boolean;
  /** The pipeline was updated: end as Cancelled when the current stage ends. */
  cancelAfterStage?: boolean;
}

export interface PipelineRecord {
  declaration: PipelineDeclaration;
  versions: Map<number, PipelineDeclaration>;
  arn: string;
  created: Date;
  updated: Date;
  tags: Tag[];
  stages: Map<string, StageRuntime>;
  /** Oldest first. */
  executions: ExecutionRecord[];
  /** Oldest first. */
  actionExecutions: ActionExecutionRecord[];
}

/**
 * A stage's runtime state before any execution: transitions enabled, unlocked, nobody waiting.
 *
 * @example
 * record.stages.set('Deploy', newStageRuntime());
 */
export function newStageRuntime(): StageRuntime {
  return { inbound: { enabled: true }, outboundEnabled: true, waiting: [], actions: new Map() };
}

/**
 * All pipelines of one sandbox, by name.
 *
 * @example
 * const store = new PipelineStore();
 * store.get('web')?.executions.at(-1)?.status; // 'InProgress'
 */
export class PipelineStore {
  readonly pipelines = new Map<string, PipelineRecord>();

  get(name: string): PipelineRecord | undefined {
    return this.pipelines.get(name);
  }

  byArn(arn: string): PipelineRecord | undefined {
    for (const p of this.pipelines.values()) if (p.arn === arn) return p;
    return undefined;
  }

  /** The runtime state of a stage by name (created on first use: stages of an older version stay addressable). */
  stage(pipeline: PipelineRecord, stageName: string): StageRuntime {
    let stage = pipeline.stages.get(stageName);
    if (!stage) {
      stage = newStageRuntime();
      pipeline.stages.set(stageName, stage);
    }
    return stage;
  }

  execution(pipeline: PipelineRecord, id: string): ExecutionRecord | undefined {
    return pipeline.executions.find((e) => e.pipelineExecutionId === id);
  }

  clear(): void {
    this.pipelines.clear();
  }
}
