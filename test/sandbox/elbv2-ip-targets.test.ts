/**
 * `ip` targets are limited to loopback addresses (issue 15, least privilege): the sandbox only reaches
 * processes on this machine, so RegisterTargets refuses any other address with a ValidationError that says
 * why, and the proxy and the health checker never connect to one. A loopback ip target is served end to end.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import {
  createLoadBalancer,
  ELBV2_TEST_HEALTH_CHECK,
  type TestLoadBalancer,
  viaLb,
} from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('ip targets are loopback addresses only', () => {
  // 10 s interval → 200 ms; healthy after 2 checks.
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });
  let app: Server;
  let appPort: number;
  let lb: TestLoadBalancer;

  beforeAll(async () => {
    app = createServer((req, res) =>
      res.writeHead(200).end(req.url === '/health' ? 'ok' : 'served over 127.0.0.1'),
    );
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    appPort = (app.address() as AddressInfo).port;
    lb = await createLoadBalancer(sb.clients.elbv2, {
      name: 'ip-alb',
      targetGroupName: 'ip-tg',
      ...ELBV2_TEST_HEALTH_CHECK,
      targetGroupExtra: { TargetType: 'ip' },
    });
  });

  afterAll(async () => {
    app?.closeAllConnections();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  });

  const health = async () =>
    (await sb.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: lb.targetGroupArn })))
      .TargetHealthDescriptions ?? [];

  it.each([
    ['169.254.169.254'], // the instance metadata service
    ['10.0.0.5'],
    ['0.0.0.0'],
    ['fe80::1'],
  ])('refuses to register %s with a ValidationError that says why', async (address) => {
    const refused = await errorOf(
      sb.clients.elbv2.send(
        new RegisterTargetsCommand({
          TargetGroupArn: lb.targetGroupArn,
          Targets: [{ Id: address, Port: appPort }],
        }),
      ),
    );
    expect(refused).toEqual({
      name: 'ValidationError',
      status: 400,
      message: `The IP address '${address}' cannot be registered with target group 'ip-tg': the sandbox only reaches processes on this machine, so ip targets must be loopback addresses (127.0.0.0/8 or ::1); register 127.0.0.1 with the port your process listens on`,
    });
    // Nothing was registered, so the health checker and the proxy have nothing to call.
    expect((await health()).map((d) => d.Target?.Id)).not.toContain(address);
  });

  it('refuses the whole request when one of its targets is not loopback', async () => {
    const refused = await errorOf(
      sb.clients.elbv2.send(
        new RegisterTargetsCommand({
          TargetGroupArn: lb.targetGroupArn,
          Targets: [{ Id: '127.0.0.1', Port: appPort }, { Id: '192.168.1.10' }],
        }),
      ),
    );
    expect(refused).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("'192.168.1.10'"),
    });
    expect(await health()).toEqual([]);
  });

  it('never hands a non-loopback address to the proxy or the health checker', () => {
    const { store, targets } = sb.sandbox.services.elbv2;
    const tg = store.targetGroups.get(lb.targetGroupArn)!;
    expect(targets.address(tg, { id: '169.254.169.254', port: 80 })).toBeUndefined();
    expect(targets.address(tg, { id: '127.0.0.2', port: 80 })).toEqual({ host: '127.0.0.2', port: 80 });
  });

  it('serves a loopback ip target end to end (health checks and traffic) and accepts ::1', async () => {
    await sb.clients.elbv2.send(
      new RegisterTargetsCommand({
        TargetGroupArn: lb.targetGroupArn,
        Targets: [
          { Id: '127.0.0.1', Port: appPort },
          { Id: '::1', Port: appPort },
        ],
      }),
    );
    const views = await poll(health, {
      timeout: 10_000,
      what: 'ip target 127.0.0.1 to be healthy',
      describe: (ds) => ds.map((d) => `${d.Target?.Id} ${d.TargetHealth?.State}`).join(', '),
      isDone: (ds) => ds.some((d) => d.Target?.Id === '127.0.0.1' && d.TargetHealth?.State === 'healthy'),
      interval: { min: 50, max: 200 },
    });
    expect(views.map((d) => d.Target?.Id).sort()).toEqual(['127.0.0.1', '::1']);
    // The ::1 target may be unhealthy (the app listens on 127.0.0.1 only); traffic goes to the healthy one.
    expect(await viaLb(sb.sandbox.port, lb.dnsName)).toEqual({ status: 200, body: 'served over 127.0.0.1' });
    await sb.clients.elbv2.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: lb.targetGroupArn,
        Targets: [
          { Id: '127.0.0.1', Port: appPort },
          { Id: '::1', Port: appPort },
        ],
      }),
    );
  });
});
