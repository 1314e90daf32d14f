/** CodePipeline (stub: replaced by the codepipeline work). */
import type { SandboxRuntime, SandboxService } from '../types.ts';
import type { CodeCommitService } from '../codecommit/index.ts';
import type { CodeDeployService } from '../codedeploy/index.ts';

export interface CodePipelineDeps { codecommit: CodeCommitService; codedeploy: CodeDeployService }

export class CodePipelineService implements SandboxService {
  readonly name = 'codepipeline' as const;
  readonly handlers = {};
  readonly runtime: SandboxRuntime;
  readonly deps: CodePipelineDeps;
  constructor(runtime: SandboxRuntime, deps: CodePipelineDeps) {
    this.runtime = runtime;
    this.deps = deps;
  }
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
