/**
 * The ledger of everything a run created, each with its delete action. Teardown runs in reverse order, is
 * idempotent ("already gone" counts as deleted), retries each delete, and collects every failure into one
 * `LeakError` instead of stopping at the first. With a deadline (`timeouts.teardown`), every delete gets an
 * `AbortSignal` that fires at it (pass it on: `client.send(cmd, { abortSignal })`), and a delete still running
 * then is given up whether or not it listens: one hung call never hangs teardown, and the report names it.
 */
import pRetry, { AbortError } from 'p-retry';
import { LeakError, formatDuration } from '../errors.ts';
import { errorLine, isAccessDenied } from '../poll.ts';

export interface LedgerEntry {
  /** e.g. `pipeline`, `deployment-group`, `load-balancer`, `auto-scaling-group`, `process`, `temp-dir`. */
  kind: string;
  /** Name, ARN, pid, path: whatever identifies it for a human and for the guard. */
  id: string;
  /**
   * Deletes it. May throw a not-found error when it is already gone: that counts as deleted. `signal` aborts at
   * the teardown's deadline: hand it to every call (`client.send(cmd, { abortSignal: signal })`, `fetch`, ...).
   */
  delete: (signal: AbortSignal) => Promise<void>;
  /** One line for reports. @default `${kind} ${id}` */
  describe?: string;
}

export interface TeardownOptions {
  /**
   * Retries per resource after the first attempt (a target group stays in use until its load balancer is gone).
   * @default 8
   */
  retries?: number;
  /** First retry delay, doubled each time, jittered. @default 250 (ms) */
  minDelayMs?: number;
  /** Longest delay between retries. @default 5000 (ms) */
  maxDelayMs?: number;
  /** Per-resource time budget for retries. @default 120000 (ms) */
  maxRetryTimeMs?: number;
  /**
   * Deadline for the whole teardown (`timeouts.teardown`): a delete still running when it passes is aborted and
   * reported as timed out; a resource not yet tried is reported as not tried; neither is waited for.
   * @default none
   */
  timeoutMs?: number;
  /** Aborts the teardown from outside (as the deadline does). */
  signal?: AbortSignal;
}

/** The reason a delete is aborted at the teardown deadline. */
class TeardownDeadline extends Error {
  constructor(timeoutMs: number) {
    super(`the teardown deadline of ${formatDuration(timeoutMs)} (timeouts.teardown) passed`);
    this.name = 'TeardownDeadline';
  }
}

/** The reason of an abort in a report: the deadline's own sentence, else the error's line. */
function why(reason: unknown): string {
  return reason instanceof TeardownDeadline ? reason.message : errorLine(reason);
}

/** `work`, or a rejection with the signal's reason as soon as it aborts (when `work` ignores the signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface TeardownReport {
  deleted: string[];
  /** Deleted by someone else (or an earlier teardown) before us: fine. */
  alreadyGone: string[];
  failed: { kind: string; id: string; reason: string }[];
}

/** True for "it is not there": `*NotFound*`, `*DoesNotExist*`, `NoSuch*`, ENOENT/ESRCH, AutoScaling's "not found". */
export function isGone(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string };
  const name = `${e?.name ?? ''} ${e?.code ?? ''}`;
  if (/NotFound|DoesNotExist|NoSuch|ENOENT|ESRCH/.test(name)) return true;
  return /ValidationError/.test(name) && /not found|does not exist/i.test(e?.message ?? '');
}

/**
 * @example
 * ```ts
 * const ledger = new Ledger();
 * ledger.add({
 *   kind: 'pipeline',
 *   id: name,
 *   delete: (abortSignal) => codepipeline.send(new DeletePipelineCommand({ name }), { abortSignal }).then(() => {}),
 * });
 * try { await runScenario(); } finally { await ledger.teardown({ timeoutMs: 10 * 60_000 }); }
 * ```
 */
export class Ledger {
  readonly #entries: LedgerEntry[] = [];

  /** Records a created resource. Adding the same kind+id again replaces the delete action, keeping its place. */
  add(entry: LedgerEntry): void {
    const i = this.#entries.findIndex((e) => e.kind === entry.kind && e.id === entry.id);
    if (i >= 0) this.#entries[i] = entry;
    else this.#entries.push(entry);
  }

  /** Forgets a resource without deleting it (e.g. deleted by the scenario itself). */
  forget(kind: string, id: string): void {
    const i = this.#entries.findIndex((e) => e.kind === kind && e.id === id);
    if (i >= 0) this.#entries.splice(i, 1);
  }

  /** Did this run create it (and not yet tear it down)? */
  has(kind: string, id: string): boolean {
    return this.#entries.some((e) => e.kind === kind && e.id === id);
  }

  /** What is still recorded, in creation order. */
  get entries(): readonly LedgerEntry[] {
    return [...this.#entries];
  }

  /** Result form: deletes everything in reverse order and reports; never throws for a failed delete. */
  async tryTeardown(options: TeardownOptions = {}): Promise<TeardownReport> {
    const report: TeardownReport = { deleted: [], alreadyGone: [], failed: [] };
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    const timer = new AbortController();
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => timer.abort(new TeardownDeadline(options.timeoutMs!)), options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timer.signal, options.signal]) : timer.signal;
    try {
      for (const entry of [...this.#entries].reverse()) {
        const label = entry.describe ?? `${entry.kind} ${entry.id}`;
        const left = deadline - Date.now();
        if (left <= 0 || signal.aborted) {
          report.failed.push({
            kind: entry.kind,
            id: entry.id,
            reason: `not tried: ${signal.aborted ? why(signal.reason) : new TeardownDeadline(options.timeoutMs!).message}`,
          });
          continue;
        }
        let gone = false;
        const started = Date.now();
        try {
          await pRetry(
            async () => {
              try {
                await untilAborted(entry.delete(signal), signal);
              } catch (error) {
                if (signal.aborted) throw error;
                if (isGone(error)) {
                  gone = true;
                  return;
                }
                // Permissions do not heal with retries.
                if (isAccessDenied(error)) throw new AbortError(error as Error);
                throw error;
              }
            },
            {
              retries: options.retries ?? 8,
              minTimeout: options.minDelayMs ?? 250, // ms
              maxTimeout: options.maxDelayMs ?? 5000, // ms
              maxRetryTime: Math.min(options.maxRetryTimeMs ?? 120_000, left), // ms
              randomize: true,
              signal,
            },
          );
          (gone ? report.alreadyGone : report.deleted).push(label);
          this.forget(entry.kind, entry.id);
        } catch (error) {
          const reason = !signal.aborted
            ? errorLine(error)
            : signal.reason instanceof TeardownDeadline
              ? `timed out: no answer after ${formatDuration(Date.now() - started)}, ${why(signal.reason)}`
              : `stopped after ${formatDuration(Date.now() - started)}: ${why(signal.reason)}`;
          report.failed.push({ kind: entry.kind, id: entry.id, reason });
        }
      }
    } finally {
      clearTimeout(timeout);
    }
    return report;
  }

  /**
   * Assert form: like `tryTeardown`, then throws one `LeakError` listing every resource it could not delete.
   * Safe to call again: what was deleted is no longer in the ledger.
   */
  async teardown(options: TeardownOptions = {}): Promise<TeardownReport> {
    return assertTornDown(await this.tryTeardown(options));
  }
}

/**
 * The assert form's verdict on a teardown report: the report when nothing failed.
 *
 * @throws LeakError listing every resource that could not be deleted or undone.
 */
export function assertTornDown(report: TeardownReport): TeardownReport {
  if (!report.failed.length) return report;
  throw new LeakError(
    `teardown could not delete or undo ${report.failed.length} resource(s): ` +
      report.failed.map((f) => `${f.kind} ${f.id} (${f.reason})`).join('; ') +
      '; run `codepipeline-harness sweep` or delete them by hand',
    report.failed,
    { lastState: report },
  );
}
