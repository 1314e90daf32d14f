/**
 * A GET through a sandbox load balancer: the edge port with `Host: <DNSName>:<edge port>`, on a fresh
 * connection each time, so every answer is routed anew.
 *
 * @example
 * expect((await viaLb(sb.sandbox.port, loadBalancer.DNSName)).body).toBe('v1');
 */
import { request } from 'node:http';

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
