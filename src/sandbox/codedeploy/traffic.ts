/**
 * BlockTraffic / AllowTraffic for EC2 targets behind ALB target groups (aws-semantics 3.6): block deregisters the
 * instance from every target group of the deployment's `loadBalancerInfo.targetGroupInfoList` and waits until
 * draining is over; allow registers it and waits until it is `healthy` in all of them. Both wait at most one
 * (scaled) hour, the limit AWS gives AllowTraffic.
 */
import type { TargetRegistry } from '../autoscaling/target-registry.ts';
import type { SandboxRuntime } from '../types.ts';
import type { EventOutcome } from './agent.ts';
import type { LoadBalancerInfo } from './store.ts';

/** How often a traffic wait re-reads target health (real ms; health itself moves on the scaled clock). */
const POLL_MS = 50;

function failed(message: string): EventOutcome {
  return { ok: false, diagnostics: { errorCode: 'UnknownError', scriptName: '', message, logTail: '' } };
}

const OK: EventOutcome = {
  ok: true,
  diagnostics: { errorCode: 'Success', scriptName: '', message: 'Succeeded', logTail: '' },
};

/**
 * @example
 * const traffic = new Traffic(runtime, () => elbv2);
 * const out = await traffic.allow({ targetGroupInfoList: [{ name: 'web-tg' }] }, 'i-0123456789abcdef0', signal);
 * out.ok; // true once the instance is healthy in every target group
 */
export class Traffic {
  readonly runtime: SandboxRuntime;
  readonly #registry: () => TargetRegistry | undefined;

  constructor(runtime: SandboxRuntime, registry: () => TargetRegistry | undefined) {
    this.runtime = runtime;
    this.#registry = registry;
  }

  /** True when the deployment shifts traffic (a load balancer is configured and traffic control is on). */
  static controls(style: { deploymentOption?: string }, info?: LoadBalancerInfo): boolean {
    return style.deploymentOption === 'WITH_TRAFFIC_CONTROL' && (info?.targetGroupInfoList?.length ?? 0) > 0;
  }

  /** The target group ARNs of `info`, or an error message naming the missing one. */
  targetGroups(info: LoadBalancerInfo | undefined): { registry: TargetRegistry; arns: string[] } | string {
    const registry = this.#registry();
    if (!registry)
      return 'The sandbox ELBv2 service offers no internal target API; traffic cannot be shifted';
    const arns: string[] = [];
    for (const tg of info?.targetGroupInfoList ?? []) {
      const found = tg.name ? registry.findTargetGroupByName(tg.name) : undefined;
      if (!found) {
        return `The target group '${tg.name}' of the deployment group's loadBalancerInfo does not exist; create it or fix targetGroupInfoList`;
      }
      arns.push(found.arn);
    }
    return { registry, arns };
  }

  async allow(
    info: LoadBalancerInfo | undefined,
    instanceId: string,
    signal: AbortSignal,
  ): Promise<EventOutcome> {
    const tgs = this.targetGroups(info);
    if (typeof tgs === 'string') return failed(tgs);
    try {
      for (const arn of tgs.arns) await tgs.registry.registerTargets(arn, [{ Id: instanceId }]);
    } catch (error) {
      return failed(`Registering ${instanceId} with the target group failed: ${(error as Error).message}`);
    }
    return this.#waitFor(
      tgs,
      (states) => states.every((s) => s?.state === 'healthy'),
      signal,
      (states) =>
        `Instance ${instanceId} did not become healthy in its target groups within the time allowed (last seen: ${states
          .map((s) => (s ? `${s.state}${s.reason ? ` (${s.reason})` : ''}` : 'not registered'))
          .join(', ')})`,
      instanceId,
    );
  }

  async block(
    info: LoadBalancerInfo | undefined,
    instanceId: string,
    signal: AbortSignal,
  ): Promise<EventOutcome> {
    const tgs = this.targetGroups(info);
    if (typeof tgs === 'string') return failed(tgs);
    try {
      for (const arn of tgs.arns) await tgs.registry.deregisterTargets(arn, [{ Id: instanceId }]);
    } catch (error) {
      return failed(`Deregistering ${instanceId} from the target group failed: ${(error as Error).message}`);
    }
    return this.#waitFor(
      tgs,
      (states) => states.every((s) => s === undefined || s.state === 'unused'),
      signal,
      () => `Instance ${instanceId} was still draining from its target groups when the time allowed ran out`,
      instanceId,
    );
  }

  async #waitFor(
    tgs: { registry: TargetRegistry; arns: string[] },
    done: (states: ({ state: string; reason?: string } | undefined)[]) => boolean,
    signal: AbortSignal,
    describe: (states: ({ state: string; reason?: string } | undefined)[]) => string,
    instanceId: string,
  ): Promise<EventOutcome> {
    const deadline = Date.now() + this.runtime.clock.scaled(3600);
    let states: ({ state: string; reason?: string } | undefined)[] = [];
    for (;;) {
      states = [];
      for (const arn of tgs.arns) {
        const health = await tgs.registry.targetHealth(arn);
        states.push(health.find((h) => h.id === instanceId));
      }
      if (done(states)) return OK;
      if (Date.now() >= deadline) return failed(describe(states));
      await this.runtime.clock.sleep(POLL_MS, signal);
    }
  }
}
