/**
 * A sandbox load balancer for tests: one ALB with an HTTP:80 listener forwarding to one target group, and a
 * GET through it (the edge port with `Host: <DNSName>:<edge port>`, on a fresh connection each time, so every
 * answer is routed anew).
 *
 * @example
 * const { dnsName } = await createLoadBalancer(sb.clients.elbv2, {
 *   name: 'web-alb',
 *   targetGroupName: 'web-tg',
 *   healthCheckPath: '/health',
 * });
 * expect((await viaLb(sb.sandbox.port, dnsName)).body).toBe('v1');
 */
import { request } from 'node:http';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  type ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export interface LoadBalancerOptions {
  name: string;
  targetGroupName: string;
  healthCheckPath: string;
  /** Left unset (the service default) when absent. */
  unhealthyThresholdCount?: number;
  /** @default 5 */
  healthCheckIntervalSeconds?: number;
  /** @default 2 */
  healthCheckTimeoutSeconds?: number;
  /** `deregistration_delay.timeout_seconds`. @default 20 */
  deregistrationDelaySeconds?: number;
  /** More CreateTargetGroup members, applied last (they override the ones above). */
  targetGroupExtra?: Record<string, unknown>;
}

/**
 * The elbv2 tests' health check: `/health` every 10 s, 5 s timeout, unhealthy after 2 failures, 30 s
 * deregistration delay (scaled by the sandbox clock).
 */
export const ELBV2_TEST_HEALTH_CHECK = {
  healthCheckPath: '/health',
  unhealthyThresholdCount: 2,
  healthCheckIntervalSeconds: 10,
  healthCheckTimeoutSeconds: 5,
  deregistrationDelaySeconds: 30,
} as const satisfies Omit<LoadBalancerOptions, 'name' | 'targetGroupName'>;

export interface TestLoadBalancer {
  dnsName: string;
  loadBalancerArn: string;
  targetGroupArn: string;
  listenerArn: string;
}

/**
 * Creates the ALB (subnets s-1, s-2), an HTTP:80 target group in vpc-1 with a fast health check (by default
 * 5 s interval, 2 s timeout, healthy after 2) and a 20 s deregistration delay, and an HTTP:80 listener
 * forwarding to it.
 */
export async function createLoadBalancer(
  elb: ElasticLoadBalancingV2Client,
  options: LoadBalancerOptions,
): Promise<TestLoadBalancer> {
  const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: options.name, Subnets: ['s-1', 's-2'] })))
    .LoadBalancers![0]!;
  const tg = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: options.targetGroupName,
        Protocol: 'HTTP',
        Port: 80,
        VpcId: 'vpc-1',
        HealthCheckPath: options.healthCheckPath,
        HealthCheckIntervalSeconds: options.healthCheckIntervalSeconds ?? 5,
        HealthCheckTimeoutSeconds: options.healthCheckTimeoutSeconds ?? 2,
        HealthyThresholdCount: 2,
        ...(options.unhealthyThresholdCount === undefined
          ? {}
          : { UnhealthyThresholdCount: options.unhealthyThresholdCount }),
        ...options.targetGroupExtra,
      }),
    )
  ).TargetGroups![0]!;
  await elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: tg.TargetGroupArn,
      Attributes: [
        {
          Key: 'deregistration_delay.timeout_seconds',
          Value: String(options.deregistrationDelaySeconds ?? 20),
        },
      ],
    }),
  );
  const listener = (
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn }],
      }),
    )
  ).Listeners![0]!;
  return {
    dnsName: lb.DNSName!,
    loadBalancerArn: lb.LoadBalancerArn!,
    targetGroupArn: tg.TargetGroupArn!,
    listenerArn: listener.ListenerArn!,
  };
}

export interface LbReply {
  status: number;
  body: string;
}

/** One `GET /` to `127.0.0.1:<port>` with `Host: <dnsName>:<port>`; 10 s deadline. */
export function viaLb(port: number, dnsName: string): Promise<LbReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        agent: false,
        headers: { host: `${dnsName}:${port}` },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request through the load balancer timed out')));
    req.on('error', reject);
    req.end();
  });
}
