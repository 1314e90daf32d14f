/**
 * An undici dispatcher that resolves `*.localhost` to 127.0.0.1, so the sandbox's load balancer names
 * (`<name>-<id>.elb.localhost`) work without /etc/hosts changes (RFC 6761 reserves `.localhost` for loopback;
 * curl and browsers do the same). Every other name goes through the system resolver.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent } from 'undici';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** `dns.lookup` with `localhost` and `*.localhost` answered as 127.0.0.1. */
export function localhostLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options, callback as never);
}

export interface LocalhostAgentOptions {
  /** @default 2000 (ms) */
  connectTimeout?: number;
  /** Keep sockets between requests. @default true */
  keepAlive?: boolean;
}

/**
 * The dispatcher the traffic checks use by default. Close it (`await agent.close()`) when done.
 *
 * @example
 * ```ts
 * const agent = localhostAgent();
 * const res = await request('http://demo-alb-1234.elb.localhost:4566/version', { dispatcher: agent });
 * await agent.close();
 * ```
 */
export function localhostAgent(options: LocalhostAgentOptions = {}): Agent {
  return new Agent({
    connect: { lookup: localhostLookup as never, timeout: options.connectTimeout ?? 2000 },
    ...(options.keepAlive === false ? { pipelining: 0 } : {}),
  });
}
