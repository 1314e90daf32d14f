/**
 * What every bench section gets and returns, so `bench/run.ts` can print, time-box and record them alike.
 *
 * @example
 * export const coldStart: Section = { name: 'cold-start', title: 'Sandbox cold start', budgetMs: 120_000, run };
 */

export interface SectionContext {
  /** Fewer runs and shorter load windows (`--quick`). */
  readonly quick: boolean;
  /** Aborted when the section's time budget is spent; long loops check it. */
  readonly signal: AbortSignal;
  /** Progress line on stderr (tables go to stdout). */
  log(message: string): void;
}

export interface ResultTable {
  title: string;
  header: string[];
  rows: string[][];
}

export interface SectionResult {
  tables: ResultTable[];
  /** Machine-readable figures for `bench/results.json`. */
  data: Record<string, unknown>;
  /** Definitions, caveats and causes of poor figures, printed under the tables. */
  notes: string[];
}

export interface Section {
  /** `--only <name>` selects it. */
  readonly name: string;
  readonly title: string;
  /** Wall-clock budget; the section is aborted (and reported as such) past it. */
  readonly budgetMs: number;
  run(context: SectionContext): Promise<SectionResult>;
}

/** Rejects with a clear error when `signal` is aborted (the section ran out of its budget). */
export function throwIfOver(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new Error(`${what}: section time budget spent`);
}
