/**
 * RegisterTargets, DeregisterTargets, DescribeTargetHealth: thin over the {@link TargetManager}, which owns
 * registration, draining and health (aws-semantics 4.4, 4.5).
 */
import { requireTargetGroup } from './errors.ts';
import type { Elbv2HandlerDeps, Elbv2Handlers, Elbv2Output } from './operations.ts';
import { targetHealthView } from './views.ts';

/**
 * @example
 * const handlers = registrationHandlers({ store, targets });
 * handlers.RegisterTargets({ TargetGroupArn: tgArn, Targets: [{ Id: 'i-0abc' }] }, ctx);
 */
export function registrationHandlers({
  store,
  targets,
}: Elbv2HandlerDeps): Elbv2Handlers<'RegisterTargets' | 'DeregisterTargets' | 'DescribeTargetHealth'> {
  return {
    RegisterTargets(input): Elbv2Output<'RegisterTargets'> {
      targets.register(input.TargetGroupArn, input.Targets);
      return {};
    },

    DeregisterTargets(input): Elbv2Output<'DeregisterTargets'> {
      targets.deregister(input.TargetGroupArn, input.Targets);
      return {};
    },

    DescribeTargetHealth(input): Elbv2Output<'DescribeTargetHealth'> {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      const views = targets.health(tg.arn, input.Targets);
      return { TargetHealthDescriptions: views.map((v) => targetHealthView(tg, v)) };
    },
  };
}
