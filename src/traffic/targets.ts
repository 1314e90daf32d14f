/**
 * Which targets a load balancer serves from: the targets of the target groups its listeners forward to, with
 * their health (aws-semantics §4.5). `expectLive(..., { expectedTargets })` needs them to prove "every target".
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { HarnessError } from '../errors.ts';

export interface LoadBalancerTarget {
  /** Instance id (or IP) of the target. */
  id: string;
  port?: number | undefined;
  targetGroupArn: string;
  /** `initial` | `healthy` | `unhealthy` | `unused` | `draining` | `unavailable`. */
  state: string;
  reason?: string | undefined;
}

/**
 * Every target registered behind the load balancer's listeners (forward actions, weighted forwards included).
 *
 * @example
 * ```ts
 * const healthy = (await targetsBehind(clients.elbv2, 'awscicd-cap-alb')).filter((t) => t.state === 'healthy');
 * await expectLive(url, version, { expectedTargets: healthy.map((t) => t.id) });
 * ```
 */
export async function targetsBehind(
  elbv2: ElasticLoadBalancingV2Client,
  loadBalancerName: string,
): Promise<LoadBalancerTarget[]> {
  return targetsIn(elbv2, await targetGroupsBehind(elbv2, loadBalancerName));
}

/**
 * The target groups the load balancer's listeners forward to (weighted forwards included): they stay while
 * targets come and go, so a caller reading targets again and again reads these once.
 *
 * @throws HarnessError when the load balancer does not exist.
 */
export async function targetGroupsBehind(
  elbv2: ElasticLoadBalancingV2Client,
  loadBalancerName: string,
): Promise<string[]> {
  const lb = (await elbv2.send(new DescribeLoadBalancersCommand({ Names: [loadBalancerName] })))
    .LoadBalancers?.[0];
  if (!lb?.LoadBalancerArn) {
    throw new HarnessError(
      `load balancer ${loadBalancerName} not found; check loadBalancerName (HARNESS_LOAD_BALANCER)`,
    );
  }
  const listeners =
    (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ?? [];
  const groups = new Set<string>();
  for (const listener of listeners) {
    for (const action of listener.DefaultActions ?? []) {
      if (action.TargetGroupArn) groups.add(action.TargetGroupArn);
      for (const tg of action.ForwardConfig?.TargetGroups ?? [])
        if (tg.TargetGroupArn) groups.add(tg.TargetGroupArn);
    }
  }
  return [...groups];
}

/** Every target registered in the target groups, with its health (DescribeTargetHealth, one call a group). */
export async function targetsIn(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArns: readonly string[],
): Promise<LoadBalancerTarget[]> {
  const targets: LoadBalancerTarget[] = [];
  for (const arn of targetGroupArns) {
    const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    for (const d of health.TargetHealthDescriptions ?? []) {
      if (!d.Target?.Id) continue;
      targets.push({
        id: d.Target.Id,
        port: d.Target.Port,
        targetGroupArn: arn,
        state: d.TargetHealth?.State ?? 'unavailable',
        reason: d.TargetHealth?.Reason,
      });
    }
  }
  return targets;
}

/** Ids of the healthy targets (each once). */
export function healthyIds(targets: readonly LoadBalancerTarget[]): string[] {
  return [...new Set(targets.filter((t) => t.state === 'healthy').map((t) => t.id))];
}

/** Ids of the healthy targets behind the load balancer (each once). */
export async function healthyTargetIds(
  elbv2: ElasticLoadBalancingV2Client,
  loadBalancerName: string,
): Promise<string[]> {
  return healthyIds(await targetsBehind(elbv2, loadBalancerName));
}
