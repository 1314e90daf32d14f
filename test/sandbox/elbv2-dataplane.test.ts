/**
 * The load balancer data plane: real HTTP through the sandbox's edge port with the load balancer's DNS name as
 * Host (and the real curl, which resolves *.localhost itself) reaching real target servers on fleet instances.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { promisify } from 'node:util';
import {
  CreateListenerCommand,
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { createLoadBalancer, ELBV2_TEST_HEALTH_CHECK } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the edge port with `Host: <dnsName>:<port>` (a fresh connection each time). */
function viaLb(
  sandbox: Sandbox,
  dnsName: string,
  options: { path?: string; method?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: sandbox.port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        agent: false,
        headers: { host: `${dnsName}:${sandbox.port}`, ...options.headers },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request to the load balancer timed out after 20 s')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A real app on a fleet instance's port: `/` names the server and echoes the request headers. */
async function startApp(name: string, port: number) {
  const state = { health: 200, hangRoot: false, hits: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(state.health).end();
      return;
    }
    state.hits++;
    if (req.url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-server': name });
      req.pipe(res);
      return;
    }
    if (state.hangRoot) return;
    res.writeHead(200, { 'content-type': 'application/json', 'x-server': name });
    res.end(JSON.stringify({ server: name, headers: req.headers }));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    name,
    state,
    server,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('load balancer data plane through the edge port', () => {
  // 10 s interval → 200 ms; 5 s timeout → 100 ms; 30 s deregistration delay → 600 ms.
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });
  const elb = () => sb.clients.elbv2;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** ALB + target group + HTTP:80 listener, and `apps` fleet instances each running a real app. */
  async function stack(name: string, apps: number, tgExtra: Record<string, unknown> = {}) {
    const lb = await createLoadBalancer(elb(), {
      name,
      targetGroupName: `${name}-tg`,
      ...ELBV2_TEST_HEALTH_CHECK,
      targetGroupExtra: tgExtra,
    });
    const instances = [];
    for (let i = 0; i < apps; i++) {
      const instance = await sb.sandbox.services.fleet.launch();
      const app = await startApp(`app-${i}`, instance.port);
      cleanup.push(app.close, () => sb.sandbox.services.fleet.terminate(instance.instanceId));
      instances.push({ id: instance.instanceId, app });
    }
    return {
      dns: lb.dnsName,
      lbArn: lb.loadBalancerArn,
      tgArn: lb.targetGroupArn,
      listenerArn: lb.listenerArn,
      instances,
    };
  }

  async function registerHealthy(tgArn: string, ids: string[]) {
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: ids.map((Id) => ({ Id })) }),
    );
    await sb.sandbox.services.elbv2.waitForHealthy(tgArn, ids, undefined, { timeoutMs: 10_000 });
  }

  it('round-robins across two healthy targets and adds the forwarding headers', async () => {
    const s = await stack('rr', 2);
    await registerHealthy(
      s.tgArn,
      s.instances.map((i) => i.id),
    );
    const replies = [];
    for (let i = 0; i < 4; i++)
      replies.push(await viaLb(sb.sandbox, s.dns, { headers: { 'x-forwarded-for': '10.0.0.9' } }));
    const servers = replies.map((r) => JSON.parse(r.body).server);
    expect(new Set(servers)).toEqual(new Set(['app-0', 'app-1']));
    expect(servers[0]).not.toBe(servers[1]);
    expect(servers[0]).toBe(servers[2]);
    const seen = JSON.parse(replies[0]!.body).headers;
    expect(seen.host).toBe(`${s.dns}:${sb.sandbox.port}`);
    expect(seen['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-port']).toBe('80');
    expect(seen['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it('serves the real curl at http://<DNSName>:<edge port>/', async () => {
    const s = await stack('curl', 2);
    await registerHealthy(
      s.tgArn,
      s.instances.map((i) => i.id),
    );
    const url = `http://${s.dns}:${sb.sandbox.port}/`;
    const bodies = [];
    for (let i = 0; i < 2; i++) {
      const { stdout } = await promisify(execFile)('curl', ['-sS', '--max-time', '10', url]);
      bodies.push(JSON.parse(stdout).server);
    }
    expect(bodies.sort()).toEqual(['app-0', 'app-1']);
  });

  it('streams request and response bodies', async () => {
    const s = await stack('stream', 1);
    await registerHealthy(s.tgArn, [s.instances[0]!.id]);
    const body = Buffer.alloc(1024 * 1024, 'x');
    const reply = await viaLb(sb.sandbox, s.dns, { path: '/echo', method: 'POST', body });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(body.length);
  });

  it('answers 503 with the ALB page when no target is registered', async () => {
    const s = await stack('empty', 0);
    const reply = await viaLb(sb.sandbox, s.dns);
    expect(reply.status).toBe(503);
    expect(reply.headers.server).toBe('awselb/2.0');
    expect(reply.body).toContain('<title>503 Service Temporarily Unavailable</title>');
  });

  it('picks a listener by the x-sandbox-listener-port header, and does not serve HTTPS listeners', async () => {
    const s = await stack('ports', 1);
    await registerHealthy(s.tgArn, [s.instances[0]!.id]);
    await elb().send(
      new CreateListenerCommand({
        LoadBalancerArn: s.lbArn,
        Protocol: 'HTTP',
        Port: 8080,
        DefaultActions: [
          { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', MessageBody: 'on 8080' } },
        ],
      }),
    );
    await elb().send(
      new CreateListenerCommand({
        LoadBalancerArn: s.lbArn,
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/abc' }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: s.tgArn }],
      }),
    );
    expect(JSON.parse((await viaLb(sb.sandbox, s.dns)).body).server).toBe('app-0'); // port 80 preferred
    expect((await viaLb(sb.sandbox, s.dns, { headers: { 'x-sandbox-listener-port': '8080' } })).body).toBe(
      'on 8080',
    );
    const tls = await viaLb(sb.sandbox, s.dns, { headers: { 'x-sandbox-listener-port': '443' } });
    expect(tls.status).toBe(503);
    expect(tls.body).toContain('HTTPS listener on port 443 is not served locally');
    expect((await viaLb(sb.sandbox, s.dns, { headers: { 'x-sandbox-listener-port': '81' } })).status).toBe(
      503,
    );
  });

  it('answers 503 while the only targets are still initial', async () => {
    // 300 s interval → 6 s: after the first (timed-out) check the target stays initial for a while.
    const s = await stack('initial', 1, { HealthCheckIntervalSeconds: 300 });
    s.instances[0]!.app.state.health = 500;
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: s.tgArn, Targets: [{ Id: s.instances[0]!.id }] }),
    );
    const health = await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: s.tgArn }));
    expect(health.TargetHealthDescriptions?.[0]?.TargetHealth?.State).toBe('initial');
    expect((await viaLb(sb.sandbox, s.dns)).status).toBe(503);
  });

  it('fails open to every registered target when none is healthy', async () => {
    const s = await stack('open', 2);
    for (const i of s.instances) i.app.state.health = 500;
    await elb().send(
      new RegisterTargetsCommand({
        TargetGroupArn: s.tgArn,
        Targets: s.instances.map((i) => ({ Id: i.id })),
      }),
    );
    await poll(
      async ({ signal }) =>
        (
          await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: s.tgArn }), {
            abortSignal: signal,
          })
        ).TargetHealthDescriptions ?? [],
      {
        timeout: 10_000,
        isDone: (targets) => targets.every((d) => d.TargetHealth?.State === 'unhealthy'),
        describe: (targets) => targets.map((d) => `${d.Target?.Id}=${d.TargetHealth?.State}`).join(' '),
        what: 'every target of the group to be unhealthy',
        interval: { min: 25, max: 25 },
      },
    );
    const servers = [];
    for (let i = 0; i < 2; i++) {
      const reply = await viaLb(sb.sandbox, s.dns);
      expect(reply.status).toBe(200);
      servers.push(JSON.parse(reply.body).server);
    }
    expect(servers.sort()).toEqual(['app-0', 'app-1']);
  });

  it('answers 502 when the target refuses the connection', async () => {
    const s = await stack('down', 1);
    await registerHealthy(s.tgArn, [s.instances[0]!.id]);
    await s.instances[0]!.app.close();
    const reply = await viaLb(sb.sandbox, s.dns);
    expect(reply.status).toBe(502);
    expect(reply.headers.server).toBe('awselb/2.0');
    expect(reply.body).toContain('502 Bad Gateway');
  });

  it('retries a GET once on a fresh connection when a kept-alive target socket dies under it', async () => {
    const s = await stack('reuse', 0);
    const instance = await sb.sandbox.services.fleet.launch();
    // Answers the first request of each connection and drops the connection on the second, as a target
    // closing an idle keep-alive socket at the moment the load balancer reuses it does.
    const perSocket = new WeakMap<object, number>();
    const server = createServer((req, res) => {
      if (req.url === '/health') return void res.end();
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n > 1) return void req.socket.destroy();
      res.end('fresh');
    });
    server.listen(instance.port, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(
      () => new Promise<void>((resolve) => server.close(() => resolve())),
      () => sb.sandbox.services.fleet.terminate(instance.instanceId),
    );
    await registerHealthy(s.tgArn, [instance.instanceId]);
    for (let i = 0; i < 3; i++)
      expect(await viaLb(sb.sandbox, s.dns)).toMatchObject({ status: 200, body: 'fresh' });
    const post = await viaLb(sb.sandbox, s.dns, { method: 'POST', body: Buffer.from('x') });
    expect(post.status).toBe(502); // a request with a body is not replayed
  });

  it('answers 504 when the target does not answer within the idle timeout', async () => {
    const s = await stack('slow', 1);
    await registerHealthy(s.tgArn, [s.instances[0]!.id]);
    s.instances[0]!.app.state.hangRoot = true;
    await elb().send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: s.lbArn,
        Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '1' }],
      }),
    );
    const started = Date.now();
    const reply = await viaLb(sb.sandbox, s.dns);
    expect(reply.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(reply.body).toContain('504 Gateway Time-out');
  });

  it('stops routing to a terminated instance and reports it unused (Target.InvalidState)', async () => {
    const s = await stack('term', 2);
    const [a, b] = s.instances;
    await registerHealthy(s.tgArn, [a!.id, b!.id]);
    await sb.sandbox.services.fleet.terminate(a!.id);
    for (let i = 0; i < 3; i++)
      expect(JSON.parse((await viaLb(sb.sandbox, s.dns)).body).server).toBe(b!.app.name);
    const h = await elb().send(
      new DescribeTargetHealthCommand({ TargetGroupArn: s.tgArn, Targets: [{ Id: a!.id }] }),
    );
    expect(h.TargetHealthDescriptions?.[0]?.TargetHealth).toEqual({
      State: 'unused',
      Reason: 'Target.InvalidState',
      Description: 'Target is in the terminated state',
    });
  });

  it('sends no new request to a draining target', async () => {
    const s = await stack('drainpl', 2);
    const [a, b] = s.instances;
    await registerHealthy(s.tgArn, [a!.id, b!.id]);
    await elb().send(new DeregisterTargetsCommand({ TargetGroupArn: s.tgArn, Targets: [{ Id: a!.id }] }));
    const hitsBefore = a!.app.state.hits;
    for (let i = 0; i < 4; i++)
      expect(JSON.parse((await viaLb(sb.sandbox, s.dns)).body).server).toBe(b!.app.name);
    expect(a!.app.state.hits).toBe(hitsBefore);
    const draining = await elb().send(
      new DescribeTargetHealthCommand({ TargetGroupArn: s.tgArn, Targets: [{ Id: a!.id }] }),
    );
    expect(draining.TargetHealthDescriptions?.[0]?.TargetHealth?.State).toBe('draining');
  });

  it('serves every request of a continuous loop while blue is swapped for green', async () => {
    const s = await stack('swap', 4);
    const blue = s.instances.slice(0, 2);
    const green = s.instances.slice(2);
    await registerHealthy(
      s.tgArn,
      blue.map((i) => i.id),
    );
    const statuses = new Map<number, number>();
    const servedBy = new Set<string>();
    let running = true;
    const loop = (async () => {
      while (running) {
        const reply = await viaLb(sb.sandbox, s.dns);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 200) servedBy.add(JSON.parse(reply.body).server);
      }
    })();
    try {
      await registerHealthy(
        s.tgArn,
        green.map((i) => i.id),
      );
      await elb().send(
        new DeregisterTargetsCommand({ TargetGroupArn: s.tgArn, Targets: blue.map((i) => ({ Id: i.id })) }),
      );
      await sb.sandbox.services.elbv2.waitForDrained(
        s.tgArn,
        blue.map((i) => i.id),
      );
      for (const i of blue) await i.app.close();
      servedBy.clear();
      await poll(() => green.every((i) => servedBy.has(i.app.name)), {
        timeout: 10_000,
        isDone: (all) => all,
        what: 'every green target to answer through the load balancer after blue closed',
        interval: { min: 25, max: 25 },
      });
    } finally {
      running = false;
      await loop;
    }
    expect([...statuses.keys()]).toEqual([200]);
    expect([...servedBy].sort()).toEqual(green.map((i) => i.app.name).sort());
  });

  it('splits traffic by ForwardConfig weights and answers fixed-response actions itself', async () => {
    const s = await stack('weights', 1);
    const green = (
      await elb().send(
        new CreateTargetGroupCommand({
          Name: 'weights-green',
          Protocol: 'HTTP',
          Port: 80,
          VpcId: 'vpc-1',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 10,
          HealthCheckTimeoutSeconds: 5,
        }),
      )
    ).TargetGroups![0]!.TargetGroupArn!;
    const instance = await sb.sandbox.services.fleet.launch();
    const app = await startApp('green', instance.port);
    cleanup.push(app.close, () => sb.sandbox.services.fleet.terminate(instance.instanceId));
    await registerHealthy(s.tgArn, [s.instances[0]!.id]);
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: green, Targets: [{ Id: instance.instanceId }] }),
    );
    const forward = (blue: number, g: number) =>
      elb().send(
        new ModifyListenerCommand({
          ListenerArn: s.listenerArn,
          DefaultActions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: s.tgArn, Weight: blue },
                  { TargetGroupArn: green, Weight: g },
                ],
              },
            },
          ],
        }),
      );
    await forward(0, 5);
    await sb.sandbox.services.elbv2.waitForHealthy(green, [instance.instanceId], undefined, {
      timeoutMs: 10_000,
    });
    for (let i = 0; i < 3; i++)
      expect(JSON.parse((await viaLb(sb.sandbox, s.dns)).body).server).toBe('green');
    await forward(1, 1);
    const split = [];
    for (let i = 0; i < 4; i++) split.push(JSON.parse((await viaLb(sb.sandbox, s.dns)).body).server);
    expect(split.filter((x) => x === 'green')).toHaveLength(2);
    await elb().send(
      new ModifyListenerCommand({
        ListenerArn: s.listenerArn,
        DefaultActions: [
          { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', MessageBody: 'none' } },
        ],
      }),
    );
    const fixed = await viaLb(sb.sandbox, s.dns);
    expect(fixed).toMatchObject({ status: 404, body: 'none' });
    expect(fixed.headers.server).toBe('awselb/2.0');
  });
});

describe('stopping the sandbox', () => {
  it('ends health checks and upstream connections, so nothing keeps running', async () => {
    const sandbox = await startSandbox({ timeScale: 0.02 });
    const elbv2 = sandbox.services.elbv2;
    let app: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      const ctx = { requestId: 'r', region: 'us-east-1', accountId: '000000000000' };
      const lb: any = await elbv2.handlers.CreateLoadBalancer!({ Name: 'stop-alb', Subnets: ['s-1'] }, ctx);
      const tg: any = await elbv2.handlers.CreateTargetGroup!(
        {
          Name: 'stop-tg',
          Protocol: 'HTTP',
          Port: 80,
          VpcId: 'vpc-1',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 5,
          HealthCheckTimeoutSeconds: 2,
        },
        ctx,
      );
      const tgArn = tg.TargetGroups[0].TargetGroupArn;
      await elbv2.handlers.CreateListener!(
        {
          LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
          Protocol: 'HTTP',
          Port: 80,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
        },
        ctx,
      );
      const instance = await sandbox.services.fleet.launch();
      app = await startApp('stop', instance.port);
      let healthChecks = 0;
      app.server.on('request', (req) => {
        if (req.url === '/health') healthChecks++;
      });
      elbv2.registerTargets(tgArn, [{ Id: instance.instanceId }]);
      await elbv2.waitForHealthy(tgArn, [instance.instanceId], undefined, { timeoutMs: 10_000 });
      expect((await viaLb(sandbox, lb.LoadBalancers[0].DNSName)).status).toBe(200);
      await sandbox.stop();
      const checksAtStop = healthChecks;
      await new Promise((r) => setTimeout(r, 400)); // four intervals
      expect(healthChecks).toBe(checksAtStop);
      const connections = await new Promise<number>((resolve, reject) =>
        app!.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
      expect(connections).toBe(0);
    } finally {
      await sandbox.stop();
      await app?.close();
    }
  });
});
