/**
 * Append-only log of every state change in the sandbox, served at `/_sandbox/events` so benchmarks can
 * measure how fast a client notices a change.
 */
export interface SandboxEvent {
  /** Monotonic sequence number, from 1. */
  seq: number;
  /** Epoch milliseconds. */
  time: number;
  service: 'codepipeline' | 'codedeploy' | 'elbv2' | 'autoscaling' | 'codecommit';
  /** What changed: `pipelineExecution`, `stage`, `action`, `deployment`, `target`, `lifecycleEvent`, `targetHealth`, `instance`, `push`, ... */
  kind: string;
  status: string;
  pipeline?: string;
  executionId?: string;
  stage?: string;
  action?: string;
  deploymentId?: string;
  targetId?: string;
  detail?: string;
}

export class EventLog {
  readonly #events: SandboxEvent[] = [];
  readonly #listeners = new Set<(event: SandboxEvent) => void>();
  #seq = 0;

  append(event: Omit<SandboxEvent, 'seq' | 'time'> & { time?: number }): SandboxEvent {
    const full: SandboxEvent = { ...event, seq: ++this.#seq, time: event.time ?? Date.now() };
    this.#events.push(full);
    for (const listener of [...this.#listeners]) {
      try {
        listener(full);
      } catch {
        // a listener's bug (the EventBridge publisher) must not break the service whose state changed
      }
    }
    return full;
  }

  /**
   * Calls `listener` with every event appended from now on, synchronously, right after the state change it
   * records (so the listener reads the resource as it is at that moment). Returns the unsubscribe function.
   */
  subscribe(listener: (event: SandboxEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Events with `seq` greater than `after`. */
  since(after = 0): SandboxEvent[] {
    return this.#events.filter((e) => e.seq > after);
  }

  clear(): void {
    this.#events.length = 0;
  }
}
