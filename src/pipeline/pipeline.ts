/**
 * `Pipeline`: one pipeline, one client, one timeline; the release-flow methods of DESIGN.md 5.2 with the
 * stage/action names and timeouts from config.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { HarnessConfig } from '../config.ts';
import { type DeploymentOfOptions, deploymentOf } from '../deploy/deployment.ts';
import type { Attempt } from '../attempt.ts';
import type { IntervalOptions } from '../poll.ts';
import {
  type ApprovalOptions,
  type ApprovalResult,
  approve,
  reject,
  tryApprove,
  tryReject,
} from './approval.ts';
import { type FindExecutionOptions, findExecution, tryFindExecution } from './execution.ts';
import type { ExecutionRef, PipelineContext, StageObservation } from './observe.ts';
import { type StageStatus, type WaitForStageOptions, tryWaitForStage, waitForStage } from './stages.ts';
import { Timeline } from './timeline.ts';
import type { Watching } from '../watch/index.ts';

export interface PipelineOptions {
  codepipeline: CodePipelineClient;
  pipelineName: string;
  /** Lets stage timeouts say where the deployment behind a Deploy action is. */
  codedeploy?: CodeDeployClient;
  /** With `logs`, lets a failed build's error name the failing test (from the build's CloudWatch Logs stream). */
  codebuild?: CodeBuildClient;
  logs?: CloudWatchLogsClient;
  /** @default a new Timeline */
  timeline?: Timeline;
  interval?: IntervalOptions;
  signal?: AbortSignal;
  /** How waits learn of changes (src/watch): events wake them before their next poll. @default polling only */
  watch?: Watching;
  /** Default approval stage/action. @default 'Approval' / 'ManualApproval' */
  approvalStage?: string;
  approvalAction?: string;
  /** The Deploy stage, where `deploymentOf` looks by default. @default 'Deploy' */
  deployStage?: string;
  /**
   * Default deadlines in ms: `stage` for any stage wait, `stages[name]` for a stage of that name (e.g. the
   * build stage gets `timeouts.build`), `approval` until our approval is open.
   */
  timeouts?: {
    findExecution?: number;
    stage?: number;
    approval?: number;
    stages?: Readonly<Record<string, number>>;
  };
}

/**
 * Follows executions of one pipeline.
 *
 * @example
 * ```ts
 * const pipeline = Pipeline.fromConfig(config, clients);
 * const execution = await pipeline.findExecution({ commitId });
 * await pipeline.waitForStage(execution, 'BuildAndTest', 'Succeeded');
 * await pipeline.approve(execution, { summary: 'tests green' });
 * await pipeline.waitForStage(execution, 'Deploy', 'Succeeded');
 * console.table(pipeline.timeline.of(execution.pipelineExecutionId));
 * ```
 */
export class Pipeline {
  readonly timeline: Timeline;
  readonly context: PipelineContext;
  readonly #options: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.#options = options;
    this.timeline = options.timeline ?? new Timeline();
    this.context = {
      codepipeline: options.codepipeline,
      pipelineName: options.pipelineName,
      codedeploy: options.codedeploy,
      codebuild: options.codebuild,
      logs: options.logs,
      timeline: this.timeline,
      interval: options.interval,
      signal: options.signal,
      watch: options.watch,
    };
  }

  /**
   * Builds a Pipeline with the names, poll intervals and timeouts of `config`: each stage wait gets its own
   * phase's deadline (`timeouts.source`, `.build`, `.approval`, `.deploy`), any other stage `timeouts.stage`.
   */
  static fromConfig(
    config: HarnessConfig,
    clients: {
      codepipeline: CodePipelineClient;
      codedeploy?: CodeDeployClient;
      codebuild?: CodeBuildClient;
      logs?: CloudWatchLogsClient;
    },
    extra: { timeline?: Timeline; signal?: AbortSignal; pipelineName?: string; watch?: Watching } = {},
  ): Pipeline {
    return new Pipeline({
      codepipeline: clients.codepipeline,
      ...(clients.codedeploy ? { codedeploy: clients.codedeploy } : {}),
      ...(clients.codebuild ? { codebuild: clients.codebuild } : {}),
      ...(clients.logs ? { logs: clients.logs } : {}),
      pipelineName: extra.pipelineName ?? config.pipelineName,
      interval: {
        min: config.poll.minIntervalMs,
        max: config.poll.maxIntervalMs,
        factor: config.poll.factor,
      },
      approvalStage: config.stages.approval,
      approvalAction: config.approvalActionName,
      deployStage: config.stages.deploy,
      timeouts: {
        findExecution: config.timeouts.findExecution,
        stage: config.timeouts.stage,
        approval: config.timeouts.approval,
        stages: {
          [config.stages.source]: config.timeouts.source,
          [config.stages.build]: config.timeouts.build,
          [config.stages.approval]: config.timeouts.approval,
          [config.stages.deploy]: config.timeouts.deploy,
        },
      },
      ...extra,
    });
  }

  get name(): string {
    return this.context.pipelineName;
  }

  /** See `findExecution`. */
  findExecution(options: FindExecutionOptions): Promise<ExecutionRef> {
    return findExecution(this.context, this.#findDefaults(options));
  }

  /** See `tryFindExecution`. */
  tryFindExecution(options: FindExecutionOptions): Promise<Attempt<ExecutionRef>> {
    return tryFindExecution(this.context, this.#findDefaults(options));
  }

  /** See `waitForStage`; the deadline is the stage's own (see {@link Pipeline.fromConfig}). */
  waitForStage(
    execution: ExecutionRef,
    stage: string,
    status: StageStatus,
    options: WaitForStageOptions = {},
  ): Promise<StageObservation> {
    return waitForStage(this.context, execution, stage, status, this.#stageDefaults(stage, options));
  }

  /** See `tryWaitForStage`. */
  tryWaitForStage(
    execution: ExecutionRef,
    stage: string,
    status: StageStatus,
    options: WaitForStageOptions = {},
  ): Promise<Attempt<StageObservation>> {
    return tryWaitForStage(this.context, execution, stage, status, this.#stageDefaults(stage, options));
  }

  /** See `approve`. */
  approve(execution: ExecutionRef, options: ApprovalOptions): Promise<ApprovalResult> {
    return approve(this.context, execution, this.#approvalDefaults(options));
  }

  /** See `tryApprove`. */
  tryApprove(execution: ExecutionRef, options: ApprovalOptions): Promise<Attempt<ApprovalResult>> {
    return tryApprove(this.context, execution, this.#approvalDefaults(options));
  }

  /** See `reject`. */
  reject(execution: ExecutionRef, options: ApprovalOptions): Promise<ApprovalResult> {
    return reject(this.context, execution, this.#approvalDefaults(options));
  }

  /** See `tryReject`. */
  tryReject(execution: ExecutionRef, options: ApprovalOptions): Promise<Attempt<ApprovalResult>> {
    return tryReject(this.context, execution, this.#approvalDefaults(options));
  }

  /** The CodeDeploy deployment id behind the Deploy stage's action of our execution. See `deploymentOf`. */
  deploymentOf(execution: ExecutionRef, options: DeploymentOfOptions = {}): Promise<string> {
    const stage = options.stage ?? this.#options.deployStage ?? 'Deploy';
    const timeout = this.#options.timeouts?.stages?.[stage] ?? this.#options.timeouts?.stage;
    return deploymentOf(this.context, execution, {
      stage,
      ...(timeout !== undefined ? { timeout } : {}),
      ...options,
    });
  }

  #findDefaults(options: FindExecutionOptions): FindExecutionOptions {
    const timeout = this.#options.timeouts?.findExecution;
    return { ...(timeout !== undefined ? { timeout } : {}), ...options };
  }

  #stageDefaults(stage: string, options: WaitForStageOptions): WaitForStageOptions {
    const timeout = this.#options.timeouts?.stages?.[stage] ?? this.#options.timeouts?.stage;
    return { ...(timeout !== undefined ? { timeout } : {}), ...options };
  }

  #approvalDefaults(options: ApprovalOptions): ApprovalOptions {
    return {
      stage: this.#options.approvalStage ?? 'Approval',
      action: this.#options.approvalAction ?? 'ManualApproval',
      ...(this.#options.timeouts?.approval !== undefined ? { timeout: this.#options.timeouts.approval } : {}),
      ...options,
    };
  }
}
