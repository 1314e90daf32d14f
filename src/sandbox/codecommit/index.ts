/** CodeCommit subset (stub: replaced by the codecommit work). */
import type { SandboxRuntime, SandboxService } from '../types.ts';

export class CodeCommitService implements SandboxService {
  readonly name = 'codecommit' as const;
  readonly handlers = {};
  readonly runtime: SandboxRuntime;
  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
  }
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
