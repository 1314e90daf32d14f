/**
 * ELBv2 operation handlers: PascalCase model input in, PascalCase model output out, `ServiceError` with the
 * wire code otherwise. Behaviour per aws-semantics section 4.
 */
import { isDeepStrictEqual } from 'node:util';
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, RequestContext } from '../types.ts';
import {
  listenerNotFound,
  loadBalancerNotFound,
  requireListener,
  requireLoadBalancer,
  requireTargetGroup,
  targetGroupNotFound,
  validation,
} from './errors.ts';
import {
  type Action,
  dnsNumber,
  type Elbv2Store,
  forwardedArns,
  type HealthCheckSettings,
  hexId,
  LOAD_BALANCER_ATTRIBUTE_DEFAULTS,
  type ListenerRecord,
  type LoadBalancerRecord,
  TARGET_GROUP_ATTRIBUTE_DEFAULTS,
  type TargetGroupRecord,
} from './store.ts';
import type { TargetInput, TargetManager } from './targets.ts';
import {
  checkHealthCheck,
  checkLoadBalancerAttribute,
  checkName,
  checkTargetGroupAttribute,
} from './validate.ts';

interface Tag {
  Key: string;
  Value?: string;
}

/** The VPC every sandbox resource lives in unless the caller names one. */
export const SANDBOX_VPC_ID = 'vpc-0sandbox000000000';

/** Route 53 hosted zone ids of ALBs per region (AWS "Elastic Load Balancing endpoints and quotas" table). */
const ALB_HOSTED_ZONES: Record<string, string> = {
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-central-1': 'Z215JYRZR1TBD5',
  'ap-northeast-1': 'Z14GRHDCWA56QT',
  'ap-southeast-1': 'Z1LMS91P8CMLE5',
};

const MAX_LISTENERS_PER_LB = 50;
/** What CreateListener uses for HTTPS when no SslPolicy is given (ELBv2 API reference). */
const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';
const CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate\/.+|iam::\d{12}:server-certificate\/.+)$/;
const MAX_TAGS = 50;

/** `Marker`/`PageSize` pagination over an already filtered list; the marker is an opaque offset. */
function paginate<T>(items: T[], marker: string | undefined, pageSize: number | undefined) {
  let start = 0;
  if (marker !== undefined) {
    start = Number(Buffer.from(marker, 'base64url').toString());
    if (!Number.isInteger(start) || start < 0 || start > items.length) {
      throw validation(
        `Marker '${marker}' is not a marker this API returned; pass the NextMarker of a previous call`,
      );
    }
  }
  const size = pageSize ?? 400;
  const page = items.slice(start, start + size);
  const next =
    start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return { page, next };
}

function checkTags(tags: readonly Tag[] | undefined): void {
  if (!tags) return;
  const keys = new Set<string>();
  for (const t of tags) {
    if (!t.Key) throw validation('Tags: every tag needs a Key');
    if (keys.has(t.Key))
      throw new ServiceError('DuplicateTagKeys', `Tag key '${t.Key}' is specified more than once`);
    keys.add(t.Key);
  }
  if (tags.length > MAX_TAGS) throw new ServiceError('TooManyTags', `At most ${MAX_TAGS} tags per resource`);
}

/** Fills in what AWS echoes back for a forward action: both `TargetGroupArn` (single TG) and `ForwardConfig`. */
function normalizeAction(action: Action): Action {
  if (action.Type !== 'forward') return structuredClone(action);
  const out: Action = structuredClone(action);
  const groups =
    action.ForwardConfig?.TargetGroups ??
    (action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn }] : []);
  out.ForwardConfig = {
    ...action.ForwardConfig,
    TargetGroups: groups.map((g) => ({ TargetGroupArn: g.TargetGroupArn, Weight: g.Weight ?? 1 })),
    TargetGroupStickinessConfig: (action.ForwardConfig?.['TargetGroupStickinessConfig'] as
      | object
      | undefined) ?? {
      Enabled: false,
    },
  };
  if (!out.TargetGroupArn && groups.length === 1) out.TargetGroupArn = groups[0]?.TargetGroupArn;
  return out;
}

/**
 * The operation table of the service (operation name as in the model → handler).
 *
 * @example
 * const handlers = createHandlers(store, targets);
 * handlers.CreateTargetGroup!({ Name: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }, ctx);
 */
export function createHandlers(store: Elbv2Store, targets: TargetManager): Record<string, Handler> {
  const arnPrefix = (ctx: RequestContext) => `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.accountId}`;

  const lbOutput = (lb: LoadBalancerRecord, stateCode = 'active') => ({
    LoadBalancerArn: lb.arn,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: ALB_HOSTED_ZONES[regionOf(lb.arn)] ?? 'Z35SXDOTRQ7X7K',
    CreatedTime: lb.createdTime,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpcId,
    State: { Code: stateCode },
    Type: lb.type,
    AvailabilityZones: lb.subnets.map((subnet, i) => ({
      ZoneName: `${regionOf(lb.arn)}${'abcdef'[i % 6]}`,
      SubnetId: subnet,
      LoadBalancerAddresses: [],
    })),
    SecurityGroups: [...lb.securityGroups],
    IpAddressType: lb.ipAddressType,
  });

  const tgOutput = (tg: TargetGroupRecord) => ({
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol,
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: tg.healthCheck.protocol,
    HealthCheckPort: tg.healthCheck.port,
    HealthCheckEnabled: tg.healthCheck.enabled,
    HealthCheckIntervalSeconds: tg.healthCheck.intervalSeconds,
    HealthCheckTimeoutSeconds: tg.healthCheck.timeoutSeconds,
    HealthyThresholdCount: tg.healthCheck.healthyThreshold,
    UnhealthyThresholdCount: tg.healthCheck.unhealthyThreshold,
    HealthCheckPath: tg.healthCheck.path,
    Matcher: { HttpCode: tg.healthCheck.matcher },
    LoadBalancerArns: store.loadBalancerArnsOf(tg.arn),
    TargetType: tg.targetType,
    ProtocolVersion: tg.protocolVersion,
    IpAddressType: tg.ipAddressType,
  });

  const listenerOutput = (l: ListenerRecord) => ({
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol,
    ...(l.certificates ? { Certificates: l.certificates } : {}),
    ...(l.sslPolicy ? { SslPolicy: l.sslPolicy } : {}),
    ...(l.alpnPolicy ? { AlpnPolicy: l.alpnPolicy } : {}),
    DefaultActions: structuredClone(l.defaultActions),
  });

  const setTags = (arn: string, tags: readonly Tag[] | undefined) => {
    const map = store.tags.get(arn) ?? new Map<string, string>();
    for (const t of tags ?? []) map.set(t.Key, t.Value ?? '');
    store.tags.set(arn, map);
  };

  /** Resolves a tagging ARN to its resource kind, throwing the kind's not-found error. */
  const requireTaggable = (arn: string) => {
    if (arn.includes(':loadbalancer/')) return requireLoadBalancer(store, arn);
    if (arn.includes(':targetgroup/')) return requireTargetGroup(store, arn);
    if (arn.includes(':listener/')) return requireListener(store, arn);
    if (arn.includes(':listener-rule/')) {
      throw new ServiceError(
        'RuleNotFound',
        `The rule '${arn}' does not exist (the sandbox has no listener rules)`,
      );
    }
    throw validation(`'${arn}' is not a load balancer, target group or listener ARN`);
  };

  /** Checks listener protocol, port, certificates and actions; returns the normalized actions. */
  const checkListener = (
    lb: LoadBalancerRecord,
    spec: {
      Protocol?: string;
      Port?: number;
      Certificates?: { CertificateArn?: string }[];
      SslPolicy?: string;
      DefaultActions: Action[];
    },
  ): Action[] => {
    if (!spec.Protocol) throw validation('A listener protocol must be specified (HTTP for the sandbox)');
    if (spec.Protocol !== 'HTTP' && spec.Protocol !== 'HTTPS') {
      throw new ServiceError(
        'UnsupportedProtocol',
        `Protocol '${spec.Protocol}' is not supported for load balancers of type 'application'; use HTTP or HTTPS`,
      );
    }
    if (spec.Port === undefined) throw validation('A listener port must be specified');
    if (spec.Protocol === 'HTTPS') {
      // Kept and described as on AWS; the data plane serves HTTP listeners only (no TLS locally).
      const cert = spec.Certificates?.[0]?.CertificateArn;
      if (!cert) throw validation('A certificate must be specified for HTTPS listeners');
      for (const c of spec.Certificates ?? []) {
        if (!c.CertificateArn || !CERTIFICATE_ARN.test(c.CertificateArn)) {
          throw new ServiceError(
            'CertificateNotFound',
            `Certificate '${c.CertificateArn ?? ''}' not found: expected an ACM (arn:aws:acm:<region>:<account>:certificate/<id>) or IAM server certificate ARN`,
          );
        }
      }
      if (spec.SslPolicy !== undefined && !spec.SslPolicy.startsWith('ELBSecurityPolicy-')) {
        throw new ServiceError(
          'SSLPolicyNotFound',
          `SSL policy '${spec.SslPolicy}' not found; use a predefined policy such as ${DEFAULT_SSL_POLICY}`,
        );
      }
    }
    if (spec.DefaultActions.length === 0) throw validation('DefaultActions: at least one action is required');
    const actions = spec.DefaultActions.map((a) => normalizeAction(a));
    let terminal = 0;
    for (const action of actions) {
      switch (action.Type) {
        case 'forward': {
          terminal++;
          const arns = forwardedArns(action);
          if (arns.length === 0) {
            throw validation('A forward action needs a TargetGroupArn or ForwardConfig.TargetGroups');
          }
          const configured = action.ForwardConfig?.TargetGroups ?? [];
          if (action.TargetGroupArn && configured.length > 0) {
            if (configured.length !== 1 || configured[0]?.TargetGroupArn !== action.TargetGroupArn) {
              throw validation(
                'TargetGroupArn and ForwardConfig of a forward action must name the same single target group; give only one of them',
              );
            }
          }
          for (const g of configured) {
            if (!g.TargetGroupArn)
              throw validation('ForwardConfig.TargetGroups: each entry needs a TargetGroupArn');
            if (g.Weight !== undefined && (g.Weight < 0 || g.Weight > 999)) {
              throw validation(`Target group weight ${g.Weight} must be between 0 and 999`);
            }
          }
          for (const arn of arns) {
            const tg = store.targetGroups.get(arn);
            if (!tg) throw targetGroupNotFound(`'${arn}'`);
            const others = store.loadBalancerArnsOf(arn).filter((a) => a !== lb.arn);
            if (others.length > 0) {
              // An ALB target group can be used by only one load balancer (aws-semantics 4.6).
              throw new ServiceError(
                'TargetGroupAssociationLimit',
                `The following target groups cannot be associated with more than one load balancer: ${arn}`,
              );
            }
          }
          break;
        }
        case 'redirect':
          terminal++;
          if (!action.RedirectConfig) throw validation('A redirect action needs a RedirectConfig');
          break;
        case 'fixed-response':
          terminal++;
          if (!action.FixedResponseConfig)
            throw validation('A fixed-response action needs a FixedResponseConfig');
          break;
        default:
          throw new ServiceError(
            'InvalidLoadBalancerAction',
            `Action type '${action.Type}' is not emulated by the sandbox; use forward, redirect or fixed-response`,
          );
      }
    }
    if (terminal !== 1) {
      throw new ServiceError(
        'InvalidLoadBalancerAction',
        'A listener needs exactly one forward, redirect or fixed-response action',
      );
    }
    return actions;
  };

  const handlers: Record<string, Handler> = {
    CreateLoadBalancer(input: any, ctx) {
      const name: string = input.Name;
      checkName('Load balancer', name);
      const type = input.Type ?? 'application';
      if (type !== 'application') {
        throw validation(`Load balancer type '${type}' is not emulated by the sandbox; use 'application'`);
      }
      const scheme = input.Scheme ?? 'internet-facing';
      const subnets: string[] = input.Subnets ?? (input.SubnetMappings ?? []).map((m: any) => m.SubnetId);
      const securityGroups: string[] = input.SecurityGroups ?? [];
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
        return { LoadBalancers: [lbOutput(existing)] };
      }
      const id = hexId();
      const lower = name.toLowerCase();
      const lb: LoadBalancerRecord = {
        arn: `${arnPrefix(ctx)}:loadbalancer/app/${name}/${id}`,
        name,
        // AWS: `<name>-<digits>.<region>.elb.amazonaws.com`, `internal-` first for internal schemes.
        dnsName: `${scheme === 'internal' ? 'internal-' : ''}${lower}-${dnsNumber()}.elb.localhost`,
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
      setTags(lb.arn, input.Tags);
      // AWS answers `provisioning` here and `active` on later describes (aws-semantics 4.2); locally the
      // load balancer is ready at once, so describes are `active` immediately.
      return { LoadBalancers: [lbOutput(lb, 'provisioning')] };
    },

    DescribeLoadBalancers(input: any) {
      let lbs = [...store.loadBalancers.values()];
      if (input.LoadBalancerArns?.length) {
        const missing = input.LoadBalancerArns.filter((a: string) => !store.loadBalancers.has(a));
        if (missing.length) throw loadBalancerNotFound(`'${missing.join("', '")}'`);
        lbs = input.LoadBalancerArns.map((a: string) => store.loadBalancers.get(a)!);
      } else if (input.Names?.length) {
        const missing = input.Names.filter((n: string) => !store.loadBalancerByName(n));
        if (missing.length) {
          throw new ServiceError(
            'LoadBalancerNotFound',
            `Load balancers '[${missing.join(', ')}]' not found`,
          );
        }
        lbs = input.Names.map((n: string) => store.loadBalancerByName(n)!);
      }
      const { page, next } = paginate(lbs, input.Marker, input.PageSize);
      return { LoadBalancers: page.map((lb) => lbOutput(lb)), ...(next ? { NextMarker: next } : {}) };
    },

    DeleteLoadBalancer(input: any) {
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

    DescribeLoadBalancerAttributes(input: any) {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      return { Attributes: [...lb.attributes].map(([Key, Value]) => ({ Key, Value })) };
    },

    ModifyLoadBalancerAttributes(input: any) {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      const attrs: { Key?: string; Value?: string }[] = input.Attributes ?? [];
      for (const a of attrs) {
        if (!a.Key) throw validation('Attributes: every attribute needs a Key');
        checkLoadBalancerAttribute(a.Key, a.Value ?? '');
      }
      for (const a of attrs) lb.attributes.set(a.Key!, a.Value ?? '');
      return { Attributes: [...lb.attributes].map(([Key, Value]) => ({ Key, Value })) };
    },

    CreateTargetGroup(input: any, ctx) {
      const name: string = input.Name;
      checkName('Target group', name);
      const targetType = input.TargetType ?? 'instance';
      if (targetType !== 'instance' && targetType !== 'ip') {
        throw validation(
          `Target type '${targetType}' is not emulated by the sandbox; use 'instance' or 'ip'`,
        );
      }
      if (!input.Protocol) throw validation(`Target group '${name}': a protocol must be specified (HTTP)`);
      if (input.Protocol !== 'HTTP' && input.Protocol !== 'HTTPS') {
        throw validation(
          `Target group '${name}': protocol '${input.Protocol}' is for network/gateway load balancers, which the sandbox does not emulate; use HTTP`,
        );
      }
      if (input.Protocol === 'HTTPS') {
        throw new ServiceError(
          'InvalidConfigurationRequest',
          `Target group '${name}': protocol HTTPS is not supported by the sandbox (local targets serve plain HTTP); use HTTP`,
        );
      }
      if (input.Port === undefined) throw validation(`Target group '${name}': a port must be specified`);
      if (!input.VpcId) throw validation(`Target group '${name}': a VPC ID must be specified`);
      checkTags(input.Tags);
      const healthCheck: HealthCheckSettings = {
        protocol: input.HealthCheckProtocol ?? (input.Protocol === 'HTTPS' ? 'HTTPS' : 'HTTP'),
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
        protocol: input.Protocol,
        port: input.Port,
        vpcId: input.VpcId,
        targetType,
        protocolVersion: input.ProtocolVersion ?? 'HTTP1',
        ipAddressType: input.IpAddressType ?? 'ipv4',
      };
      const existing = store.targetGroupByName(name);
      if (existing) {
        const same =
          isDeepStrictEqual(existing.healthCheck, healthCheck) &&
          Object.entries(settings).every(([k, v]) => (existing as any)[k] === v);
        if (!same) {
          throw new ServiceError(
            'DuplicateTargetGroupName',
            'A target group with the specified name already exists.',
          );
        }
        return { TargetGroups: [tgOutput(existing)] };
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
      setTags(tg.arn, input.Tags);
      return { TargetGroups: [tgOutput(tg)] };
    },

    DescribeTargetGroups(input: any) {
      let tgs = [...store.targetGroups.values()];
      if (input.LoadBalancerArn) {
        requireLoadBalancer(store, input.LoadBalancerArn);
        tgs = tgs.filter((tg) => store.loadBalancerArnsOf(tg.arn).includes(input.LoadBalancerArn));
      }
      if (input.TargetGroupArns?.length) {
        const missing = input.TargetGroupArns.filter((a: string) => !store.targetGroups.has(a));
        if (missing.length) throw targetGroupNotFound(`'${missing.join("', '")}'`);
        tgs = input.TargetGroupArns.map((a: string) => store.targetGroups.get(a)!);
      } else if (input.Names?.length) {
        const missing = input.Names.filter((n: string) => !store.targetGroupByName(n));
        if (missing.length) throw targetGroupNotFound(`'${missing.join("', '")}'`);
        tgs = input.Names.map((n: string) => store.targetGroupByName(n)!);
      }
      const { page, next } = paginate(tgs, input.Marker, input.PageSize);
      return { TargetGroups: page.map(tgOutput), ...(next ? { NextMarker: next } : {}) };
    },

    ModifyTargetGroup(input: any) {
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
      return { TargetGroups: [tgOutput(tg)] };
    },

    DeleteTargetGroup(input: any) {
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

    DescribeTargetGroupAttributes(input: any) {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      return { Attributes: [...tg.attributes].map(([Key, Value]) => ({ Key, Value })) };
    },

    ModifyTargetGroupAttributes(input: any) {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      const attrs: { Key?: string; Value?: string }[] = input.Attributes ?? [];
      for (const a of attrs) {
        if (!a.Key) throw validation('Attributes: every attribute needs a Key');
        checkTargetGroupAttribute(a.Key, a.Value ?? '');
      }
      for (const a of attrs) tg.attributes.set(a.Key!, a.Value ?? '');
      return { Attributes: [...tg.attributes].map(([Key, Value]) => ({ Key, Value })) };
    },

    CreateListener(input: any, ctx) {
      const lb = requireLoadBalancer(store, input.LoadBalancerArn);
      const actions = checkListener(lb, input);
      checkTags(input.Tags);
      const onPort = store.listenersOf(lb.arn).find((l) => l.port === input.Port);
      const certificates = input.Protocol === 'HTTPS' ? certificatesOf(input.Certificates) : undefined;
      if (onPort) {
        const same =
          onPort.protocol === input.Protocol &&
          isDeepStrictEqual(onPort.defaultActions, actions) &&
          isDeepStrictEqual(onPort.certificates, certificates);
        if (same) {
          return { Listeners: [listenerOutput(onPort)] }; // identical settings: idempotent
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
        port: input.Port,
        protocol: input.Protocol,
        defaultActions: actions,
        ...(certificates ? { certificates, sslPolicy: input.SslPolicy ?? DEFAULT_SSL_POLICY } : {}),
        ...(input.AlpnPolicy ? { alpnPolicy: input.AlpnPolicy } : {}),
      };
      store.listeners.set(listener.arn, listener);
      setTags(listener.arn, input.Tags);
      targets.topologyChanged();
      return { Listeners: [listenerOutput(listener)] };
    },

    DescribeListeners(input: any) {
      let listeners: ListenerRecord[];
      if (input.ListenerArns?.length) {
        const missing = input.ListenerArns.filter((a: string) => !store.listeners.has(a));
        if (missing.length) throw listenerNotFound(missing.join(', '));
        listeners = input.ListenerArns.map((a: string) => store.listeners.get(a)!);
      } else if (input.LoadBalancerArn) {
        requireLoadBalancer(store, input.LoadBalancerArn);
        listeners = store.listenersOf(input.LoadBalancerArn);
      } else {
        throw validation('You must specify either listener ARNs or a load balancer ARN');
      }
      const { page, next } = paginate(listeners, input.Marker, input.PageSize);
      return { Listeners: page.map(listenerOutput), ...(next ? { NextMarker: next } : {}) };
    },

    ModifyListener(input: any) {
      const listener = requireListener(store, input.ListenerArn);
      const lb = requireLoadBalancer(store, listener.loadBalancerArn);
      const protocol = input.Protocol ?? listener.protocol;
      const port = input.Port ?? listener.port;
      const actions = checkListener(lb, {
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
      return { Listeners: [listenerOutput(listener)] };
    },

    DeleteListener(input: any) {
      const listener = requireListener(store, input.ListenerArn);
      store.listeners.delete(listener.arn);
      store.tags.delete(listener.arn);
      targets.topologyChanged();
      return {};
    },

    RegisterTargets(input: any) {
      targets.register(input.TargetGroupArn, (input.Targets ?? []) as TargetInput[]);
      return {};
    },

    DeregisterTargets(input: any) {
      targets.deregister(input.TargetGroupArn, (input.Targets ?? []) as TargetInput[]);
      return {};
    },

    DescribeTargetHealth(input: any) {
      const tg = requireTargetGroup(store, input.TargetGroupArn);
      const views = targets.health(tg.arn, input.Targets);
      return {
        TargetHealthDescriptions: views.map((v) => ({
          Target: { Id: v.id, Port: v.port },
          // The resolved port, never `traffic-port` (aws-semantics 1.2 example).
          HealthCheckPort: tg.healthCheck.port === 'traffic-port' ? String(v.port) : tg.healthCheck.port,
          TargetHealth: {
            State: v.state,
            ...(v.reason ? { Reason: v.reason } : {}),
            ...(v.description ? { Description: v.description } : {}),
          },
        })),
      };
    },

    AddTags(input: any) {
      checkTags(input.Tags);
      for (const arn of input.ResourceArns as string[]) requireTaggable(arn);
      for (const arn of input.ResourceArns as string[]) {
        const keys = new Set([...(store.tags.get(arn)?.keys() ?? []), ...input.Tags.map((t: Tag) => t.Key)]);
        if (keys.size > MAX_TAGS)
          throw new ServiceError('TooManyTags', `Resource '${arn}' would have more than ${MAX_TAGS} tags`);
      }
      for (const arn of input.ResourceArns as string[]) setTags(arn, input.Tags);
      return {};
    },

    RemoveTags(input: any) {
      for (const arn of input.ResourceArns as string[]) requireTaggable(arn);
      for (const arn of input.ResourceArns as string[]) {
        for (const key of input.TagKeys as string[]) store.tags.get(arn)?.delete(key);
      }
      return {};
    },

    DescribeTags(input: any) {
      const arns = input.ResourceArns as string[];
      if (arns.length > 20) throw validation(`ResourceArns: at most 20 ARNs per call (got ${arns.length})`);
      for (const arn of arns) requireTaggable(arn);
      return {
        TagDescriptions: arns.map((arn) => ({
          ResourceArn: arn,
          Tags: [...(store.tags.get(arn) ?? [])].map(([Key, Value]) => ({ Key, Value })),
        })),
      };
    },
  };
  return handlers;
}

function certificatesOf(certs: { CertificateArn?: string }[] | undefined): { CertificateArn: string }[] {
  return (certs ?? []).map((c) => ({ CertificateArn: c.CertificateArn ?? '' }));
}

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? 'us-east-1';
}
