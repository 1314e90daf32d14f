/** CodeDeploy (stub: replaced by the codedeploy work). */
import type { SandboxRuntime, SandboxService } from '../types.ts';
import type { Fleet } from '../fleet/index.ts';
import type { AutoScalingService } from '../autoscaling/index.ts';
import type { Elbv2Service } from '../elbv2/index.ts';

export interface CodeDeployDeps { fleet: Fleet; autoscaling: AutoScalingService; elbv2: Elbv2Service }

export class CodeDeployService implements SandboxService {
  readonly name = 'codedeploy' as const;
  readonly handlers = {};
  readonly runtime: SandboxRuntime;
  readonly deps: CodeDeployDeps;
  constructor(runtime: SandboxRuntime, deps: CodeDeployDeps) {
    this.runtime = runtime;
    this.deps = deps;
  }
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
