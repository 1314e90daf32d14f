/** Local instances: a directory, a port on 127.0.0.1 and the process groups each one started. (stub: replaced by the fleet work) */
import type { SandboxRuntime } from '../types.ts';

export interface Instance {
  readonly instanceId: string;
  /** The instance's root directory: appspec absolute destinations are mapped under it. */
  readonly root: string;
  /** The port the app on this instance listens on (127.0.0.1). */
  readonly port: number;
  state: 'pending' | 'running' | 'terminated';
  readonly launchedAt: Date;
}

export class Fleet {
  readonly runtime: SandboxRuntime;
  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
  }
  async stop(): Promise<void> {}
}
