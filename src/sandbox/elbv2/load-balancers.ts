/**
 * CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer: application load balancers only, ready at
 * once, idempotent create and delete (aws-semantics 4.1, 4.2, 4.7).
 */
import { isDeepStrictEqual } from 'node:util';
import { ServiceError } from '../protocol/errors.ts';
import { loadBalancerNotFound, validation } from './errors.ts';
import { arnPrefix, type Elbv2HandlerDeps, type Elbv2Handlers, type Elbv2Output } from './operations.ts';
import {
  hexId,
  LOAD_BALANCER_ATTRIBUTE_DEFAULTS,
  type LoadBalancerRecord,
  loadBalancerDnsName,
} from './store.ts';
import { checkTags, setTags } from './tags.ts';
import { checkName } from './validate.ts';
import { loadBalancerView, paginate } from './views.ts';

/** The VPC every sandbox resource lives in unless the caller names one. */
export const SANDBOX_VPC_ID = 'vpc-0sandbox000000000';

/**
 * @example
 * const handlers = loadBalancerHandlers({ store, targets });
 * handlers.CreateLoadBalancer({ Name: 'web', Subnets: ['subnet-1'] }, ctx);
 */
export function loadBalancerHandlers({
  store,
  targets,
}: Elbv2HandlerDeps): Elbv2Handlers<'CreateLoadBalancer' | 'DescribeLoadBalancers' | 'DeleteLoadBalancer'> {
  return {
    CreateLoadBalancer(input, ctx): Elbv2Output<'CreateLoadBalancer'> {
      const name = input.Name;
      checkName('Load balancer', name);
      const type = input.Type ?? 'application';
      if (type !== 'application') {
        throw validation(`Load balancer type '${type}' is not emulated by the sandbox; use 'application'`);
      }
      const scheme = input.Scheme ?? 'internet-facing';
      const subnets =
        input.Subnets ?? (input.SubnetMappings ?? []).flatMap((m) => (m.SubnetId ? [m.SubnetId] : []));
      const securityGroups = input.SecurityGroups ?? [];
      const ipAddressType = input.IpAddressType ?? 'ipv4';
      checkTags(input.Tags);
      const existing = store.loadBalancerByName(name);
      if (existing) {
        const same =
          existing.scheme === scheme &&
          existing.ipAddressType === ipAddressType &&
          isDeepStrictEqual([...existing.subnets], subnets) &&
          isDeepStrictEqual([...existing.securityGroups], securityGroups);
        if (!same) {
          throw new ServiceError(
            'DuplicateLoadBalancerName',
            'A load balancer with the specified name already exists.',
          );
        }
        return { LoadBalancers: [loadBalancerView(existing)] };
      }
      const id = hexId();
      const lb: LoadBalancerRecord = {
        arn: `${arnPrefix(ctx)}:loadbalancer/app/${name}/${id}`,
        name,
        dnsName: loadBalancerDnsName(name, scheme, ctx.region),
        scheme,
        type,
        ipAddressType,
        subnets,
        securityGroups,
        vpcId: SANDBOX_VPC_ID,
        createdTime: new Date(),
        attributes: new Map(Object.entries(LOAD_BALANCER_ATTRIBUTE_DEFAULTS)),
      };
      store.loadBalancers.set(lb.arn, lb);
      setTags(store, lb.arn, input.Tags);
      // AWS answers `provisioning` here and `active` on later describes (aws-semantics 4.2); locally the
      // load balancer is ready at once, so describes are `active` immediately.
      return { LoadBalancers: [loadBalancerView(lb, 'provisioning')] };
    },

    DescribeLoadBalancers(input): Elbv2Output<'DescribeLoadBalancers'> {
      let lbs = [...store.loadBalancers.values()];
      if (input.LoadBalancerArns?.length) {
        const missing = input.LoadBalancerArns.filter((a) => !store.loadBalancers.has(a));
        if (missing.length) throw loadBalancerNotFound(`'${missing.join("', '")}'`);
        lbs = input.LoadBalancerArns.map((a) => store.loadBalancers.get(a)!);
      } else if (input.Names?.length) {
        const missing = input.Names.filter((n) => !store.loadBalancerByName(n));
        if (missing.length) {
          throw new ServiceError(
            'LoadBalancerNotFound',
            `Load balancers '[${missing.join(', ')}]' not found`,
          );
        }
        lbs = input.Names.map((n) => store.loadBalancerByName(n)!);
      }
      const { page, next } = paginate(lbs, input.Marker, input.PageSize);
      return { LoadBalancers: page.map((lb) => loadBalancerView(lb)), ...(next ? { NextMarker: next } : {}) };
    },

    DeleteLoadBalancer(input): Elbv2Output<'DeleteLoadBalancer'> {
      const lb = store.loadBalancers.get(input.LoadBalancerArn);
      if (!lb) return {}; // deleting an unknown or deleted load balancer succeeds (aws-semantics 4.7)
      if (lb.attributes.get('deletion_protection.enabled') === 'true') {
        throw new ServiceError(
          'OperationNotPermitted',
          `Load balancer '${lb.arn}' cannot be deleted because deletion protection is enabled; set deletion_protection.enabled to false first`,
        );
      }
      for (const l of store.listenersOf(lb.arn)) {
        store.listeners.delete(l.arn);
        store.tags.delete(l.arn);
      }
      store.loadBalancers.delete(lb.arn);
      store.tags.delete(lb.arn);
      targets.topologyChanged();
      return {};
    },
  };
}
