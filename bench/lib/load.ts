/**
 * A closed-loop load generator: `concurrency` clients each send the next request as soon as the previous one
 * answered, for a fixed window after a short warm-up; latencies of every answered request are kept.
 *
 * @example
 * const r = await closedLoop(() => wire.json('codedeploy', 'CodeDeploy_20141006.GetDeployment', { deploymentId }),
 *   { concurrency: 16, durationMs: 5000 });
 * r.requestsPerSecond; r.p95Ms;
 */
import { max, percentile } from './stats.ts';
import type { WireResponse } from './wire.ts';

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Requests before this are not measured (connection set-up, JIT). @default 500 */
  warmupMs?: number;
  signal?: AbortSignal;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** First error answer or exception seen, for the note. */
  firstError?: string;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function closedLoop(
  call: () => Promise<WireResponse>,
  options: LoadOptions,
): Promise<LoadResult> {
  const warmupMs = options.warmupMs ?? 500;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + options.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const client = async () => {
    while (!options.signal?.aborted) {
      const t0 = performance.now();
      if (t0 >= end) return;
      let ok = false;
      try {
        const r = await call();
        ok = r.status === 200;
        if (!ok) firstError ??= `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
      } catch (error) {
        firstError ??= (error as Error).message;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) {
        if (ok) latencies.push(t1 - t0);
        else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = options.durationMs / 1000;
  return {
    requests: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: max(latencies),
  };
}
