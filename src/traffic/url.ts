/**
 * The URL of a load balancer from its name: DNSName + listener (aws-semantics §4.2, §4.6). On the sandbox
 * (`*.elb.localhost`) every listener is reached through the edge port.
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { HarnessError } from '../errors.ts';

export interface LoadBalancerUrlOptions {
  /** Listener port to use. @default the first HTTP listener (else the first listener) */
  port?: number;
  /** The sandbox endpoint (its port is the edge port); @default the client's configured endpoint */
  endpoint?: string;
}

async function edgePort(elbv2: ElasticLoadBalancingV2Client, endpoint?: string): Promise<number | undefined> {
  if (endpoint) return Number(new URL(endpoint).port) || undefined;
  const provider = elbv2.config.endpoint;
  if (!provider) return undefined;
  const resolved = await provider();
  return resolved.port;
}

/**
 * @throws HarnessError when the load balancer or the wanted listener does not exist.
 * @example
 * ```ts
 * const url = await loadBalancerUrl(clients.elbv2, 'awscicd-cap-alb'); // http://awscicd-cap-alb-1a2b3c.elb.localhost:4566/
 * ```
 */
export async function loadBalancerUrl(
  elbv2: ElasticLoadBalancingV2Client,
  name: string,
  options: LoadBalancerUrlOptions = {},
): Promise<string> {
  let lb: LoadBalancer | undefined;
  try {
    const out = await elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }));
    lb = out.LoadBalancers?.[0];
  } catch (error) {
    if ((error as { name?: string }).name !== 'LoadBalancerNotFoundException') throw error;
  }
  if (!lb?.DNSName || !lb.LoadBalancerArn) {
    throw new HarnessError(
      `load balancer ${name} not found (DescribeLoadBalancers); check loadBalancerName (HARNESS_LOAD_BALANCER) and the region`,
    );
  }
  const listeners =
    (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ?? [];
  const listener =
    options.port !== undefined
      ? listeners.find((l) => l.Port === options.port)
      : (listeners.find((l) => l.Protocol === 'HTTP') ?? listeners[0]);
  if (!listener?.Port) {
    const have = listeners.map((l) => `${l.Protocol}:${l.Port}`).join(', ') || 'none';
    throw new HarnessError(
      `load balancer ${name} has no listener${options.port !== undefined ? ` on port ${options.port}` : ''} (listeners: ${have}); ` +
        'check listenerPort (HARNESS_LISTENER_PORT)',
    );
  }
  const scheme = listener.Protocol === 'HTTPS' ? 'https' : 'http';
  let port = listener.Port;
  if (lb.DNSName.toLowerCase().endsWith('.localhost')) {
    port = (await edgePort(elbv2, options.endpoint)) ?? port;
  }
  const defaultPort = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  return `${scheme}://${lb.DNSName}${defaultPort ? '' : `:${port}`}/`;
}
