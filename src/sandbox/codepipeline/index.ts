/**
 * CodePipeline in the sandbox: pipelines that really run. A push to a CodeCommit branch starts the
 * pipelines whose source action watches it; Build actions run buildspecs, approvals wait for
 * PutApprovalResult, Deploy actions hand the artifact to the sandbox CodeDeploy.
 *
 * @example
 * const codepipeline = new CodePipelineService(runtime, { codecommit, codedeploy });
 * codepipeline.handlers.GetPipelineState({ name: 'awscicd-cap-pipeline' }, ctx);
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { CodeBuildService } from '../codebuild/index.ts';
import type { CodeCommitService } from '../codecommit/index.ts';
import type { CodeDeployService } from '../codedeploy/index.ts';
import type { RegionalS3 } from '../s3/index.ts';
import type { Handler, HttpRoute, SandboxRuntime, SandboxService } from '../types.ts';
import { storingArtifacts } from './artifact-store.ts';
import { ExecutionEngine } from './engine.ts';
import { createHandlers } from './handlers.ts';
import type { ActionDeclaration } from './model.ts';
import { ApprovalRunner } from './runners/approval.ts';
import { type BuildRunnerOptions, CodeBuildRunner } from './runners/build.ts';
import { CodeDeployRunner, deployBackend } from './runners/deploy.ts';
import { CodeCommitSourceRunner, type PushEvent, sourceRepositories } from './runners/source.ts';
import type { ActionRunner } from './runners/types.ts';
import { PipelineStore } from './store.ts';

export interface CodePipelineDeps {
  codecommit: CodeCommitService;
  codedeploy: CodeDeployService;
  /** Where CodeBuild actions record their builds and logs (BatchGetBuilds, GetLogEvents). @default one of its own */
  codebuild?: CodeBuildService;
  /** Build runner options (e.g. a short build timeout in tests). */
  build?: BuildRunnerOptions;
  /**
   * The CodeDeploy of another region, for cross-region Deploy actions (an action's `region`; the pipeline
   * declares an artifact store there). @default none: such an action fails saying so
   */
  codedeployIn?: (region: string) => CodeDeployService;
  /**
   * The sandbox's S3: an action's output artifacts are also written, zipped, into the pipeline's artifact bucket
   * when it exists there (artifact-store.ts). @default none: artifacts stay local
   */
  s3?: Pick<RegionalS3, 'hasBucket' | 'putObjectFromFile'>;
}

const ZERO_COMMIT = /^0{40}$/;

export class CodePipelineService implements SandboxService {
  readonly name = 'codepipeline' as const;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly routes: readonly HttpRoute[];
  readonly runtime: SandboxRuntime;
  readonly deps: CodePipelineDeps;
  readonly store = new PipelineStore();
  readonly engine: ExecutionEngine;
  readonly #approvals = new ApprovalRunner();
  readonly #build: CodeBuildRunner;
  readonly #runners: Map<string, ActionRunner>;
  #stopped = false;
  readonly #unsubscribe: (() => void) | undefined;

  constructor(runtime: SandboxRuntime, deps: CodePipelineDeps) {
    this.runtime = runtime;
    this.deps = deps;
    this.#build = new CodeBuildRunner({
      ...deps.build,
      ...(deps.codebuild ? { codebuild: deps.codebuild } : {}),
    });
    const source = new CodeCommitSourceRunner(() => sourceRepositories(this.deps.codecommit));
    const deploy = new CodeDeployRunner(
      (region) =>
        region === undefined || region === runtime.region
          ? deployBackend(this.deps.codedeploy)
          : this.deps.codedeployIn && deployBackend(this.deps.codedeployIn(region)),
      (name) => this.store.get(name)?.declaration.artifactStore?.location ?? 'codepipeline-artifacts',
    );
    const s3 = deps.s3;
    const stored = (runner: ActionRunner): ActionRunner =>
      s3
        ? storingArtifacts(runner, {
            s3,
            bucketFor: (ctx) => {
              const declaration = this.store.get(ctx.pipelineName)?.declaration;
              const region = ctx.action.region ?? runtime.region;
              return declaration?.artifactStores?.[region]?.location ?? declaration?.artifactStore?.location;
            },
            scratch: path.join(runtime.dataDir, 'codepipeline', 'artifact-uploads'),
          })
        : runner;
    const build = stored(this.#build);
    this.#runners = new Map<string, ActionRunner>([
      ['Source/AWS/CodeCommit', stored(source)],
      ['Build/AWS/CodeBuild', build],
      ['Test/AWS/CodeBuild', build],
      ['Approval/AWS/Manual', this.#approvals],
      ['Deploy/AWS/CodeDeploy', deploy],
    ]);
    this.engine = new ExecutionEngine(runtime, this.store, (a: ActionDeclaration) =>
      this.#runners.get(`${a.actionTypeId.category}/${a.actionTypeId.owner}/${a.actionTypeId.provider}`),
    );
    this.handlers = createHandlers({
      runtime,
      store: this.store,
      engine: this.engine,
      approvals: this.#approvals,
    });
    this.routes = [this.#build.route()];
    const off = sourceRepositories(deps.codecommit)?.onPush((push) => this.onPush(push));
    this.#unsubscribe = typeof off === 'function' ? (off as () => void) : undefined;
  }

  /**
   * Starts every pipeline whose CodeCommit source action watches the pushed branch, pinned to the pushed
   * commit. The trigger is recorded as the EventBridge rule CodePipeline creates for a CodeCommit source
   * (`CloudWatchEvent`), or `PollForSourceChanges` when the action polls.
   */
  onPush(push: PushEvent): string[] {
    if (this.#stopped || ZERO_COMMIT.test(push.after)) return [];
    const branch = push.ref.replace(/^refs\/heads\//, '');
    const started: string[] = [];
    for (const pipeline of this.store.pipelines.values()) {
      const pinned = new Map<string, string>();
      let polling = false;
      let actionName = '';
      for (const action of pipeline.declaration.stages[0]?.actions ?? []) {
        const c = action.configuration ?? {};
        if (action.actionTypeId.provider !== 'CodeCommit') continue;
        if (c.RepositoryName !== push.repositoryName || c.BranchName !== branch) continue;
        pinned.set(action.name, push.after);
        polling = (c.PollForSourceChanges ?? 'false').toLowerCase() === 'true';
        actionName = action.name;
      }
      if (pinned.size === 0) continue;
      const { region, accountId } = this.runtime;
      const trigger = polling
        ? { triggerType: 'PollForSourceChanges', triggerDetail: actionName }
        : {
            triggerType: 'CloudWatchEvent',
            triggerDetail:
              `arn:aws:events:${region}:${accountId}:rule/codepipeline-${push.repositoryName}-${branch}-rule`.slice(
                0,
                1024,
              ),
          };
      started.push(this.engine.start(pipeline, { trigger, pinnedRevisions: pinned }));
    }
    return started;
  }

  /** The log file of a build action (`externalExecutionId` of the action). */
  buildLog(buildId: string): string | undefined {
    return this.#build.logFile(buildId);
  }

  async reset(): Promise<void> {
    await this.#endAll();
    this.store.clear();
    this.#build.clear();
    await rm(path.join(this.runtime.dataDir, 'codepipeline'), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    await this.#endAll();
  }

  async #endAll(): Promise<void> {
    await this.engine.stopAll();
    for (const runner of new Set(this.#runners.values())) await runner.stop?.();
  }
}
