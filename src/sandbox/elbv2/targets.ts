/**
 * Registered targets: registration, draining with the (scaled) deregistration delay, the health state machine
 * fed by the checker, the states DescribeTargetHealth reports (aws-semantics 4.4 / 4.5), events and waits.
 */
import { BlockList, isIP } from 'node:net';
import { ServiceError } from '../protocol/errors.ts';
import type { SandboxRuntime } from '../types.ts';
import { requireTargetGroup, validation } from './errors.ts';
import { applyCheck, type CheckResult, HealthChecker, setState, type TargetAddress } from './health.ts';
import { type Elbv2Store, type TargetGroupRecord, type TargetRecord, targetKey } from './store.ts';

/**
 * Resolves an instance id to where it listens locally. The fleet implements it; tests may inject their own
 * to register arbitrary ids.
 *
 * @example
 * const resolver: TargetResolver = { resolve: (id) => (id === 'i-0abc' ? { host: '127.0.0.1', port: 4123 } : undefined) };
 */
export interface TargetResolver {
  resolve(id: string): TargetAddress | undefined;
}

/** One target's health as DescribeTargetHealth reports it. */
export interface TargetHealthView {
  id: string;
  port: number;
  state: 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';
  reason?: string;
  description?: string;
}

/** A target as RegisterTargets / DeregisterTargets take it (model shape `TargetDescription`). */
export interface TargetInput {
  Id: string;
  Port?: number;
}

const NOT_IN_USE = 'Target group is not configured to receive traffic from the load balancer';

/**
 * The only addresses an `ip` target may have: the sandbox reaches processes on this machine only, and an ip
 * target anywhere else would let a caller make the proxy and the health checker call any host (the instance
 * metadata service 169.254.169.254, the LAN) on its behalf.
 */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether an IP address is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x).
 *
 * @example
 * isLoopback('127.0.0.1'); // true
 * isLoopback('169.254.169.254'); // false
 */
export function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Owns every registered target's lifecycle: registration, health (through its {@link HealthChecker}),
 * draining, the state events and the waits. Handlers, the proxy and the internal API all go through it.
 *
 * @example
 * const targets = new TargetManager(runtime, store, fleet);
 * targets.register(tgArn, [{ Id: 'i-0abc' }]);
 * targets.health(tgArn); // [{ id: 'i-0abc', port: 80, state: 'initial', reason: 'Elb.RegistrationInProgress', ... }]
 */
export class TargetManager {
  readonly runtime: SandboxRuntime;
  readonly store: Elbv2Store;
  readonly resolver: TargetResolver;
  readonly checker: HealthChecker;
  readonly #waiters = new Set<() => void>();
  /** Last state reported as an event, per `<tgArn>|<id>:<port>`, so only changes are logged. */
  readonly #reported = new Map<string, string>();
  #halt = new AbortController();

  constructor(runtime: SandboxRuntime, store: Elbv2Store, resolver: TargetResolver) {
    this.runtime = runtime;
    this.store = store;
    this.resolver = resolver;
    this.checker = new HealthChecker({
      clock: runtime.clock,
      store,
      address: (tg, target) => this.#healthCheckAddress(tg, target),
      onResult: (tg, target, result) => this.#onResult(tg, target, result),
    });
  }

  /** Where a target really listens: an `ip` target is its own address; an instance is resolved by the fleet. */
  address(tg: TargetGroupRecord, target: { id: string; port: number }): TargetAddress | undefined {
    // Registration refuses other ip targets; checked again here because this is what the proxy and the
    // health checker connect to.
    if (tg.targetType === 'ip')
      return isLoopback(target.id) ? { host: target.id, port: target.port } : undefined;
    return this.resolver.resolve(target.id);
  }

  /**
   * Where health checks go: an `ip` target on `HealthCheckPort` when it is a number; an instance has exactly one
   * local port, so `traffic-port` and a numeric port both mean that port.
   */
  #healthCheckAddress(tg: TargetGroupRecord, target: TargetRecord): TargetAddress | undefined {
    const address = this.address(tg, target);
    if (address && tg.targetType === 'ip' && tg.healthCheck.port !== 'traffic-port') {
      return { host: address.host, port: Number(tg.healthCheck.port) };
    }
    return address;
  }

  register(targetGroupArn: string, targets: readonly TargetInput[]): void {
    const tg = requireTargetGroup(this.store, targetGroupArn);
    const resolved = targets.map((t) => this.#validateTarget(tg, t));
    for (const { id, port } of resolved) {
      const key = targetKey(id, port);
      const existing = tg.targets.get(key);
      if (existing && existing.state !== 'draining') continue; // already registered: a no-op, as on AWS
      if (existing) {
        existing.drain?.abort();
        existing.drain = undefined;
        existing.passes = 0;
        existing.failures = 0;
        setState(existing, 'initial', 'Elb.RegistrationInProgress', 'Target registration is in progress');
      } else {
        tg.targets.set(key, {
          id,
          port,
          state: 'initial',
          reason: 'Elb.RegistrationInProgress',
          description: 'Target registration is in progress',
          passes: 0,
          failures: 0,
        });
      }
      this.#changed(tg);
      this.checker.checkSoon(tg.arn, key);
    }
  }

  /**
   * Deregistering starts draining for `deregistration_delay.timeout_seconds` (scaled), then the target is
   * gone. A target that is not registered is a success, as the model documents.
   */
  deregister(targetGroupArn: string, targets: readonly TargetInput[]): void {
    const tg = requireTargetGroup(this.store, targetGroupArn);
    for (const t of targets) {
      if (!t.Id) throw validation('Targets: each target needs an Id (an instance id or an IP address)');
    }
    for (const t of targets) {
      const port = t.Port ?? tg.port;
      const key = targetKey(t.Id, port);
      const target = tg.targets.get(key);
      if (!target || target.state === 'draining') continue;
      const delaySeconds = Number(tg.attributes.get('deregistration_delay.timeout_seconds') ?? '300');
      if (!this.store.inUse(tg.arn) || delaySeconds <= 0) {
        tg.targets.delete(key);
        this.#changed(tg);
        continue;
      }
      setState(target, 'draining', 'Target.DeregistrationInProgress', 'Target deregistration is in progress');
      const drain = new AbortController();
      target.drain = drain;
      this.#changed(tg);
      this.runtime.clock
        .sleep(this.runtime.clock.scaled(delaySeconds), AbortSignal.any([drain.signal, this.#halt.signal]))
        .then(
          () => {
            if (tg.targets.get(key) !== target || target.drain !== drain) return;
            tg.targets.delete(key);
            this.#changed(tg);
          },
          () => {},
        );
    }
  }

  /**
   * DescribeTargetHealth: every registered target (draining ones included), or exactly the asked ones
   * (`unused` / `Target.NotRegistered` when not registered). Targets of a target group no listener forwards to
   * are `unused` / `Target.NotInUse`.
   */
  health(targetGroupArn: string, targets?: readonly TargetInput[]): TargetHealthView[] {
    const tg = requireTargetGroup(this.store, targetGroupArn);
    if (!targets || targets.length === 0) return [...tg.targets.values()].map((t) => this.#view(tg, t));
    return targets.map((t) => {
      const port = t.Port ?? tg.port;
      const target = tg.targets.get(targetKey(t.Id, port));
      if (target) return this.#view(tg, target);
      if (tg.targetType === 'instance' && !this.resolver.resolve(t.Id)) {
        throw new ServiceError(
          'InvalidTarget',
          `The target '${t.Id}' is not a valid instance id: no such instance`,
        );
      }
      return {
        id: t.Id,
        port,
        state: 'unused',
        reason: 'Target.NotRegistered',
        description: 'Target is not registered to the target group',
      };
    });
  }

  /** Call after any change to listeners or target-group settings: restarts checks, re-reports states. */
  topologyChanged(): void {
    for (const tg of this.store.targetGroups.values()) {
      if (this.store.inUse(tg.arn)) continue;
      // Out of use: checks stop; when a listener forwards to it again its targets start over from `initial`.
      for (const t of tg.targets.values()) {
        if (t.state === 'draining') continue;
        t.passes = 0;
        t.failures = 0;
        setState(t, 'initial', 'Elb.RegistrationInProgress', 'Target registration is in progress');
      }
    }
    this.checker.sync();
    for (const tg of this.store.targetGroups.values()) {
      this.#changed(tg);
      for (const t of tg.targets.values()) {
        if (t.state === 'initial' && t.passes === 0 && t.failures === 0) {
          this.checker.checkSoon(tg.arn, targetKey(t.id, t.port));
        }
      }
    }
  }

  /** Forgets a deleted target group: its drains end and its targets stop being checked. */
  removed(tg: TargetGroupRecord): void {
    for (const t of tg.targets.values()) t.drain?.abort();
    for (const key of this.#reported.keys()) if (key.startsWith(`${tg.arn}|`)) this.#reported.delete(key);
    this.checker.sync();
    this.#notify();
  }

  /**
   * Resolves when `check` returns a value (re-evaluated after every target change), rejects with the error
   * `describe()` builds when `timeoutMs` passes, or with the abort reason.
   */
  async waitUntil<T>(
    check: () => T | undefined,
    options: { timeoutMs: number; signal?: AbortSignal; describe: () => string },
  ): Promise<T> {
    const deadline = new AbortController();
    const signals = [deadline.signal, this.#halt.signal, ...(options.signal ? [options.signal] : [])];
    const stop = AbortSignal.any(signals);
    this.runtime.clock.sleep(options.timeoutMs, stop).then(
      () => deadline.abort(new Error(options.describe())),
      () => {},
    );
    try {
      for (;;) {
        const value = check();
        if (value !== undefined) return value;
        if (stop.aborted) throw stop.reason;
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.#waiters.delete(wake);
            stop.removeEventListener('abort', wake);
            resolve();
          };
          this.#waiters.add(wake);
          stop.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      if (!deadline.signal.aborted) deadline.abort();
    }
  }

  /** Stops every check, drain timer and wait; the manager keeps working for new resources (reset). */
  halt(): void {
    this.checker.halt();
    this.#halt.abort(new Error('elbv2 stopped'));
    this.#halt = new AbortController();
    this.#reported.clear();
    this.#notify();
  }

  #validateTarget(tg: TargetGroupRecord, t: TargetInput): { id: string; port: number } {
    if (!t.Id) throw validation('Targets: each target needs an Id (an instance id or an IP address)');
    const port = t.Port ?? tg.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw validation(`Target '${t.Id}': Port ${port} must be an integer between 1 and 65535`);
    }
    if (tg.targetType === 'ip') {
      if (isIP(t.Id) === 0) {
        throw new ServiceError(
          'InvalidTarget',
          `The IP address '${t.Id}' is not a valid IPv4 or IPv6 address`,
        );
      }
      if (!isLoopback(t.Id)) {
        throw validation(
          `The IP address '${t.Id}' cannot be registered with target group '${tg.name}': the sandbox only reaches processes on this machine, so ip targets must be loopback addresses (127.0.0.0/8 or ::1); register 127.0.0.1 with the port your process listens on`,
        );
      }
    } else if (!this.resolver.resolve(t.Id)) {
      // AWS: instances must exist and be running to be registered (aws-semantics 4.4).
      throw new ServiceError(
        'InvalidTarget',
        `The following targets are not in a running state and cannot be registered: '${t.Id}' (no running instance with that id in the sandbox fleet)`,
      );
    }
    return { id: t.Id, port };
  }

  #onResult(tg: TargetGroupRecord, target: TargetRecord, result: CheckResult): void {
    if (applyCheck(target, result, tg.healthCheck)) this.#changed(tg);
  }

  #view(tg: TargetGroupRecord, t: TargetRecord): TargetHealthView {
    if (t.state !== 'draining' && tg.targetType === 'instance' && !this.resolver.resolve(t.id)) {
      // The instance stopped or was terminated after registration (aws-semantics 4.5 `Target.InvalidState`).
      return {
        id: t.id,
        port: t.port,
        state: 'unused',
        reason: 'Target.InvalidState',
        description: 'Target is in the terminated state',
      };
    }
    if (t.state !== 'draining' && !this.store.inUse(tg.arn)) {
      return { id: t.id, port: t.port, state: 'unused', reason: 'Target.NotInUse', description: NOT_IN_USE };
    }
    const view: TargetHealthView = { id: t.id, port: t.port, state: t.state };
    if (t.reason) view.reason = t.reason;
    if (t.description) view.description = t.description;
    return view;
  }

  /** Logs an event for every target whose reported state changed, then wakes the waits. */
  #changed(tg: TargetGroupRecord): void {
    const seen = new Set<string>();
    for (const t of tg.targets.values()) {
      const key = `${tg.arn}|${targetKey(t.id, t.port)}`;
      seen.add(key);
      const view = this.#view(tg, t);
      const summary = `${view.state}|${view.reason ?? ''}`;
      if (this.#reported.get(key) === summary) continue;
      this.#reported.set(key, summary);
      this.#event(t.id, view.state, view.reason);
    }
    for (const key of [...this.#reported.keys()]) {
      if (!key.startsWith(`${tg.arn}|`) || seen.has(key)) continue;
      this.#reported.delete(key);
      const id = key.slice(tg.arn.length + 1).replace(/:\d+$/, '');
      this.#event(id, 'unused', 'Target.NotRegistered');
    }
    this.#notify();
  }

  #event(targetId: string, status: string, reason?: string): void {
    this.runtime.events.append({
      service: 'elbv2',
      kind: 'targetHealth',
      targetId,
      status,
      ...(reason ? { detail: reason } : {}),
    });
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
