/**
 * CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup: HTTP target groups of
 * `instance` or `ip` targets with ALB health-check defaults (aws-semantics 4.3, 4.7).
 */
import { isDeepStrictEqual } from 'node:util';
import { ServiceError } from '../protocol/errors.ts';
import { requireLoadBalancer, requireTargetGroup, targetGroupNotFound, validation } from './errors.ts';
import { arnPrefix, type Elbv2HandlerDeps, type Elbv2Handlers, type Elbv2Output } from './operations.ts';
import {
  type HealthCheckSettings,
  hexId,
  TARGET_GROUP_ATTRIBUTE_DEFAULTS,
  type TargetGroupRecord,
} from './store.ts';
import { checkTags, setTags } from './tags.ts';
import { checkHealthCheck, checkName } from './validate.ts';
import { paginate, targetGroupView } from './views.ts';

/**
 * @example
 * const handlers = targetGroupHandlers({ store, targets });
 * handlers.CreateTargetGroup({ Name: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }, ctx);
 */
export function targetGroupHandlers({
  store,
  targets,
}: Elbv2HandlerDeps): Elbv2Handlers<
  'CreateTargetGroup' | 'DescribeTargetGroups' | 'ModifyTargetGroup' | 'DeleteTargetGroup'
> {
  const view = (tg: TargetGroupRecord) => targetGroupView(store, tg);
  return {
    CreateTargetGroup(input, ctx): Elbv2Output<'CreateTargetGroup'> {
      const name = input.Name;
      checkName('Target group', name);
      const targetType = input.TargetType ?? 'instance';
      if (targetType !== 'instance' && targetType !== 'ip') {
        throw validation(
          `Target type '${targetType}' is not emulated by the sandbox; use 'instance' or 'ip'`,
        );
      }
      const protocol = input.Protocol;
      if (!protocol) throw validation(`Target group '${name}': a protocol must be specified (HTTP)`);
      if (protocol !== 'HTTP' && protocol !== 'HTTPS') {
        throw validation(
          `Target group '${name}': protocol '${protocol}' is for network/gateway load balancers, which the sandbox does not emulate; use HTTP`,
        );
      }
      if (protocol === 'HTTPS') {
        throw new ServiceError(
          'InvalidConfigurationRequest',
          `Target group '${name}': protocol HTTPS is not supported by the sandbox (local targets serve plain HTTP); use HTTP`,
        );
      }
      const port = input.Port;
      if (port === undefined) throw validation(`Target group '${name}': a port must be specified`);
      const vpcId = input.VpcId;
      if (!vpcId) throw validation(`Target group '${name}': a VPC ID must be specified`);
      checkTags(input.Tags);
      const healthCheck: HealthCheckSettings = {
        protocol: input.HealthCheckProtocol ?? 'HTTP',
        port: input.HealthCheckPort ?? 'traffic-port',
        path: input.HealthCheckPath ?? '/',
        enabled: input.HealthCheckEnabled ?? true,
        // ALB defaults for HTTP instance/ip target groups (aws-semantics 4.3): 30 s, 5 s, 5, 2, "200".
        intervalSeconds: input.HealthCheckIntervalSeconds ?? 30,
        timeoutSeconds: input.HealthCheckTimeoutSeconds ?? 5,
        healthyThreshold: input.HealthyThresholdCount ?? 5,
        unhealthyThreshold: input.UnhealthyThresholdCount ?? 2,
        matcher: input.Matcher?.HttpCode ?? '200',
      };
      checkHealthCheck(healthCheck, targetType);
      const settings = {
        protocol,
        port,
        vpcId,
        targetType,
        protocolVersion: input.ProtocolVersion ?? 'HTTP1',
        ipAddressType: input.IpAddressType ?? 'ipv4',
      } satisfies Partial<TargetGroupRecord>;
      const existing = store.targetGroupByName(name);
      if (existing) {
        const same =
          isDeepStrictEqual(existing.healthCheck, healthCheck) &&
          (Object.keys(settings) as (keyof typeof settings)[]).every((k) => existing[k] === settings[k]);
        if (!same) {
          throw new ServiceError(
            'DuplicateTargetGroupName',
            'A target group with the specified name already exists.',
          );
        }
        return { TargetGroups: [view(existing)] };
      }
      const tg: TargetGroupRecord = {
        arn: `${arnPrefix(ctx)}:targetgroup/${name}/${hexId()}`,
        name,
        ...settings,
        healthCheck,
        attributes: new Map(Object.entries(TARGET_GROUP_ATTRIBUTE_DEFAULTS)),
        targets: new Map(),
      };
      store.targetGroups.set(tg.arn, tg);
      setTags(store, tg.arn, input.Tags);
      return { TargetGroups: [view(tg)] };
    },

    DescribeTargetGroups(input): Elbv2Output<'DescribeTargetGroups'> {
      let tgs = [...store.targetGroups.values()];
      const lbArn = input.LoadBalancerArn;
      if (lbArn) {
        requireLoadBalancer(store, lbArn);
        tgs = tgs.filter((tg) => store.loadBalancerArnsOf(tg.arn).includes(lbArn));
      }
      if (input.TargetGroupArns?.length) {
        const missing = input.TargetGroupArns.filter((a) => !store.targetGroups.has(a));
        if (missing.length) throw targetGroupNotFound(`'${missing.join("', '")}'`);
        tgs = input.TargetGroupArns.map((a) => store.targetGroups.get(a)!);
      } else if (input.Names?.length) {
        const missing = input.Names.filter((n) => !store.targetGroupByName(n));
        if (missing.length) throw targetGroupNotFound(`'${missing.join("', '")}'`);
        tgs = input.Names.map((n) => store.targetGroupByName(n)!);
      }
      const { page, next } = paginate(tgs, input.Marker, input.PageSize);
      return { TargetGroups: page.map(view), ...(next ? { NextMarker: next } : {}) };
    },

    ModifyTargetGroup(input): Elbv2Output<'ModifyTargetGroup'> {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      const hc: HealthCheckSettings = {
        protocol: input.HealthCheckProtocol ?? tg.healthCheck.protocol,
        port: input.HealthCheckPort ?? tg.healthCheck.port,
        path: input.HealthCheckPath ?? tg.healthCheck.path,
        enabled: input.HealthCheckEnabled ?? tg.healthCheck.enabled,
        intervalSeconds: input.HealthCheckIntervalSeconds ?? tg.healthCheck.intervalSeconds,
        timeoutSeconds: input.HealthCheckTimeoutSeconds ?? tg.healthCheck.timeoutSeconds,
        healthyThreshold: input.HealthyThresholdCount ?? tg.healthCheck.healthyThreshold,
        unhealthyThreshold: input.UnhealthyThresholdCount ?? tg.healthCheck.unhealthyThreshold,
        matcher: input.Matcher?.HttpCode ?? tg.healthCheck.matcher,
      };
      checkHealthCheck(hc, tg.targetType);
      tg.healthCheck = hc;
      targets.topologyChanged();
      return { TargetGroups: [view(tg)] };
    },

    DeleteTargetGroup(input): Elbv2Output<'DeleteTargetGroup'> {
      const tg = store.targetGroups.get(input.TargetGroupArn);
      if (!tg) return {}; // AWS behaviour unverified (aws-semantics 4.7); deletes are idempotent like DeleteLoadBalancer
      if (store.inUse(tg.arn)) {
        throw new ServiceError(
          'ResourceInUse',
          `Target group '${tg.arn}' is currently in use by a listener or a rule`,
        );
      }
      store.targetGroups.delete(tg.arn);
      store.tags.delete(tg.arn);
      targets.removed(tg);
      return {};
    },
  };
}
