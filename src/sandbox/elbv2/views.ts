/**
 * How ELBv2 shows its records on the wire (the model's `LoadBalancer`, `TargetGroup`, `Listener`,
 * `TargetHealthDescription`) and its `Marker` pagination. Pure functions of the store's records.
 */
import type {
  LoadBalancer,
  LoadBalancerAttribute,
  LoadBalancerStateEnum,
  Listener,
  TargetGroup,
  TargetGroupAttribute,
  TargetHealthDescription,
  TargetHealthReasonEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { validation } from './errors.ts';
import type { Elbv2Store, ListenerRecord, LoadBalancerRecord, TargetGroupRecord } from './store.ts';
import type { TargetHealthView } from './targets.ts';

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

/** Every reason code of the model, so a record's reason reaches the wire only when AWS could say it. */
const REASONS = {
  'Target.DeregistrationInProgress': true,
  'Target.FailedHealthChecks': true,
  'Target.HealthCheckDisabled': true,
  'Elb.InitialHealthChecking': true,
  'Elb.InternalError': true,
  'Target.InvalidState': true,
  'Target.IpUnusable': true,
  'Target.NotInUse': true,
  'Target.NotRegistered': true,
  'Elb.RegistrationInProgress': true,
  'Target.ResponseCodeMismatch': true,
  'Target.Timeout': true,
} as const satisfies Record<TargetHealthReasonEnum, true>;

function isReason(reason: string): reason is TargetHealthReasonEnum {
  return Object.hasOwn(REASONS, reason);
}

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? 'us-east-1';
}

/**
 * A load balancer as DescribeLoadBalancers shows it.
 *
 * @example
 * loadBalancerView(lb).DNSName; // 'web-1234567890.elb.localhost'
 */
export function loadBalancerView(
  lb: LoadBalancerRecord,
  stateCode: LoadBalancerStateEnum = 'active',
): LoadBalancer {
  return {
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
  };
}

/**
 * A target group as DescribeTargetGroups shows it (`LoadBalancerArns` from the listeners that forward to it).
 *
 * @example
 * targetGroupView(store, tg).HealthCheckPath; // '/'
 */
export function targetGroupView(store: Elbv2Store, tg: TargetGroupRecord): TargetGroup {
  return {
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
  };
}

/**
 * A listener as DescribeListeners shows it.
 *
 * @example
 * listenerView(listener).DefaultActions?.[0]?.Type; // 'forward'
 */
export function listenerView(l: ListenerRecord): Listener {
  return {
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol,
    ...(l.certificates ? { Certificates: l.certificates } : {}),
    ...(l.sslPolicy ? { SslPolicy: l.sslPolicy } : {}),
    ...(l.alpnPolicy ? { AlpnPolicy: l.alpnPolicy } : {}),
    DefaultActions: structuredClone(l.defaultActions),
  };
}

/**
 * An attribute map as the Describe/Modify…Attributes operations list it.
 *
 * @example
 * attributesView(tg.attributes)[0]; // { Key: 'deregistration_delay.timeout_seconds', Value: '300' }
 */
export function attributesView(
  attributes: ReadonlyMap<string, string>,
): (LoadBalancerAttribute & TargetGroupAttribute)[] {
  return [...attributes].map(([Key, Value]) => ({ Key, Value }));
}

/**
 * One entry of DescribeTargetHealth; `HealthCheckPort` is the resolved port, never `traffic-port`
 * (aws-semantics 1.2 example).
 *
 * @example
 * targetHealthView(tg, view).TargetHealth?.State; // 'healthy'
 */
export function targetHealthView(tg: TargetGroupRecord, v: TargetHealthView): TargetHealthDescription {
  return {
    Target: { Id: v.id, Port: v.port },
    HealthCheckPort: tg.healthCheck.port === 'traffic-port' ? String(v.port) : tg.healthCheck.port,
    TargetHealth: {
      State: v.state,
      ...(v.reason && isReason(v.reason) ? { Reason: v.reason } : {}),
      ...(v.description ? { Description: v.description } : {}),
    },
  };
}

/**
 * `Marker`/`PageSize` pagination over an already filtered list; the marker is an opaque offset.
 *
 * @example
 * const { page, next } = paginate(all, input.Marker, input.PageSize);
 */
export function paginate<T>(
  items: readonly T[],
  marker: string | undefined,
  pageSize: number | undefined,
): { page: T[]; next: string | undefined } {
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
