/**
 * ELBv2 errors with their WIRE codes (aws-semantics 1.2 / 4.9: `TargetGroupNotFound` on the wire,
 * `TargetGroupNotFoundException` in SDK v3) and the lookups that throw them.
 */
import { ServiceError } from '../protocol/errors.ts';
import type { Elbv2Store, ListenerRecord, LoadBalancerRecord, TargetGroupRecord } from './store.ts';

/** Generic input error of Query services (unmodeled code `ValidationError`, HTTP 400). */
export function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

export function targetGroupNotFound(detail?: string): ServiceError {
  return new ServiceError(
    'TargetGroupNotFound',
    detail ? `One or more target groups not found: ${detail}` : 'One or more target groups not found',
  );
}

export function loadBalancerNotFound(detail?: string): ServiceError {
  return new ServiceError(
    'LoadBalancerNotFound',
    detail ? `One or more load balancers not found: ${detail}` : 'One or more load balancers not found',
  );
}

export function listenerNotFound(arn: string): ServiceError {
  return new ServiceError('ListenerNotFound', `The specified listener does not exist: '${arn}'`);
}

export function requireTargetGroup(store: Elbv2Store, arn: string): TargetGroupRecord {
  const tg = store.targetGroups.get(arn);
  if (!tg) throw targetGroupNotFound(`'${arn}'`);
  return tg;
}

export function requireLoadBalancer(store: Elbv2Store, arn: string): LoadBalancerRecord {
  const lb = store.loadBalancers.get(arn);
  if (!lb) throw loadBalancerNotFound(`'${arn}'`);
  return lb;
}

export function requireListener(store: Elbv2Store, arn: string): ListenerRecord {
  const listener = store.listeners.get(arn);
  if (!listener) throw listenerNotFound(arn);
  return listener;
}
