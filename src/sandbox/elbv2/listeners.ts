/**
 * CreateListener, DescribeListeners, ModifyListener, DeleteListener (aws-semantics 4.6). Every change to
 * listeners changes which target groups are in use, so the health checker is told.
 */
import { isDeepStrictEqual } from 'node:util';
import { ServiceError } from '../protocol/errors.ts';
import { listenerNotFound, requireListener, requireLoadBalancer, validation } from './errors.ts';
import { certificatesOf, checkListener, DEFAULT_SSL_POLICY } from './listener-settings.ts';
import { arnPrefix, type Elbv2HandlerDeps, type Elbv2Handlers, type Elbv2Output } from './operations.ts';
import { hexId, type ListenerRecord } from './store.ts';
import { checkTags, setTags } from './tags.ts';
import { listenerView, paginate } from './views.ts';

const MAX_LISTENERS_PER_LB = 50;

/**
 * @example
 * const handlers = listenerHandlers({ store, targets });
 * handlers.CreateListener({ LoadBalancerArn: lbArn, Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] }, ctx);
 */
export function listenerHandlers({
  store,
  targets,
}: Elbv2HandlerDeps): Elbv2Handlers<
  'CreateListener' | 'DescribeListeners' | 'ModifyListener' | 'DeleteListener'
> {
  return {
    CreateListener(input, ctx): Elbv2Output<'CreateListener'> {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      const actions = checkListener(store, lb, input);
      checkTags(input.Tags);
      // checkListener refused a listener without protocol or port.
      const protocol = input.Protocol!;
      const port = input.Port!;
      const onPort = store.listenersOf(lb.arn).find((l) => l.port === port);
      const certificates = protocol === 'HTTPS' ? certificatesOf(input.Certificates) : undefined;
      if (onPort) {
        const same =
          onPort.protocol === protocol &&
          isDeepStrictEqual(onPort.defaultActions, actions) &&
          isDeepStrictEqual(onPort.certificates, certificates);
        if (same) {
          return { Listeners: [listenerView(onPort)] }; // identical settings: idempotent
        }
        throw new ServiceError('DuplicateListener', 'A listener with the specified port already exists.');
      }
      if (store.listenersOf(lb.arn).length >= MAX_LISTENERS_PER_LB) {
        throw new ServiceError(
          'TooManyListeners',
          `Load balancer '${lb.name}' already has ${MAX_LISTENERS_PER_LB} listeners`,
        );
      }
      const lbId = lb.arn.split('/').at(-1);
      const listener: ListenerRecord = {
        arn: `${arnPrefix(ctx)}:listener/app/${lb.name}/${lbId}/${hexId()}`,
        loadBalancerArn: lb.arn,
        port,
        protocol,
        defaultActions: actions,
        ...(certificates ? { certificates, sslPolicy: input.SslPolicy ?? DEFAULT_SSL_POLICY } : {}),
        ...(input.AlpnPolicy ? { alpnPolicy: input.AlpnPolicy } : {}),
      };
      store.listeners.set(listener.arn, listener);
      setTags(store, listener.arn, input.Tags);
      targets.topologyChanged();
      return { Listeners: [listenerView(listener)] };
    },

    DescribeListeners(input): Elbv2Output<'DescribeListeners'> {
      let listeners: ListenerRecord[];
      if (input.ListenerArns?.length) {
        const missing = input.ListenerArns.filter((a) => !store.listeners.has(a));
        if (missing.length) throw listenerNotFound(missing.join(', '));
        listeners = input.ListenerArns.map((a) => store.listeners.get(a)!);
      } else if (input.LoadBalancerArn) {
        requireLoadBalancer(store, input.LoadBalancerArn);
        listeners = store.listenersOf(input.LoadBalancerArn);
      } else {
        throw validation('You must specify either listener ARNs or a load balancer ARN');
      }
      const { page, next } = paginate(listeners, input.Marker, input.PageSize);
      return { Listeners: page.map(listenerView), ...(next ? { NextMarker: next } : {}) };
    },

    ModifyListener(input): Elbv2Output<'ModifyListener'> {
      const listener = requireListener(store, input.ListenerArn);
      const lb = requireLoadBalancer(store, listener.loadBalancerArn);
      const protocol = input.Protocol ?? listener.protocol;
      const port = input.Port ?? listener.port;
      const actions = checkListener(store, lb, {
        Protocol: protocol,
        Port: port,
        Certificates: input.Certificates ?? listener.certificates,
        SslPolicy: input.SslPolicy,
        DefaultActions: input.DefaultActions ?? listener.defaultActions,
      });
      if (store.listenersOf(lb.arn).some((l) => l !== listener && l.port === port)) {
        throw new ServiceError('DuplicateListener', 'A listener with the specified port already exists.');
      }
      listener.port = port;
      listener.protocol = protocol;
      listener.defaultActions = actions;
      if (protocol === 'HTTP') {
        // HTTPS → HTTP drops the TLS settings (aws-semantics 4.6).
        delete listener.certificates;
        delete listener.sslPolicy;
      } else {
        listener.certificates = certificatesOf(input.Certificates ?? listener.certificates);
        listener.sslPolicy = input.SslPolicy ?? listener.sslPolicy ?? DEFAULT_SSL_POLICY;
      }
      if (input.AlpnPolicy) listener.alpnPolicy = input.AlpnPolicy;
      targets.topologyChanged();
      return { Listeners: [listenerView(listener)] };
    },

    DeleteListener(input): Elbv2Output<'DeleteListener'> {
      const listener = requireListener(store, input.ListenerArn);
      store.listeners.delete(listener.arn);
      store.tags.delete(listener.arn);
      targets.topologyChanged();
      return {};
    },
  };
}
