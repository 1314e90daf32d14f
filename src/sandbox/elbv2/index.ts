/**
 * ELBv2 (application load balancers) in the sandbox: the Query API (`handlers.ts` over `store.ts`), the health
 * checker (`health.ts`, driven by `targets.ts`) and the HTTP data plane (`proxy.ts`) on the edge port.
 *
 * Other services call the internal API directly (CodeDeploy registers and drains targets with it).
 */
import type { Fleet } from '../fleet/index.ts';
import type { HttpRoute, SandboxRuntime, SandboxService } from '../types.ts';
import { requireTargetGroup } from './errors.ts';
import { createHandlers } from './handlers.ts';
import { LoadBalancerProxy } from './proxy.ts';
import { Elbv2Store, type TargetGroupRecord } from './store.ts';
import { type TargetHealthView, type TargetInput, TargetManager, type TargetResolver } from './targets.ts';

export type { TargetHealthView, TargetInput, TargetResolver } from './targets.ts';
export { LISTENER_PORT_HEADER } from './proxy.ts';

export interface Elbv2Deps {
  fleet: Fleet;
  /** Overrides how instance ids resolve to local addresses (tests register arbitrary ids). Default: the fleet. */
  resolver?: TargetResolver;
  /**
   * ALB idle timeout of the data plane in real ms (504 after it).
   * @default max(clock.scaled(60), 5000)
   */
  idleTimeoutMs?: number;
}

/** What {@link Elbv2Service.findTargetGroupByName} returns: the target group as DescribeTargetGroups shows it, plus its delay. */
export interface TargetGroupSummary {
  TargetGroupArn: string;
  /** Same as `TargetGroupArn` (the AutoScaling subset's `TargetRegistry` reads `arn`). */
  arn: string;
  TargetGroupName: string;
  Protocol: string;
  Port: number;
  TargetType: string;
  LoadBalancerArns: string[];
  HealthCheckIntervalSeconds: number;
  HealthyThresholdCount: number;
  /** `deregistration_delay.timeout_seconds`, in AWS (unscaled) seconds. */
  DeregistrationDelaySeconds: number;
}

/** Options of the waits: a deadline always applies. */
export interface WaitOptions {
  /** Real milliseconds. Defaults: healthy — the `TargetInService` waiter's 40 × 15 s, scaled; drained — the delay + 60 s, scaled. */
  timeoutMs?: number;
}

/** The fleet as a resolver: a running instance listens on 127.0.0.1:<its port>. */
function fleetResolver(fleet: Fleet): TargetResolver {
  // Typed structurally so this file compiles against the fleet stub as well as the full fleet.
  const f = fleet as unknown as {
    resolve?: (id: string) => { host: string; port: number } | undefined;
    get?: (id: string) => { port: number; state: string } | undefined;
  };
  return {
    resolve(id) {
      if (typeof f.resolve === 'function') return f.resolve.call(fleet, id);
      const instance = typeof f.get === 'function' ? f.get.call(fleet, id) : undefined;
      return instance?.state === 'running' ? { host: '127.0.0.1', port: instance.port } : undefined;
    },
  };
}

/**
 * @example
 * const elbv2 = new Elbv2Service(runtime, { fleet });
 * const tg = elbv2.findTargetGroupByName('web-blue');
 * elbv2.registerTargets(tg!.TargetGroupArn, [{ Id: 'i-0abc' }]);
 * await elbv2.waitForHealthy(tg!.TargetGroupArn, ['i-0abc'], signal);
 */
export class Elbv2Service implements SandboxService {
  readonly name = 'elbv2' as const;
  readonly runtime: SandboxRuntime;
  readonly deps: Elbv2Deps;
  readonly store = new Elbv2Store();
  readonly targets: TargetManager;
  readonly proxy: LoadBalancerProxy;
  readonly handlers: ReturnType<typeof createHandlers>;
  readonly routes: readonly HttpRoute[];

  constructor(runtime: SandboxRuntime, deps: Elbv2Deps) {
    this.runtime = runtime;
    this.deps = deps;
    this.targets = new TargetManager(runtime, this.store, deps.resolver ?? fleetResolver(deps.fleet));
    this.handlers = createHandlers(this.store, this.targets);
    this.proxy = new LoadBalancerProxy({
      runtime,
      store: this.store,
      targets: this.targets,
      ...(deps.idleTimeoutMs !== undefined ? { idleTimeoutMs: deps.idleTimeoutMs } : {}),
    });
    this.routes = [this.proxy];
  }

  /** RegisterTargets. Throws `ServiceError` (`TargetGroupNotFound`, `InvalidTarget`) like the API. */
  registerTargets(targetGroupArn: string, targets: readonly TargetInput[]): void {
    this.targets.register(targetGroupArn, targets);
  }

  /** DeregisterTargets: the targets drain for the scaled deregistration delay, then are gone. */
  deregisterTargets(targetGroupArn: string, targets: readonly TargetInput[]): void {
    this.targets.deregister(targetGroupArn, targets);
  }

  /** DescribeTargetHealth for every registered target (draining ones included). */
  targetHealth(targetGroupArn: string): TargetHealthView[] {
    return this.targets.health(targetGroupArn);
  }

  findTargetGroupByName(name: string): TargetGroupSummary | undefined {
    const tg = this.store.targetGroupByName(name);
    return tg ? this.#summary(tg) : undefined;
  }

  /**
   * Resolves when every id (any port) is registered and `healthy`; rejects after the deadline with an error
   * naming each target's last state, or with `signal`'s reason.
   */
  waitForHealthy(
    targetGroupArn: string,
    ids: readonly string[],
    signal?: AbortSignal,
    options: WaitOptions = {},
  ): Promise<TargetHealthView[]> {
    const tg = requireTargetGroup(this.store, targetGroupArn);
    const { clock } = this.runtime;
    const pick = () => this.targets.health(targetGroupArn).filter((v) => ids.includes(v.id));
    return this.targets.waitUntil(
      () => {
        const views = pick();
        return ids.every((id) => views.some((v) => v.id === id && v.state === 'healthy')) ? views : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? clock.scaled(40 * 15),
        ...(signal ? { signal } : {}),
        describe: () =>
          `targets of target group '${tg.name}' not all healthy in time: ${ids
            .map((id) => {
              const v = pick().find((x) => x.id === id);
              return v ? `${id} ${v.state}${v.reason ? ` (${v.reason})` : ''}` : `${id} not registered`;
            })
            .join(', ')}`,
      },
    );
  }

  /** Resolves when none of the ids is registered any more (their draining ended); a deleted target group counts. */
  waitForDrained(
    targetGroupArn: string,
    ids: readonly string[],
    signal?: AbortSignal,
    options: WaitOptions = {},
  ): Promise<void> {
    const tg = requireTargetGroup(this.store, targetGroupArn);
    const { clock } = this.runtime;
    const delay = Number(tg.attributes.get('deregistration_delay.timeout_seconds') ?? '300');
    const left = () =>
      this.store.targetGroups.get(targetGroupArn) === tg
        ? [...tg.targets.values()].filter((t) => ids.includes(t.id))
        : [];
    return this.targets
      .waitUntil(() => (left().length === 0 ? true : undefined), {
        timeoutMs: options.timeoutMs ?? clock.scaled(delay + 60),
        ...(signal ? { signal } : {}),
        describe: () =>
          `targets of target group '${tg.name}' still registered after the deregistration delay: ${left()
            .map((t) => `${t.id}:${t.port} ${t.state}`)
            .join(', ')}`,
      })
      .then(() => undefined);
  }

  async reset(): Promise<void> {
    this.targets.halt();
    this.proxy.close();
    this.store.clear();
  }

  async stop(): Promise<void> {
    await this.reset();
  }

  #summary(tg: TargetGroupRecord): TargetGroupSummary {
    return {
      TargetGroupArn: tg.arn,
      arn: tg.arn,
      TargetGroupName: tg.name,
      Protocol: tg.protocol,
      Port: tg.port,
      TargetType: tg.targetType,
      LoadBalancerArns: this.store.loadBalancerArnsOf(tg.arn),
      HealthCheckIntervalSeconds: tg.healthCheck.intervalSeconds,
      HealthyThresholdCount: tg.healthCheck.healthyThreshold,
      DeregistrationDelaySeconds: Number(tg.attributes.get('deregistration_delay.timeout_seconds') ?? '300'),
    };
  }
}
