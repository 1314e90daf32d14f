/**
 * CodeBuild in the sandbox: the builds CodePipeline's CodeBuild actions run, readable as on AWS through
 * BatchGetBuilds, with their output in CloudWatch Logs (`/aws/codebuild/<project>`, stream `<uuid>`) for
 * GetLogEvents. The build runner (`codepipeline/runners/build.ts`) does the work and records it through
 * {@link CodeBuildService.startBuild}. There are no projects: any project name a pipeline names builds.
 *
 * @example
 * const codebuild = new CodeBuildService(runtime, { logs });
 * const build = codebuild.startBuild({ projectName: 'web', initiator: 'codepipeline/web-pipeline' });
 * build.id; // 'web:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70'
 */
import { randomUUID } from 'node:crypto';
import type { LogsService } from '../logs/index.ts';
import type { SandboxRuntime, SandboxService } from '../types.ts';
import { BuildRun } from './build-run.ts';
import { createHandlers } from './handlers.ts';
import { BuildStore } from './store.ts';

export { BuildRun } from './build-run.ts';
export type { BuildRecord, BuildStatus, PhaseContext, PhaseType } from './store.ts';

export interface CodeBuildDeps {
  logs: LogsService;
}

export interface StartBuildOptions {
  projectName: string;
  /** `codepipeline/<pipelineName>` for a pipeline's build (§4.5). */
  initiator: string;
  sourceVersion?: string;
  /** The commit id, when the pipeline knows it. */
  resolvedSourceVersion?: string;
  /** @default 60 */
  timeoutInMinutes?: number;
}

export class CodeBuildService implements SandboxService {
  readonly name = 'codebuild' as const;
  readonly runtime: SandboxRuntime;
  readonly store = new BuildStore();
  readonly handlers: ReturnType<typeof createHandlers>;
  readonly #logs: LogsService;

  constructor(runtime: SandboxRuntime, deps: CodeBuildDeps) {
    this.runtime = runtime;
    this.#logs = deps.logs;
    this.handlers = createHandlers({ store: this.store });
  }

  /**
   * Records a new build: SUBMITTED and QUEUED done, PROVISIONING in progress, the log group and stream created
   * (CodeBuild creates them when the container starts, §5.4).
   */
  startBuild(options: StartBuildOptions): BuildRun {
    const { region, accountId } = this.runtime;
    const uuid = randomUUID();
    const id = `${options.projectName}:${uuid}`;
    const now = () => this.runtime.clock.now();
    const start = now();
    const record = {
      id,
      arn: `arn:aws:codebuild:${region}:${accountId}:build/${id}`,
      buildNumber: this.store.nextNumber(options.projectName),
      projectName: options.projectName,
      initiator: options.initiator,
      buildStatus: 'IN_PROGRESS' as const,
      startTime: start,
      phases: [],
      ...(options.sourceVersion ? { sourceVersion: options.sourceVersion } : {}),
      ...(options.resolvedSourceVersion ? { resolvedSourceVersion: options.resolvedSourceVersion } : {}),
      timeoutInMinutes: options.timeoutInMinutes ?? 60,
      logs: { groupName: `/aws/codebuild/${options.projectName}`, streamName: uuid },
    };
    this.store.builds.set(id, record);
    const run = new BuildRun(record, this.#logs, now);
    run.enterPhase('SUBMITTED');
    run.enterPhase('QUEUED');
    run.enterPhase('PROVISIONING');
    this.#logs.createStream(record.logs.groupName, record.logs.streamName);
    return run;
  }

  async reset(): Promise<void> {
    this.store.clear();
  }

  async stop(): Promise<void> {}
}
