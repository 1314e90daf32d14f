/**
 * Load-balancer and target-group attributes: Describe/Modify…Attributes. Keys and values are checked against
 * what AWS accepts (`validate.ts`) before any is applied, so a bad request changes nothing.
 */
import type { LoadBalancerAttribute, TargetGroupAttribute } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Validated } from '../types.ts';
import { requireLoadBalancer, requireTargetGroup, validation } from './errors.ts';
import type { Elbv2HandlerDeps, Elbv2Handlers, Elbv2Output } from './operations.ts';
import { checkLoadBalancerAttribute, checkTargetGroupAttribute } from './validate.ts';
import { attributesView } from './views.ts';

/** Checks every attribute, then sets them all (all or nothing, as on AWS). */
function modify(
  attributes: Map<string, string>,
  given: readonly Validated<LoadBalancerAttribute | TargetGroupAttribute>[],
  check: (key: string, value: string) => void,
): void {
  const checked: [string, string][] = given.map((a) => {
    if (!a.Key) throw validation('Attributes: every attribute needs a Key');
    check(a.Key, a.Value ?? '');
    return [a.Key, a.Value ?? ''];
  });
  for (const [key, value] of checked) attributes.set(key, value);
}

/**
 * @example
 * const handlers = attributeHandlers({ store, targets });
 * handlers.ModifyTargetGroupAttributes({ TargetGroupArn: tgArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] }, ctx);
 */
export function attributeHandlers({
  store,
}: Elbv2HandlerDeps): Elbv2Handlers<
  | 'DescribeLoadBalancerAttributes'
  | 'ModifyLoadBalancerAttributes'
  | 'DescribeTargetGroupAttributes'
  | 'ModifyTargetGroupAttributes'
> {
  return {
    DescribeLoadBalancerAttributes(input): Elbv2Output<'DescribeLoadBalancerAttributes'> {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      return { Attributes: attributesView(lb.attributes) };
    },

    ModifyLoadBalancerAttributes(input): Elbv2Output<'ModifyLoadBalancerAttributes'> {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      modify(lb.attributes, input.Attributes, checkLoadBalancerAttribute);
      return { Attributes: attributesView(lb.attributes) };
    },

    DescribeTargetGroupAttributes(input): Elbv2Output<'DescribeTargetGroupAttributes'> {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      return { Attributes: attributesView(tg.attributes) };
    },

    ModifyTargetGroupAttributes(input): Elbv2Output<'ModifyTargetGroupAttributes'> {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      modify(tg.attributes, input.Attributes, checkTargetGroupAttribute);
      return { Attributes: attributesView(tg.attributes) };
    },
  };
}
