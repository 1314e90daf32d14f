/**
 * The ALB health checker: per target group in use, every (scaled) `HealthCheckIntervalSeconds` an HTTP GET of
 * `HealthCheckPath` on each target, judged by `Matcher.HttpCode` within the (scaled) `HealthCheckTimeoutSeconds`.
 * States and reason codes follow
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
 * (aws-semantics 4.5).
 */
import type { Clock } from '../clock.ts';
import type { Elbv2Store, HealthCheckSettings, TargetGroupRecord, TargetRecord } from './store.ts';

// Not `import { request } from 'node:http'`: the ESM view of node:http reads every export, and its lazy
// `WebSocket`/`CloseEvent`/`MessageEvent` getters load Node's bundled undici, ~20 ms of a cold start (this module
// loads with the sandbox, as server.ts does).
const { request } = process.getBuiltinModule('node:http');

/** Where a target really listens (127.0.0.1 and the instance's port, for a local instance). */
export interface TargetAddress {
  host: string;
  port: number;
}

export type CheckResult =
  | { ok: true; status: number }
  | {
      ok: false;
      reason: 'Target.ResponseCodeMismatch' | 'Target.Timeout' | 'Target.FailedHealthChecks';
      description: string;
    };

/**
 * Parses an ALB `Matcher.HttpCode` ("200", "200,202", "200-299", "200-299,302") into a predicate.
 * ALBs accept codes 200–499 (aws-semantics 4.3).
 *
 * @example
 * parseHttpCodeMatcher('200-299,302')(302); // true
 * @throws Error naming the bad part when the matcher is malformed or outside 200–499.
 */
export function parseHttpCodeMatcher(spec: string): (status: number) => boolean {
  const ranges: [number, number][] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!m) {
      throw new Error(
        `Matcher HttpCode '${spec}': '${part}' is not a code or a range; use e.g. "200", "200,202" or "200-299"`,
      );
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 200 || hi > 499 || lo > hi) {
      throw new Error(
        `Matcher HttpCode '${spec}': '${part}' must be within 200-499 for an application load balancer`,
      );
    }
    ranges.push([lo, hi]);
  }
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/**
 * One health check: a GET with keep-alive off (each check is its own connection, like the ELB checker).
 * Never rejects: every failure maps to an AWS reason code.
 */
/**
 * @example
 * await checkOnce({ address: { host: '127.0.0.1', port: 4123 }, path: '/health', matcher: '200', timeoutMs: 5000, clock, signal });
 * // { ok: false, reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' }
 */
export async function checkOnce(options: {
  address: TargetAddress;
  path: string;
  matcher: string;
  timeoutMs: number;
  clock: Clock;
  signal: AbortSignal;
}): Promise<CheckResult> {
  const { address, path, timeoutMs, clock } = options;
  const matches = parseHttpCodeMatcher(options.matcher);
  const done = new AbortController();
  const timedOut = new AbortController();
  clock.sleep(timeoutMs, AbortSignal.any([done.signal, options.signal])).then(
    () => timedOut.abort(new Error('health check timed out')),
    () => {},
  );
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: address.host,
          port: address.port,
          path,
          method: 'GET',
          agent: false,
          headers: { Connection: 'close', 'User-Agent': 'ELB-HealthChecker/2.0', Accept: '*/*' },
          signal: AbortSignal.any([timedOut.signal, options.signal]),
        },
        (res) => {
          res.resume();
          res.on('error', () => {});
          resolve(res.statusCode ?? 0);
          res.destroy();
        },
      );
      req.on('error', reject);
      req.end();
    });
    if (matches(status)) return { ok: true, status };
    return {
      ok: false,
      reason: 'Target.ResponseCodeMismatch',
      description: `Health checks failed with these codes: [${status}]`,
    };
  } catch {
    if (timedOut.signal.aborted)
      return { ok: false, reason: 'Target.Timeout', description: 'Request timed out' };
    return { ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
  } finally {
    done.abort();
  }
}

/**
 * Applies one check result to a target. A new target turns healthy after ONE passing check (the ALB guide's
 * rule); after that, `HealthyThresholdCount` consecutive passes bring an unhealthy target back and
 * `UnhealthyThresholdCount` consecutive failures take a target out. Returns true when State, Reason or
 * Description changed.
 *
 * @example
 * applyCheck(target, { ok: true, status: 200 }, tg.healthCheck); // initial → healthy
 */
export function applyCheck(target: TargetRecord, result: CheckResult, hc: HealthCheckSettings): boolean {
  if (target.state === 'draining') return false;
  const before = `${target.state}|${target.reason}|${target.description}`;
  if (result.ok) {
    target.failures = 0;
    target.passes += 1;
    if (
      target.state === 'initial' ||
      (target.state === 'unhealthy' && target.passes >= hc.healthyThreshold)
    ) {
      setState(target, 'healthy');
    }
  } else {
    target.passes = 0;
    target.failures += 1;
    if (target.state === 'unhealthy' || target.failures >= hc.unhealthyThreshold) {
      setState(target, 'unhealthy', result.reason, result.description);
    } else if (target.state === 'initial') {
      setState(target, 'initial', 'Elb.InitialHealthChecking', 'Initial health checks in progress');
    }
  }
  return `${target.state}|${target.reason}|${target.description}` !== before;
}

export function setState(
  target: TargetRecord,
  state: TargetRecord['state'],
  reason?: string,
  description?: string,
) {
  target.state = state;
  target.reason = reason;
  target.description = description;
}

export interface HealthCheckerOptions {
  clock: Clock;
  store: Elbv2Store;
  /** Where the target listens, or undefined when it no longer exists (the check then fails). */
  address(tg: TargetGroupRecord, target: TargetRecord): TargetAddress | undefined;
  /** Called with each finished check of a target still registered. */
  onResult(tg: TargetGroupRecord, target: TargetRecord, result: CheckResult): void;
}

/**
 * Runs one interval loop per target group in use; {@link HealthChecker.sync} reconciles the loops with the store
 * after any change (listener, target group settings, registration).
 *
 * @example
 * const checker = new HealthChecker({ clock, store, address: (tg, t) => fleet.resolve(t.id), onResult });
 * checker.sync(); // after a listener starts forwarding to a target group
 * checker.halt(); // on stop
 */
export class HealthChecker {
  readonly #options: HealthCheckerOptions;
  readonly #loops = new Map<string, { intervalMs: number; cancel: () => void }>();
  readonly #inflight = new Set<string>();
  #controller = new AbortController();

  constructor(options: HealthCheckerOptions) {
    this.#options = options;
  }

  /** Starts, restarts (interval changed) or ends loops so exactly the target groups in use are checked. */
  sync(): void {
    const { store, clock } = this.#options;
    for (const [arn, loop] of this.#loops) {
      const tg = store.targetGroups.get(arn);
      if (!tg || !store.inUse(arn) || !tg.healthCheck.enabled) {
        loop.cancel();
        this.#loops.delete(arn);
      }
    }
    for (const tg of store.targetGroups.values()) {
      if (!store.inUse(tg.arn) || !tg.healthCheck.enabled) continue;
      const intervalMs = clock.scaled(tg.healthCheck.intervalSeconds);
      const existing = this.#loops.get(tg.arn);
      if (existing?.intervalMs === intervalMs) continue;
      existing?.cancel();
      const loop = new AbortController();
      this.#loops.set(tg.arn, { intervalMs, cancel: () => loop.abort() });
      void this.#run(tg.arn, intervalMs, AbortSignal.any([loop.signal, this.#controller.signal]));
    }
  }

  /** Checks one target now (a new registration should not wait a whole interval for its first check). */
  checkSoon(targetGroupArn: string, key: string): void {
    const tg = this.#options.store.targetGroups.get(targetGroupArn);
    const target = tg?.targets.get(key);
    if (tg && target && this.#loops.has(tg.arn)) void this.#check(tg, target);
  }

  /** One sleep per interval (each removes its abort listener when it ends, unlike a long-lived interval). */
  async #run(arn: string, intervalMs: number, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        await this.#options.clock.sleep(intervalMs, signal);
        this.#tick(arn);
      }
    } catch {
      // Cancelled: the target group left use, its interval changed, or the checker halted.
    }
  }

  #tick(arn: string): void {
    const tg = this.#options.store.targetGroups.get(arn);
    if (!tg) return;
    for (const target of tg.targets.values()) void this.#check(tg, target);
  }

  async #check(tg: TargetGroupRecord, target: TargetRecord): Promise<void> {
    const flight = `${tg.arn}|${target.id}:${target.port}`;
    if (target.state === 'draining' || this.#inflight.has(flight)) return;
    this.#inflight.add(flight);
    const signal = this.#controller.signal;
    try {
      const address = this.#options.address(tg, target);
      const hc = tg.healthCheck;
      const result: CheckResult = address
        ? await checkOnce({
            address,
            path: hc.path,
            matcher: hc.matcher,
            timeoutMs: this.#options.clock.scaled(hc.timeoutSeconds),
            clock: this.#options.clock,
            signal: AbortSignal.any([signal, this.#options.clock.signal]),
          })
        : { ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
      // The target may have been deregistered, or the checker halted, while the request was out.
      if (signal.aborted || tg.targets.get(`${target.id}:${target.port}`) !== target) return;
      if (this.#options.store.targetGroups.get(tg.arn) !== tg || !this.#loops.has(tg.arn)) return;
      this.#options.onResult(tg, target, result);
    } finally {
      this.#inflight.delete(flight);
    }
  }

  /** Ends every loop and aborts checks in flight; the checker can be synced again afterwards (reset). */
  halt(): void {
    for (const loop of this.#loops.values()) loop.cancel();
    this.#loops.clear();
    this.#controller.abort(new Error('health checker halted'));
    this.#controller = new AbortController();
  }
}
