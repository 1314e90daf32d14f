/**
 * ELBv2 state: load balancers, target groups (with their registered targets and health), listeners and tags.
 * Pure data plus lookups; the rules (errors, idempotency) live in the handler files (`handlers.ts` lists them), health in `health.ts`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type {
  IpAddressType,
  LoadBalancerSchemeEnum,
  LoadBalancerTypeEnum,
  ProtocolEnum,
  Action as SdkAction,
  TargetGroupIpAddressTypeEnum,
  TargetTypeEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Validated } from '../types.ts';

/** A target's state as DescribeTargetHealth reports it, minus `unused` (computed when the TG is not in use). */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

/** A listener action as stored: the model's `Action`, validated (so `Type` is always set). */
export type Action = Validated<SdkAction>;

export interface LoadBalancerRecord {
  readonly arn: string;
  readonly name: string;
  readonly dnsName: string;
  readonly scheme: LoadBalancerSchemeEnum;
  readonly type: LoadBalancerTypeEnum;
  readonly ipAddressType: IpAddressType;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly vpcId: string;
  readonly createdTime: Date;
  readonly attributes: Map<string, string>;
}

export interface HealthCheckSettings {
  protocol: ProtocolEnum;
  port: string;
  path: string;
  enabled: boolean;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: string;
}

export interface TargetRecord {
  readonly id: string;
  /** The registered port (the target's `Port`, or the target group's). */
  readonly port: number;
  state: TargetState;
  reason?: string;
  description?: string;
  /** Consecutive passing / failing checks, for the thresholds. */
  passes: number;
  failures: number;
  /** Aborts the pending removal of a draining target (re-registration, deletion, stop). */
  drain?: AbortController;
}

export interface TargetGroupRecord {
  readonly arn: string;
  readonly name: string;
  readonly protocol: ProtocolEnum;
  readonly port: number;
  readonly vpcId: string;
  readonly targetType: TargetTypeEnum;
  readonly protocolVersion: string;
  readonly ipAddressType: TargetGroupIpAddressTypeEnum;
  healthCheck: HealthCheckSettings;
  readonly attributes: Map<string, string>;
  /** Keyed by `<id>:<port>`. */
  readonly targets: Map<string, TargetRecord>;
}

export interface ListenerRecord {
  readonly arn: string;
  readonly loadBalancerArn: string;
  port: number;
  protocol: ProtocolEnum;
  certificates?: { CertificateArn?: string; IsDefault?: boolean }[];
  sslPolicy?: string;
  alpnPolicy?: string[];
  defaultActions: Action[];
}

/**
 * Target-group attribute defaults for an ALB instance/ip target group
 * (aws-semantics 4.3; https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html).
 */
export const TARGET_GROUP_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'stickiness.app_cookie.cookie_name': '',
  'stickiness.app_cookie.duration_seconds': '86400',
  'load_balancing.algorithm.type': 'round_robin',
  'load_balancing.algorithm.anomaly_mitigation': 'off',
  'slow_start.duration_seconds': '0',
  'load_balancing.cross_zone.enabled': 'use_load_balancer_configuration',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': '1',
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': 'off',
  'target_group_health.dns_failover.minimum_healthy_targets.count': '1',
  'target_group_health.dns_failover.minimum_healthy_targets.percentage': 'off',
};

/**
 * Load-balancer attribute defaults of an ALB
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes).
 */
export const LOAD_BALANCER_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': '',
  'deletion_protection.enabled': 'false',
  'idle_timeout.timeout_seconds': '60',
  'client_keep_alive.seconds': '3600',
  'routing.http2.enabled': 'true',
  'routing.http.drop_invalid_header_fields.enabled': 'false',
  'routing.http.desync_mitigation_mode': 'defensive',
  'routing.http.preserve_host_header.enabled': 'false',
  'routing.http.xff_client_port.enabled': 'false',
  'routing.http.xff_header_processing.mode': 'append',
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'true',
  'waf.fail_open.enabled': 'false',
};

/** 16 lowercase hex digits, the id part of every ELBv2 ARN. */
export function hexId(): string {
  return randomBytes(8).toString('hex');
}

/** The numeric part of an ALB DNS name (`my-load-balancer-424835706.us-west-2.elb.amazonaws.com`). */
export function dnsNumber(): string {
  return String(randomInt(100_000_000, 2_000_000_000));
}

/**
 * A load balancer's DNS name: AWS's `[internal-]<name>-<digits>.<region>.elb.amazonaws.com` with `localhost`
 * for `amazonaws.com`, so it resolves to 127.0.0.1 (RFC 6761; curl and the harness's agent resolve it) and the
 * region in it picks the sandbox region that serves its traffic.
 *
 * @example
 * loadBalancerDnsName('Web-ALB', 'internet-facing', 'eu-west-1'); // 'web-alb-424835706.eu-west-1.elb.localhost'
 */
export function loadBalancerDnsName(name: string, scheme: string, region: string): string {
  return `${scheme === 'internal' ? 'internal-' : ''}${name.toLowerCase()}-${dnsNumber()}.${region}.elb.localhost`;
}

export function targetKey(id: string, port: number): string {
  return `${id}:${port}`;
}

/** Every target group ARN an action forwards to (plain `TargetGroupArn` or `ForwardConfig`). */
export function forwardedArns(action: Action): string[] {
  if (action.Type !== 'forward') return [];
  const arns = new Set<string>();
  if (action.TargetGroupArn) arns.add(action.TargetGroupArn);
  for (const t of action.ForwardConfig?.TargetGroups ?? []) if (t.TargetGroupArn) arns.add(t.TargetGroupArn);
  return [...arns];
}

/**
 * @example
 * const store = new Elbv2Store();
 * store.inUse(tgArn); // true once a listener forwards to it
 */
export class Elbv2Store {
  readonly loadBalancers = new Map<string, LoadBalancerRecord>();
  readonly targetGroups = new Map<string, TargetGroupRecord>();
  readonly listeners = new Map<string, ListenerRecord>();
  /** Resource ARN → tag key → value (insertion order kept, as DescribeTags lists them). */
  readonly tags = new Map<string, Map<string, string>>();

  loadBalancerByName(name: string): LoadBalancerRecord | undefined {
    for (const lb of this.loadBalancers.values()) if (lb.name === name) return lb;
    return undefined;
  }

  loadBalancerByDnsName(dnsName: string): LoadBalancerRecord | undefined {
    const wanted = dnsName.toLowerCase();
    for (const lb of this.loadBalancers.values()) if (lb.dnsName === wanted) return lb;
    return undefined;
  }

  targetGroupByName(name: string): TargetGroupRecord | undefined {
    for (const tg of this.targetGroups.values()) if (tg.name === name) return tg;
    return undefined;
  }

  listenersOf(loadBalancerArn: string): ListenerRecord[] {
    return [...this.listeners.values()].filter((l) => l.loadBalancerArn === loadBalancerArn);
  }

  /** Listeners whose default actions forward to the target group. */
  listenersForwardingTo(targetGroupArn: string): ListenerRecord[] {
    return [...this.listeners.values()].filter((l) =>
      l.defaultActions.some((a) => forwardedArns(a).includes(targetGroupArn)),
    );
  }

  /** A target group is "in use" (health-checked, routable) once a listener forwards to it (aws-semantics 4.5). */
  inUse(targetGroupArn: string): boolean {
    return this.listenersForwardingTo(targetGroupArn).length > 0;
  }

  /** ARNs of the load balancers whose listeners forward to the target group (`TargetGroup.LoadBalancerArns`). */
  loadBalancerArnsOf(targetGroupArn: string): string[] {
    return [...new Set(this.listenersForwardingTo(targetGroupArn).map((l) => l.loadBalancerArn))];
  }

  clear(): void {
    for (const tg of this.targetGroups.values()) for (const t of tg.targets.values()) t.drain?.abort();
    this.loadBalancers.clear();
    this.targetGroups.clear();
    this.listeners.clear();
    this.tags.clear();
  }
}
