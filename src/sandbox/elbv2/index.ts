/** ELBv2 (stub: replaced by the elbv2 work). */
import type { SandboxRuntime, SandboxService } from '../types.ts';
import type { Fleet } from '../fleet/index.ts';

export interface Elbv2Deps { fleet: Fleet }

export class Elbv2Service implements SandboxService {
  readonly name = 'elbv2' as const;
  readonly handlers = {};
  readonly runtime: SandboxRuntime;
  readonly deps: Elbv2Deps;
  constructor(runtime: SandboxRuntime, deps: Elbv2Deps) {
    this.runtime = runtime;
    this.deps = deps;
  }
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
