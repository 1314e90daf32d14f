/** AutoScaling subset (stub: replaced by the autoscaling work). */
import type { SandboxRuntime, SandboxService } from '../types.ts';
import type { Fleet } from '../fleet/index.ts';

export interface AutoScalingDeps { fleet: Fleet }

export class AutoScalingService implements SandboxService {
  readonly name = 'autoscaling' as const;
  readonly handlers = {};
  readonly runtime: SandboxRuntime;
  readonly deps: AutoScalingDeps;
  constructor(runtime: SandboxRuntime, deps: AutoScalingDeps) {
    this.runtime = runtime;
    this.deps = deps;
  }
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
