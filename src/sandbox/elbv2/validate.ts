/**
 * Input rules AWS applies beyond the model (names, health-check settings, attributes), each failing with a
 * `ValidationError` that names the value, what is wrong and what to use instead.
 */
import { ServiceError } from '../protocol/errors.ts';
import { validation } from './errors.ts';
import { parseHttpCodeMatcher } from './health.ts';
import type { HealthCheckSettings } from './store.ts';

/** LB and TG names: ≤ 32 characters, alphanumerics and hyphens, no leading/trailing hyphen (aws-semantics 4.1). */
export function checkName(kind: 'Load balancer' | 'Target group', name: string): void {
  if (name.length === 0) throw validation(`${kind} name must not be empty`);
  if (name.length > 32) throw validation(`${kind} name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw validation(
      `${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`,
    );
  }
  if (name.startsWith('-') || name.endsWith('-')) {
    throw validation(`${kind} name '${name}' cannot begin or end with '-'`);
  }
  if (kind === 'Load balancer' && name.toLowerCase().startsWith('internal-')) {
    throw validation(`Load balancer name '${name}' cannot begin with 'internal-'`);
  }
}

function intIn(label: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw validation(`${label} '${value}' must be an integer between ${lo} and ${hi}`);
  }
}

/** Checks a complete health-check configuration (after defaults / modifications are merged). */
export function checkHealthCheck(hc: HealthCheckSettings, targetType: string): void {
  if (hc.protocol !== 'HTTP' && hc.protocol !== 'HTTPS') {
    throw validation(
      `Health check protocol '${hc.protocol}' is not supported for this target group; use HTTP`,
    );
  }
  if (hc.protocol === 'HTTPS') {
    // Targets are plain local processes: there is no TLS to check against.
    throw new ServiceError(
      'InvalidConfigurationRequest',
      `Health check protocol HTTPS is not supported by the sandbox (targets serve plain HTTP); use HTTP`,
    );
  }
  if (hc.port !== 'traffic-port') {
    const n = Number(hc.port);
    if (!/^\d+$/.test(hc.port) || n < 1 || n > 65535) {
      throw validation(
        `Health check port '${hc.port}' must be 'traffic-port' or a port number between 1 and 65535`,
      );
    }
  }
  if (!hc.path.startsWith('/') || hc.path.length > 1024) {
    throw validation(`Health check path '${hc.path}' must begin with '/' and be at most 1024 characters`);
  }
  if (!hc.enabled && (targetType === 'instance' || targetType === 'ip')) {
    throw validation(`Health checks cannot be disabled for target groups with target type '${targetType}'`);
  }
  intIn('Health check interval', hc.intervalSeconds, 5, 300);
  intIn('Health check timeout', hc.timeoutSeconds, 2, 120);
  intIn('Healthy threshold count', hc.healthyThreshold, 2, 10);
  intIn('Unhealthy threshold count', hc.unhealthyThreshold, 2, 10);
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    throw validation(
      `Health check timeout '${hc.timeoutSeconds}' must be smaller than the interval '${hc.intervalSeconds}'`,
    );
  }
  try {
    parseHttpCodeMatcher(hc.matcher);
  } catch (error) {
    throw validation((error as Error).message);
  }
}

const BOOLEAN = /^(true|false)$/;

/** Known target-group attributes and the values AWS accepts for them (aws-semantics 4.3). */
const ATTRIBUTE_RULES: Record<string, (v: string) => string | undefined> = {
  'deregistration_delay.timeout_seconds': (v) => range(v, 0, 3600),
  'stickiness.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'stickiness.type': (v) =>
    /^(lb_cookie|app_cookie)$/.test(v) ? undefined : "must be 'lb_cookie' or 'app_cookie'",
  'stickiness.lb_cookie.duration_seconds': (v) => range(v, 1, 604800),
  'stickiness.app_cookie.cookie_name': () => undefined,
  'stickiness.app_cookie.duration_seconds': (v) => range(v, 1, 604800),
  'load_balancing.algorithm.type': (v) =>
    /^(round_robin|least_outstanding_requests|weighted_random)$/.test(v)
      ? undefined
      : "must be 'round_robin', 'least_outstanding_requests' or 'weighted_random'",
  'load_balancing.algorithm.anomaly_mitigation': (v) =>
    /^(on|off)$/.test(v) ? undefined : "must be 'on' or 'off'",
  'slow_start.duration_seconds': (v) => (v === '0' ? undefined : range(v, 30, 900)),
  'load_balancing.cross_zone.enabled': (v) =>
    /^(true|false|use_load_balancer_configuration)$/.test(v)
      ? undefined
      : "must be 'true', 'false' or 'use_load_balancer_configuration'",
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.count': (v) => range(v, 1, 1_000_000),
  'target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage': (v) =>
    v === 'off' ? undefined : range(v, 1, 100),
  'target_group_health.dns_failover.minimum_healthy_targets.count': (v) =>
    v === 'off' ? undefined : range(v, 1, 1_000_000),
  'target_group_health.dns_failover.minimum_healthy_targets.percentage': (v) =>
    v === 'off' ? undefined : range(v, 1, 100),
};

function range(v: string, lo: number, hi: number): string | undefined {
  const n = Number(v);
  return /^\d+$/.test(v) && n >= lo && n <= hi ? undefined : `must be an integer between ${lo} and ${hi}`;
}

/** Known load-balancer attributes and the values AWS accepts. */
const LB_ATTRIBUTE_RULES: Record<string, (v: string) => string | undefined> = {
  'access_logs.s3.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'access_logs.s3.bucket': () => undefined,
  'access_logs.s3.prefix': () => undefined,
  'deletion_protection.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'idle_timeout.timeout_seconds': (v) => range(v, 1, 4000),
  'client_keep_alive.seconds': (v) => range(v, 60, 604800),
  'routing.http2.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'routing.http.drop_invalid_header_fields.enabled': (v) =>
    BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'",
  'routing.http.desync_mitigation_mode': (v) =>
    /^(monitor|defensive|strictest)$/.test(v) ? undefined : "must be 'monitor', 'defensive' or 'strictest'",
  'routing.http.preserve_host_header.enabled': (v) =>
    BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'",
  'routing.http.xff_client_port.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'routing.http.xff_header_processing.mode': (v) =>
    /^(append|preserve|remove)$/.test(v) ? undefined : "must be 'append', 'preserve' or 'remove'",
  'routing.http.x_amzn_tls_version_and_cipher_suite.enabled': (v) =>
    BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'",
  'load_balancing.cross_zone.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
  'waf.fail_open.enabled': (v) => (BOOLEAN.test(v) ? undefined : "must be 'true' or 'false'"),
};

export function checkLoadBalancerAttribute(key: string, value: string): void {
  const rule = LB_ATTRIBUTE_RULES[key];
  if (!rule) {
    throw validation(
      `Load balancer attribute key '${key}' is not recognized; known keys: ${Object.keys(LB_ATTRIBUTE_RULES).join(', ')}`,
    );
  }
  const problem = rule(value);
  if (problem) throw validation(`Load balancer attribute '${key}' value '${value}' ${problem}`);
}

export function checkTargetGroupAttribute(key: string, value: string): void {
  const rule = ATTRIBUTE_RULES[key];
  if (!rule) {
    throw validation(
      `Target group attribute key '${key}' is not recognized; known keys: ${Object.keys(ATTRIBUTE_RULES).join(', ')}`,
    );
  }
  const problem = rule(value);
  if (problem) throw validation(`Target group attribute '${key}' value '${value}' ${problem}`);
}
