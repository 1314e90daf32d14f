/**
 * `AWS::ElasticLoadBalancingV2::LoadBalancer`, `TargetGroup` and `Listener` on the sandbox's ELBv2 (real load
 * balancers on the edge port, real health checks). `Ref` is the ARN for all three (reference §3.1).
 */
import { ServiceError } from '../../protocol/errors.ts';
import { callService, defined } from './call.ts';
import { bool, mergeTags, num, type Props, str, strings, tagsOf } from './props.ts';
import type { ProviderContext, ResourceProvider } from './types.ts';

interface Described {
  LoadBalancers?: {
    LoadBalancerArn: string;
    DNSName: string;
    CanonicalHostedZoneId: string;
    LoadBalancerName: string;
    SecurityGroups?: string[];
  }[];
  TargetGroups?: { TargetGroupArn: string; TargetGroupName: string; LoadBalancerArns?: string[] }[];
  Listeners?: { ListenerArn: string }[];
}

/** Key/Value attribute lists (`LoadBalancerAttributes`, `TargetGroupAttributes`) with string values. */
function attributeList(p: Props, key: string): { Key: string; Value: string }[] | undefined {
  const v = p[key];
  if (!Array.isArray(v)) return undefined;
  return v.map((a) => ({ Key: String((a as Props).Key), Value: String((a as Props).Value ?? '') }));
}

function tags(p: Props, ctx: ProviderContext) {
  return mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags, ctx.systemTags);
}

/** Deletes are idempotent: a resource already gone counts as deleted (reference §2.7). */
function gone(error: unknown): boolean {
  return error instanceof ServiceError && /NotFound$/.test(error.code);
}

const loadBalancer: ResourceProvider = {
  type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  recordedOnly: false,
  attributes: [
    'CanonicalHostedZoneID',
    'DNSName',
    'LoadBalancerArn',
    'LoadBalancerFullName',
    'LoadBalancerName',
    'SecurityGroups',
  ],
  createSeconds: 150,
  deleteSeconds: 30,
  async create(p, ctx) {
    const name = str(p, 'Name', ctx.logicalId) ?? ctx.physicalName(32);
    const out = await callService<Described>(
      ctx.services.elbv2,
      'CreateLoadBalancer',
      defined({
        Name: name,
        Subnets: strings(p, 'Subnets', ctx.logicalId),
        SubnetMappings: p.SubnetMappings,
        SecurityGroups: strings(p, 'SecurityGroups', ctx.logicalId),
        Scheme: str(p, 'Scheme', ctx.logicalId),
        Type: str(p, 'Type', ctx.logicalId),
        IpAddressType: str(p, 'IpAddressType', ctx.logicalId),
        Tags: tags(p, ctx),
      }),
      ctx,
    );
    const lb = out.LoadBalancers?.[0];
    if (!lb) throw new Error(`CreateLoadBalancer ${name} returned no load balancer`);
    const attrs = attributeList(p, 'LoadBalancerAttributes');
    if (attrs?.length) {
      await callService(
        ctx.services.elbv2,
        'ModifyLoadBalancerAttributes',
        { LoadBalancerArn: lb.LoadBalancerArn, Attributes: attrs },
        ctx,
      );
    }
    const arnTail = lb.LoadBalancerArn.split(':loadbalancer/')[1] ?? '';
    return {
      physicalId: lb.LoadBalancerArn,
      attributes: {
        LoadBalancerArn: lb.LoadBalancerArn,
        DNSName: lb.DNSName,
        CanonicalHostedZoneID: lb.CanonicalHostedZoneId,
        LoadBalancerFullName: arnTail,
        LoadBalancerName: lb.LoadBalancerName,
        SecurityGroups: lb.SecurityGroups ?? [],
      },
    };
  },
  async delete(r, ctx) {
    await callService(ctx.services.elbv2, 'DeleteLoadBalancer', { LoadBalancerArn: r.physicalId }, ctx);
  },
};

const targetGroup: ResourceProvider = {
  type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
  recordedOnly: false,
  attributes: ['LoadBalancerArns', 'TargetGroupArn', 'TargetGroupFullName', 'TargetGroupName'],
  createSeconds: 5,
  deleteSeconds: 5,
  async create(p, ctx) {
    const name = str(p, 'Name', ctx.logicalId) ?? ctx.physicalName(32);
    const matcher = p.Matcher as Props | undefined;
    const out = await callService<Described>(
      ctx.services.elbv2,
      'CreateTargetGroup',
      defined({
        Name: name,
        Protocol: str(p, 'Protocol', ctx.logicalId),
        ProtocolVersion: str(p, 'ProtocolVersion', ctx.logicalId),
        Port: num(p, 'Port', ctx.logicalId),
        VpcId: str(p, 'VpcId', ctx.logicalId),
        TargetType: str(p, 'TargetType', ctx.logicalId),
        IpAddressType: str(p, 'IpAddressType', ctx.logicalId),
        HealthCheckEnabled: bool(p, 'HealthCheckEnabled', ctx.logicalId),
        HealthCheckProtocol: str(p, 'HealthCheckProtocol', ctx.logicalId),
        HealthCheckPort: str(p, 'HealthCheckPort', ctx.logicalId),
        HealthCheckPath: str(p, 'HealthCheckPath', ctx.logicalId),
        HealthCheckIntervalSeconds: num(p, 'HealthCheckIntervalSeconds', ctx.logicalId),
        HealthCheckTimeoutSeconds: num(p, 'HealthCheckTimeoutSeconds', ctx.logicalId),
        HealthyThresholdCount: num(p, 'HealthyThresholdCount', ctx.logicalId),
        UnhealthyThresholdCount: num(p, 'UnhealthyThresholdCount', ctx.logicalId),
        Matcher: matcher
          ? defined({
              HttpCode: str(matcher, 'HttpCode', ctx.logicalId),
              GrpcCode: str(matcher, 'GrpcCode', ctx.logicalId),
            })
          : undefined,
        Tags: tags(p, ctx),
      }),
      ctx,
    );
    const tg = out.TargetGroups?.[0];
    if (!tg) throw new Error(`CreateTargetGroup ${name} returned no target group`);
    const attrs = attributeList(p, 'TargetGroupAttributes');
    if (attrs?.length) {
      await callService(
        ctx.services.elbv2,
        'ModifyTargetGroupAttributes',
        { TargetGroupArn: tg.TargetGroupArn, Attributes: attrs },
        ctx,
      );
    }
    const targets = p.Targets;
    if (Array.isArray(targets) && targets.length > 0) {
      await callService(
        ctx.services.elbv2,
        'RegisterTargets',
        {
          TargetGroupArn: tg.TargetGroupArn,
          Targets: targets.map((t) =>
            defined({
              Id: str(t as Props, 'Id', ctx.logicalId, true),
              Port: num(t as Props, 'Port', ctx.logicalId),
            }),
          ),
        },
        ctx,
      );
    }
    return {
      physicalId: tg.TargetGroupArn,
      attributes: {
        TargetGroupArn: tg.TargetGroupArn,
        TargetGroupName: tg.TargetGroupName,
        TargetGroupFullName: tg.TargetGroupArn.split(':').at(-1) ?? '',
        // Read when asked: listeners created later attach load balancers to the group.
        get LoadBalancerArns() {
          return ctx.services.elbv2.store.loadBalancerArnsOf(tg.TargetGroupArn);
        },
      },
    };
  },
  async delete(r, ctx) {
    await callService(ctx.services.elbv2, 'DeleteTargetGroup', { TargetGroupArn: r.physicalId }, ctx);
  },
};

/** CloudFormation's action properties → ELBv2's (same names; numbers as numbers). */
function actions(list: unknown, ctx: ProviderContext): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((a) => {
    const action = { ...(a as Props) };
    if (action.Order !== undefined) action.Order = num(action, 'Order', ctx.logicalId);
    const fixed = action.FixedResponseConfig as Props | undefined;
    if (fixed) action.FixedResponseConfig = { ...fixed };
    const forward = action.ForwardConfig as Props | undefined;
    if (forward?.TargetGroups && Array.isArray(forward.TargetGroups)) {
      action.ForwardConfig = {
        ...forward,
        TargetGroups: forward.TargetGroups.map((t) =>
          defined({
            TargetGroupArn: (t as Props).TargetGroupArn,
            Weight: num(t as Props, 'Weight', ctx.logicalId),
          }),
        ),
      };
    }
    return action;
  });
}

const listener: ResourceProvider = {
  type: 'AWS::ElasticLoadBalancingV2::Listener',
  recordedOnly: false,
  attributes: ['ListenerArn'],
  createSeconds: 3,
  deleteSeconds: 3,
  async create(p, ctx) {
    const out = await callService<Described>(
      ctx.services.elbv2,
      'CreateListener',
      defined({
        LoadBalancerArn: str(p, 'LoadBalancerArn', ctx.logicalId, true),
        Protocol: str(p, 'Protocol', ctx.logicalId),
        Port: num(p, 'Port', ctx.logicalId),
        DefaultActions: actions(p.DefaultActions, ctx),
        Certificates: p.Certificates,
        SslPolicy: str(p, 'SslPolicy', ctx.logicalId),
        Tags: tags(p, ctx),
      }),
      ctx,
    );
    const arn = out.Listeners?.[0]?.ListenerArn;
    if (!arn) throw new Error('CreateListener returned no listener');
    return { physicalId: arn, attributes: { ListenerArn: arn } };
  },
  async delete(r, ctx) {
    try {
      await callService(ctx.services.elbv2, 'DeleteListener', { ListenerArn: r.physicalId }, ctx);
    } catch (error) {
      if (!gone(error)) throw error;
    }
  },
};

export const elbv2Providers: readonly ResourceProvider[] = [loadBalancer, targetGroup, listener];
