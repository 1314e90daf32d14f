/**
 * Timeline: every pipeline transition the harness observed (execution, stage, action), with times.
 * The evidence behind the stage timeline of a report.
 */

/** One observed transition. `action` is absent for stage entries; `stage` is absent for the execution itself. */
export interface TimelineEntry {
  /** When the harness saw it. */
  at: Date;
  pipelineExecutionId: string;
  stage?: string;
  action?: string;
  status: string;
  /** e.g. the deployment id of a CodeDeploy action, the commit of a source action. */
  externalExecutionId?: string;
  /** `errorDetails` / summary text, never an approval token. */
  detail?: string;
}

/**
 * Records transitions, dropping repeats of the same status for the same execution/stage/action.
 *
 * @example
 * ```ts
 * const timeline = new Timeline();
 * timeline.onChange((e) => console.log(`${e.at.toISOString()} ${e.stage ?? 'execution'}/${e.action ?? ''} ${e.status}`));
 * const pipeline = new Pipeline({ codepipeline, pipelineName, timeline });
 * ```
 */
export class Timeline {
  readonly #entries: TimelineEntry[] = [];
  readonly #last = new Map<string, string>();
  readonly #listeners: Array<(entry: TimelineEntry) => void> = [];

  /** Every entry, oldest first (a copy). */
  get entries(): TimelineEntry[] {
    return [...this.#entries];
  }

  /** Subscribes to new entries; returns the unsubscribe function. */
  onChange(listener: (entry: TimelineEntry) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Records `entry` when its status differs from the last one seen for the same key; returns whether it did. */
  record(entry: Omit<TimelineEntry, 'at'> & { at?: Date }): boolean {
    const key = `${entry.pipelineExecutionId}|${entry.stage ?? ''}|${entry.action ?? ''}`;
    const signature = `${entry.status}|${entry.externalExecutionId ?? ''}`;
    if (this.#last.get(key) === signature) return false;
    this.#last.set(key, signature);
    const full: TimelineEntry = { ...entry, at: entry.at ?? new Date() };
    this.#entries.push(full);
    for (const listener of this.#listeners) listener(full);
    return true;
  }

  /** Entries of one execution, oldest first. */
  of(pipelineExecutionId: string): TimelineEntry[] {
    return this.#entries.filter((e) => e.pipelineExecutionId === pipelineExecutionId);
  }
}
