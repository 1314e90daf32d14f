/**
 * A continuous availability probe through the load balancer while a deployment shifts traffic: requests,
 * failures by kind, versions over time, the longest outage and the window in which two versions were served.
 */
import type { Dispatcher } from 'undici';
import { poll } from '../poll.ts';
import { localhostAgent } from './agent.ts';
import { type Sample, type SampleKind, sample } from './sample.ts';

export interface ProbeOptions {
  /** Pause between requests. @default 200 (ms) */
  intervalMs?: number;
  /** Per request. @default 2000 (ms) */
  requestTimeoutMs?: number;
  /** The probe stops itself after this long if nobody calls `stop()`. @default 3600000 (ms, 1h) */
  maxDurationMs?: number;
  /** Path appended to the URL. @default '/version' */
  path?: string;
  /** @default a `localhostAgent()` owned (and closed) by the probe */
  dispatcher?: Dispatcher;
}

/** A run of responses with one version. */
export interface VersionSpan {
  version: string;
  from: Date;
  to: Date;
  count: number;
}

export interface Outage {
  from: Date;
  to: Date;
  ms: number;
  requests: number;
}

export interface ProbeReport {
  url: string;
  startedAt: Date;
  stoppedAt: Date;
  requests: number;
  ok: number;
  /**
   * Failed requests by kind (`redirect`, `status5xx`, `status4xx`, `connect`, `timeout`, `other`) and in total:
   * a redirect answers with no version, so it is not a good answer.
   */
  failures: Record<Exclude<SampleKind, 'ok'>, number> & { total: number };
  /** Versions served over time, as consecutive spans. */
  versions: VersionSpan[];
  /** Runs of failed requests; each lasts from the first failure to the next success (or the stop). */
  outages: Outage[];
  /** Longest outage in ms (0 when none). */
  longestOutageMs: number;
  /** How long an older version was still served after the final version first appeared, in ms. */
  mixedVersionWindowMs: number;
  /** Every response, oldest first. */
  samples: Sample[];
}

export interface TrafficProbe {
  /** Responses so far (live view). */
  readonly samples: readonly Sample[];
  /** Stops probing (after the request in flight) and returns the report. Idempotent. */
  stop(): Promise<ProbeReport>;
}

/** Builds the report from samples: the pure part, exported for reports and tests. */
export function summarize(
  url: string,
  samples: readonly Sample[],
  startedAt: Date,
  stoppedAt: Date,
): ProbeReport {
  const failures = { redirect: 0, status5xx: 0, status4xx: 0, connect: 0, timeout: 0, other: 0, total: 0 };
  const versions: VersionSpan[] = [];
  const outages: Outage[] = [];
  let open: { from: Date; requests: number } | undefined;
  for (const s of samples) {
    if (s.kind === 'ok') {
      if (open) {
        outages.push({
          from: open.from,
          to: s.at,
          ms: s.at.getTime() - open.from.getTime(),
          requests: open.requests,
        });
        open = undefined;
      }
      const version = s.version ?? 'unknown';
      const span = versions.at(-1);
      if (span && span.version === version) {
        span.to = s.at;
        span.count += 1;
      } else versions.push({ version, from: s.at, to: s.at, count: 1 });
    } else {
      failures[s.kind] += 1;
      failures.total += 1;
      if (open) open.requests += 1;
      else open = { from: s.at, requests: 1 };
    }
  }
  if (open)
    outages.push({
      from: open.from,
      to: stoppedAt,
      ms: stoppedAt.getTime() - open.from.getTime(),
      requests: open.requests,
    });
  const final = versions.at(-1)?.version;
  const firstFinal = samples.find((s) => s.kind === 'ok' && (s.version ?? 'unknown') === final)?.at.getTime();
  let lastOther: number | undefined;
  for (const s of samples) {
    if (
      s.kind === 'ok' &&
      (s.version ?? 'unknown') !== final &&
      firstFinal !== undefined &&
      s.at.getTime() >= firstFinal
    ) {
      lastOther = s.at.getTime();
    }
  }
  return {
    url,
    startedAt,
    stoppedAt,
    requests: samples.length,
    ok: samples.length - failures.total,
    failures,
    versions,
    outages,
    longestOutageMs: Math.max(0, ...outages.map((o) => o.ms)),
    mixedVersionWindowMs: lastOther !== undefined && firstFinal !== undefined ? lastOther - firstFinal : 0,
    samples: [...samples],
  };
}

/**
 * Starts probing `url` now; call `stop()` for the report.
 *
 * @example
 * ```ts
 * const probe = probeTraffic(url, { intervalMs: 100 });
 * await pipeline.waitForStage(execution, 'Deploy', 'Succeeded');
 * const report = await probe.stop();
 * expect(report.failures.total).toBe(0);
 * ```
 */
export function probeTraffic(url: string, options: ProbeOptions = {}): TrafficProbe {
  const intervalMs = options.intervalMs ?? 200; // ms
  const target = new URL(options.path ?? '/version', url).toString();
  const dispatcher = options.dispatcher ?? localhostAgent();
  const samples: Sample[] = [];
  const startedAt = new Date();
  const controller = new AbortController();
  let stoppedAt: Date | undefined;
  // Built on poll like every wait: it never finishes on its own before maxDurationMs.
  const running = poll(
    async () => {
      const s = await sample(target, { dispatcher, timeoutMs: options.requestTimeoutMs ?? 2000 });
      if (!controller.signal.aborted) samples.push(s);
      return s;
    },
    {
      timeout: options.maxDurationMs ?? 60 * 60_000, // ms
      signal: controller.signal,
      interval: { min: intervalMs, max: intervalMs },
      what: `traffic probe of ${url}`,
      describe: (s) => `${s.kind} ${s.version ?? ''}`,
      isDone: () => false,
    },
  ).catch(() => {
    stoppedAt ??= new Date();
  });
  let report: Promise<ProbeReport> | undefined;
  return {
    samples,
    stop() {
      report ??= (async () => {
        stoppedAt ??= new Date();
        controller.abort(new Error('traffic probe stopped'));
        await running;
        if (!options.dispatcher) await dispatcher.close();
        return summarize(url, samples, startedAt, stoppedAt);
      })();
      return report;
    },
  };
}
