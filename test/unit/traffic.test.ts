import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NotLiveError } from '../../src/errors.ts';
import { poll } from '../../src/poll.ts';
import { checkLive, expectLive } from '../../src/traffic/live.ts';
import { probeTraffic, summarize } from '../../src/traffic/probe.ts';
import { healthyTargetIds, targetsBehind } from '../../src/traffic/targets.ts';
import { loadBalancerUrl } from '../../src/traffic/url.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** An app instance as the sample app answers: headers x-app-version and x-instance-id. */
function instance(id: string, version: () => string) {
  return listen((_req, res) => {
    res.writeHead(200, {
      'x-app-version': version(),
      'x-instance-id': id,
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ version: version(), instanceId: id }));
  });
}

/** A round-robin front like the load balancer's data plane. */
async function roundRobin(ports: number[]): Promise<number> {
  let next = 0;
  return listen((req, res) => {
    const port = ports[next++ % ports.length]!;
    const upstream = httpRequest({ host: '127.0.0.1', port, path: req.url, method: req.method }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    upstream.end();
  });
}

describe('probeTraffic', () => {
  it('reports failures by kind, the longest outage and the versions over time of a scripted server', async () => {
    let phase: 'v1' | '503' | 'reset' | 'v2' = 'v1';
    const port = await listen((req, res) => {
      if (phase === 'reset') {
        req.socket.destroy();
        return;
      }
      if (phase === '503') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('no healthy targets');
        return;
      }
      res.writeHead(200, { 'x-app-version': phase, 'x-instance-id': 'i-0aaa' });
      res.end(phase);
    });
    // The name resolves through the harness's *.localhost lookup, as the sandbox's ALB names do.
    const probe = probeTraffic(`http://demo-alb-1234.elb.localhost:${port}/`, { intervalMs: 10 });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await wait(150);
    phase = '503';
    await wait(150);
    phase = 'reset';
    await wait(100);
    phase = 'v2';
    await wait(150);
    const report = await probe.stop();
    expect(report.requests).toBeGreaterThan(20);
    expect(report.failures.status5xx).toBeGreaterThan(2);
    expect(report.failures.connect).toBeGreaterThan(0);
    expect(report.failures.total).toBe(report.requests - report.ok);
    expect(report.versions.map((v) => v.version)).toEqual(['v1', 'v2']);
    expect(report.outages).toHaveLength(1);
    expect(report.longestOutageMs).toBeGreaterThanOrEqual(200);
    expect(report.longestOutageMs).toBeLessThan(1000);
    expect(report.mixedVersionWindowMs).toBe(0);
    // stop() is idempotent and nothing is sent after it.
    const count = probe.samples.length;
    expect(await probe.stop()).toBe(report);
    await wait(50);
    expect(probe.samples.length).toBe(count);
  });

  it('measures the window in which two versions were served', () => {
    const t = (ms: number) => new Date(1_000_000 + ms);
    const ok = (ms: number, version: string) => ({
      at: t(ms),
      ms: 1,
      kind: 'ok' as const,
      status: 200,
      version,
    });
    const report = summarize(
      'http://x/',
      [ok(0, 'v1'), ok(100, 'v2'), ok(200, 'v1'), ok(300, 'v2'), ok(400, 'v1'), ok(500, 'v2')],
      t(0),
      t(600),
    );
    expect(report.mixedVersionWindowMs).toBe(300);
    expect(report.versions).toHaveLength(6);
    expect(report.longestOutageMs).toBe(0);
  });
});

describe('checkLive / expectLive', () => {
  it('proves the version on every target, with the evidence of who answered what', async () => {
    const a = await instance('i-0aaa', () => 'v2');
    const b = await instance('i-0bbb', () => 'v2');
    const front = await roundRobin([a, b]);
    const result = await expectLive(`http://127.0.0.1:${front}/`, 'v2', {
      consecutive: 4,
      expectedTargets: ['i-0aaa', 'i-0bbb'],
      intervalMs: 5,
      timeout: 5000,
    });
    expect(result.live).toBe(true);
    expect(result.instances).toEqual({ 'i-0aaa': 'v2', 'i-0bbb': 'v2' });
    expect(new Set(result.evidence.map((e) => e.instanceId))).toEqual(new Set(['i-0aaa', 'i-0bbb']));
    expect(result.evidence[0]).toMatchObject({ kind: 'ok', status: 200, version: 'v2' });
  });

  it('fails naming the instance that still serves the old version', async () => {
    const a = await instance('i-0aaa', () => 'v2');
    const b = await instance('i-0bbb', () => 'v1');
    const front = await roundRobin([a, b]);
    const url = `http://127.0.0.1:${front}/`;
    const result = await checkLive(url, 'v2', {
      consecutive: 3,
      expectedTargets: 2,
      intervalMs: 5,
      timeout: 200,
    });
    expect(result.live).toBe(false);
    expect(result.reason).toContain('still serving another version: i-0bbb=v1');
    const error = (await expectLive(url, 'v2', {
      consecutive: 3,
      expectedTargets: 2,
      intervalMs: 5,
      timeout: 200,
    }).catch((e: unknown) => e)) as NotLiveError;
    expect(error).toBeInstanceOf(NotLiveError);
    expect(error.evidence.length).toBeGreaterThan(3);
    expect(error.message).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/ does not serve v2: [01]\/3 good answers in a row after 200ms; still serving another version: i-0bbb=v1; not seen serving it: [12] of 2 targets; last answers: .*i-0bbb v1 200/,
    );
  });

  it('turns the version live once the deployment reaches the second instance', async () => {
    let bVersion = 'v1';
    const a = await instance('i-0aaa', () => 'v2');
    const b = await instance('i-0bbb', () => bVersion);
    const front = await roundRobin([a, b]);
    setTimeout(() => {
      bVersion = 'v2';
    }, 100);
    const result = await checkLive(`http://127.0.0.1:${front}/`, 'v2', {
      consecutive: 4,
      expectedTargets: 2,
      intervalMs: 5,
      timeout: 5000,
    });
    expect(result.live).toBe(true);
    expect(result.evidence.some((e) => e.version === 'v1')).toBe(true);
  });
});

describe('loadBalancerUrl', () => {
  const elb = mockClient(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }));
  afterEach(() => elb.reset());
  const client = elb as unknown as ElasticLoadBalancingV2Client;

  it('uses the sandbox edge port for *.elb.localhost names', async () => {
    elb.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        { LoadBalancerName: 'demo', LoadBalancerArn: 'arn:lb', DNSName: 'demo-123.elb.localhost' },
      ],
    });
    elb.on(DescribeListenersCommand).resolves({ Listeners: [{ Port: 80, Protocol: 'HTTP' }] });
    expect(await loadBalancerUrl(client, 'demo', { endpoint: 'http://127.0.0.1:4566' })).toBe(
      'http://demo-123.elb.localhost:4566/',
    );
  });

  it('uses DNSName and the listener port on AWS', async () => {
    elb.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [{ LoadBalancerArn: 'arn:lb', DNSName: 'demo-1.us-east-1.elb.amazonaws.com' }],
    });
    elb.on(DescribeListenersCommand).resolves({
      Listeners: [
        { Port: 8080, Protocol: 'HTTP' },
        { Port: 80, Protocol: 'HTTP' },
      ],
    });
    expect(await loadBalancerUrl(client, 'demo', { port: 80 })).toBe(
      'http://demo-1.us-east-1.elb.amazonaws.com/',
    );
    expect(await loadBalancerUrl(client, 'demo')).toBe('http://demo-1.us-east-1.elb.amazonaws.com:8080/');
  });

  it('names the load balancer that does not exist', async () => {
    elb
      .on(DescribeLoadBalancersCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'LoadBalancerNotFoundException' }));
    await expect(loadBalancerUrl(client, 'nope')).rejects.toThrow(/load balancer nope not found/);
  });
});

describe('targetsBehind', () => {
  const elb = mockClient(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }));
  afterEach(() => elb.reset());
  const client = elb as unknown as ElasticLoadBalancingV2Client;

  it('lists the targets of every group the listeners forward to, with their health', async () => {
    elb.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [{ LoadBalancerArn: 'arn:lb' }] });
    elb.on(DescribeListenersCommand).resolves({
      Listeners: [
        { DefaultActions: [{ Type: 'forward', TargetGroupArn: 'arn:tg/blue' }] },
        {
          DefaultActions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [{ TargetGroupArn: 'arn:tg/blue' }, { TargetGroupArn: 'arn:tg/green' }],
              },
            },
          ],
        },
      ],
    });
    elb.on(DescribeTargetHealthCommand, { TargetGroupArn: 'arn:tg/blue' }).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: 'i-1', Port: 80 }, TargetHealth: { State: 'healthy' } },
        {
          Target: { Id: 'i-2', Port: 80 },
          TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' },
        },
      ],
    });
    elb.on(DescribeTargetHealthCommand, { TargetGroupArn: 'arn:tg/green' }).resolves({
      TargetHealthDescriptions: [{ Target: { Id: 'i-3', Port: 80 }, TargetHealth: { State: 'healthy' } }],
    });
    const targets = await targetsBehind(client, 'demo');
    expect(targets.map((t) => `${t.id}:${t.state}`)).toEqual(['i-1:healthy', 'i-2:draining', 'i-3:healthy']);
    expect(await healthyTargetIds(client, 'demo')).toEqual(['i-1', 'i-3']);
    expect(elb.commandCalls(DescribeTargetHealthCommand)).toHaveLength(4);
  });
});

describe('a URL that redirects (HTTP to HTTPS)', () => {
  const redirecting = () =>
    listen((_req, res) => {
      res.writeHead(301, { location: 'https://app.example.com/version' });
      res.end();
    });

  it('is never live: a redirect is not a version answer, and the reason says to set HARNESS_APP_URL', async () => {
    const port = await redirecting();
    const result = await checkLive(`http://127.0.0.1:${port}/`, 'v1', { timeout: 300, intervalMs: 20 });
    expect(result.live).toBe(false);
    expect(result.evidence[0]).toMatchObject({
      kind: 'redirect',
      status: 301,
      location: 'https://app.example.com/version',
    });
    expect(result.reason).toMatch(/last answers: redirect 301 to https:\/\/app\.example\.com\/version/);
    expect(result.reason).toMatch(/redirects instead of answering: set HARNESS_APP_URL \(appUrl\)/);
  });

  it('counts in the traffic probe as failed answers of kind redirect, not as good ones', async () => {
    const port = await redirecting();
    const probe = probeTraffic(`http://127.0.0.1:${port}/`, { intervalMs: 10 });
    await poll(async () => probe.samples.length, { timeout: 5000, isDone: (n) => n >= 3, what: '3 samples' });
    const report = await probe.stop();
    expect(report.ok).toBe(0);
    expect(report.failures.redirect).toBe(report.requests);
    expect(report.failures.total).toBe(report.requests);
  });
});
