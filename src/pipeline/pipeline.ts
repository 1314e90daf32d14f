/**
 * `Pipeline`: one pipeline, one client, one timeline; the release-flow methods of DESIGN.md 5.2 with the
 * stage/action names and timeouts from config.
 */
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { HarnessConfig } from '../config.ts';
import { type DeploymentOfOptions, deploymentOf } from '../deploy/deployment.ts';
import type { IntervalOptions } from '../poll.ts';
import { type ApprovalOptions, type ApprovalResult, approve, reject } from './approval.ts';
import { type FindExecutionOptions, findExecution } from './execution.ts';
import type { ExecutionRef, PipelineContext, StageObservation } from './observe.ts';
import { type StageStatus, type WaitForStageOptions, waitForStage } from './stages.ts';
import { Timeline } from './timeline.ts';

export interface PipelineOptions {
  codepipeline: CodePipelineClient;
  pipelineName: string;
  /** Lets stage timeouts say where the deployment behind a Deploy action is. */
  codedeploy?: CodeDeployClient;
  /** @default a new Timeline */
  timeline?: Timeline;
  interval?: IntervalOptions;
  signal?: AbortSignal;
  /** Default approval stage/action. @default 'Approval' / 'ManualApproval' */
  approvalStage?: string;
  approvalAction?: string;
  /** Default deadlines in ms. */
  timeouts?: { findExecution?: number; stage?: number; approval?: number };
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
      timeline: this.timeline,
      interval: options.interval,
      signal: options.signal,
    };
  }

  /** Builds a Pipeline with the names, poll intervals and timeouts of `config`. */
  static fromConfig(
    config: HarnessConfig,
    clients: { codepipeline: CodePipelineClient; codedeploy?: CodeDeployClient },
    extra: { timeline?: Timeline; signal?: AbortSignal } = {},
  ): Pipeline {
    return new Pipeline({
      codepipeline: clients.codepipeline,
      ...(clients.codedeploy ? { codedeploy: clients.codedeploy } : {}),
      pipelineName: config.pipelineName,
      interval: {
        min: config.poll.minIntervalMs,
        max: config.poll.maxIntervalMs,
        factor: config.poll.factor,
      },
      approvalStage: config.stages.approval,
      approvalAction: config.approvalActionName,
      timeouts: {
        findExecution: config.timeouts.findExecution,
        stage: config.timeouts.stage,
        approval: config.timeouts.approval,
      },
      ...extra,
    });
  }

  get name(): string {
    return this.context.pipelineName;
  }

  /** See `findExecution`. */
  findExecution(options: FindExecutionOptions): Promise<ExecutionRef> {
    return findExecution(this.context, { timeout: this.#options.timeouts?.findExecution, ...options });
  }

  /** See `waitForStage`. */
  waitForStage(
    execution: ExecutionRef,
    stage: string,
    status: StageStatus,
    options: WaitForStageOptions = {},
  ): Promise<StageObservation> {
    return waitForStage(this.context, execution, stage, status, {
      timeout: this.#options.timeouts?.stage,
      ...options,
    });
  }

  /** See `approve`. */
  approve(execution: ExecutionRef, options: ApprovalOptions): Promise<ApprovalResult> {
    return approve(this.context, execution, this.#approvalDefaults(options));
  }

  /** See `reject`. */
  reject(execution: ExecutionRef, options: ApprovalOptions): Promise<ApprovalResult> {
    return reject(this.context, execution, this.#approvalDefaults(options));
  }

  /** The CodeDeploy deployment id behind `stage`'s Deploy action of our execution. See `deploymentOf`. */
  deploymentOf(execution: ExecutionRef, stage: string, options: DeploymentOfOptions = {}): Promise<string> {
    return deploymentOf(this.context, execution, stage, options);
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
