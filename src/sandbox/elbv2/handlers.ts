/**
 * The ELBv2 operation table, assembled from one file per concern: load balancers, target groups, listeners
 * (with `listener-settings.ts`), attributes, target registration and health, tags. Each handler takes the
 * SDK's validated input and returns its output (`operations.ts`); errors are `ServiceError`s with the wire
 * code. Behaviour per aws-semantics section 4.
 */
import { attributeHandlers } from './attributes.ts';
import { listenerHandlers } from './listeners.ts';
import { loadBalancerHandlers } from './load-balancers.ts';
import type { Elbv2Handlers, Elbv2Operations } from './operations.ts';
import { registrationHandlers } from './registration.ts';
import type { Elbv2Store } from './store.ts';
import { tagHandlers } from './tags.ts';
import { targetGroupHandlers } from './target-groups.ts';
import type { TargetManager } from './targets.ts';

export { SANDBOX_VPC_ID } from './load-balancers.ts';

/**
 * The operation table of the service (operation name as in the model → handler). Leaving out an operation of
 * {@link Elbv2Operations} is a compile error.
 *
 * @example
 * const handlers = createHandlers(store, targets);
 * handlers.CreateTargetGroup({ Name: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }, ctx);
 */
export function createHandlers(
  store: Elbv2Store,
  targets: TargetManager,
): Elbv2Handlers<keyof Elbv2Operations> {
  const deps = { store, targets };
  return {
    ...loadBalancerHandlers(deps),
    ...targetGroupHandlers(deps),
    ...listenerHandlers(deps),
    ...attributeHandlers(deps),
    ...registrationHandlers(deps),
    ...tagHandlers(deps),
  };
}
