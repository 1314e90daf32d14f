/**
 * The ALB health checker: the matcher, one check against real local servers (pass, code mismatch, timeout,
 * refused), the state machine, and the transitions a real target goes through in the sandbox, seen through
 * DescribeTargetHealth and the event log.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type TargetHealth,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { Clock } from '../../src/sandbox/clock.ts';
import { applyCheck, checkOnce, parseHttpCodeMatcher } from '../../src/sandbox/elbv2/health.ts';
import type { HealthCheckSettings, TargetRecord } from '../../src/sandbox/elbv2/store.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { createLoadBalancer, ELBV2_TEST_HEALTH_CHECK } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

/** A real target: answers `/health` with `status.code` (or never, when `hang`), `/` with 200. */
async function startTarget(port = 0) {
  const state = { code: 200, hang: false, healthHits: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      state.healthHits++;
      if (state.hang) return;
      res.writeHead(state.code).end(String(state.code));
      return;
    }
    res.writeHead(200).end('ok');
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    state,
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Polls `fn` every 25 ms until it returns a value (an error counts as not yet), failing with the last error seen
 * after `timeoutMs`.
 */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const seen = await poll(
    async (): Promise<{ value?: T; error?: unknown }> => {
      try {
        return { value: await fn() };
      } catch (error) {
        return { error };
      }
    },
    {
      timeout: timeoutMs,
      isDone: (s) => s.value !== undefined,
      describe: (s) =>
        s.value !== undefined ? 'reached' : s.error ? `error: ${String(s.error)}` : 'not yet',
      what,
      interval: { min: 25, max: 25 },
    },
  );
  return seen.value!;
}

const HC: HealthCheckSettings = {
  protocol: 'HTTP',
  port: 'traffic-port',
  path: '/health',
  enabled: true,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  healthyThreshold: 3,
  unhealthyThreshold: 2,
  matcher: '200',
};

describe('health check matcher', () => {
  it('accepts codes, lists and ranges within 200-499', () => {
    const m = parseHttpCodeMatcher('200-299,302');
    expect([200, 250, 299, 302].map(m)).toEqual([true, true, true, true]);
    expect([301, 303, 404, 500].map(m)).toEqual([false, false, false, false]);
    expect(parseHttpCodeMatcher('200,202')(202)).toBe(true);
  });

  it('names the bad part of a malformed matcher', () => {
    expect(() => parseHttpCodeMatcher('200-600')).toThrowError(/'200-600' must be within 200-499/);
    expect(() => parseHttpCodeMatcher('200,ok')).toThrowError(/'ok' is not a code or a range/);
  });
});

describe('one health check against a real server', () => {
  const clock = new Clock(1);
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('passes on a matching code, and reports ResponseCodeMismatch with the code otherwise', async () => {
    const target = await startTarget();
    servers.push(target);
    const check = (matcher: string) =>
      checkOnce({
        address: { host: '127.0.0.1', port: target.port },
        path: '/health',
        matcher,
        timeoutMs: 2000,
        clock,
        signal: new AbortController().signal,
      });
    expect(await check('200')).toEqual({ ok: true, status: 200 });
    target.state.code = 500;
    expect(await check('200')).toEqual({
      ok: false,
      reason: 'Target.ResponseCodeMismatch',
      description: 'Health checks failed with these codes: [500]',
    });
  });

  it('reports Target.Timeout when the target does not answer in time', async () => {
    const target = await startTarget();
    servers.push(target);
    target.state.hang = true;
    const started = Date.now();
    const result = await checkOnce({
      address: { host: '127.0.0.1', port: target.port },
      path: '/health',
      matcher: '200',
      timeoutMs: 150,
      clock,
      signal: new AbortController().signal,
    });
    expect(result).toEqual({ ok: false, reason: 'Target.Timeout', description: 'Request timed out' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports Target.FailedHealthChecks when the connection is refused', async () => {
    const target = await startTarget();
    const port = target.port;
    await target.close();
    const result = await checkOnce({
      address: { host: '127.0.0.1', port },
      path: '/health',
      matcher: '200',
      timeoutMs: 2000,
      clock,
      signal: new AbortController().signal,
    });
    expect(result).toEqual({
      ok: false,
      reason: 'Target.FailedHealthChecks',
      description: 'Health checks failed',
    });
  });
});

describe('target state machine', () => {
  const fresh = (): TargetRecord => ({ id: 'i-1', port: 80, state: 'initial', passes: 0, failures: 0 });
  const pass = { ok: true, status: 200 } as const;
  const fail = {
    ok: false,
    reason: 'Target.ResponseCodeMismatch',
    description: 'Health checks failed with these codes: [500]',
  } as const;

  it('turns a new target healthy after one passing check (the ALB guide rule)', () => {
    const t = fresh();
    expect(applyCheck(t, pass, HC)).toBe(true);
    expect(t.state).toBe('healthy');
  });

  it('needs UnhealthyThresholdCount failures to go unhealthy and HealthyThresholdCount passes to come back', () => {
    const t = fresh();
    applyCheck(t, pass, HC);
    applyCheck(t, fail, HC);
    expect(t.state).toBe('healthy');
    applyCheck(t, fail, HC);
    expect(t).toMatchObject({ state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' });
    applyCheck(t, pass, HC);
    applyCheck(t, pass, HC);
    expect(t.state).toBe('unhealthy');
    applyCheck(t, pass, HC);
    expect(t.state).toBe('healthy');
    expect(t.reason).toBeUndefined();
  });

  it('keeps a failing new target initial (InitialHealthChecking) until the unhealthy threshold', () => {
    const t = fresh();
    applyCheck(t, fail, HC);
    expect(t).toMatchObject({ state: 'initial', reason: 'Elb.InitialHealthChecking' });
    applyCheck(t, fail, HC);
    expect(t.state).toBe('unhealthy');
  });
});

describe('health transitions of a real target in the sandbox', () => {
  // 10 s interval → 200 ms, 5 s timeout → 100 ms, 30 s deregistration delay → 600 ms.
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });
  const elb = () => sb.clients.elbv2;
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function stack(name: string) {
    const tgArn = (
      await createLoadBalancer(elb(), {
        name: `${name}-alb`,
        targetGroupName: `${name}-tg`,
        ...ELBV2_TEST_HEALTH_CHECK,
      })
    ).targetGroupArn;
    const instance = await sb.sandbox.services.fleet.launch();
    const target = await startTarget(instance.port);
    servers.push(target, { close: () => sb.sandbox.services.fleet.terminate(instance.instanceId) });
    return { tgArn, instance, target };
  }

  const healthOf = async (tgArn: string): Promise<TargetHealth | undefined> =>
    (await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn })))
      .TargetHealthDescriptions?.[0]?.TargetHealth;

  it('goes initial → healthy → unhealthy (ResponseCodeMismatch) → healthy, logging each change', async () => {
    const { tgArn, instance, target } = await stack('flip');
    const seqBefore = sb.sandbox.runtime.events.since().at(-1)?.seq ?? 0;
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    expect((await healthOf(tgArn))?.State).toBe('initial');
    await until('healthy', async () => ((await healthOf(tgArn))?.State === 'healthy' ? true : undefined));
    expect(await healthOf(tgArn)).toEqual({ State: 'healthy' });
    target.state.code = 503;
    const unhealthy = await until('unhealthy', async () => {
      const h = await healthOf(tgArn);
      return h?.State === 'unhealthy' ? h : undefined;
    });
    expect(unhealthy).toEqual({
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [503]',
    });
    target.state.code = 200;
    await until('healthy again', async () =>
      (await healthOf(tgArn))?.State === 'healthy' ? true : undefined,
    );
    const events = sb.sandbox.runtime.events
      .since(seqBefore)
      .filter((e) => e.service === 'elbv2' && e.kind === 'targetHealth' && e.targetId === instance.instanceId)
      .map((e) => `${e.status}${e.detail ? `:${e.detail}` : ''}`);
    expect(events).toEqual([
      'initial:Elb.RegistrationInProgress',
      'healthy',
      'unhealthy:Target.ResponseCodeMismatch',
      'healthy',
    ]);
  });

  it('reports Target.Timeout for a target that hangs, and drains a deregistered target for the delay', async () => {
    const { tgArn, instance, target } = await stack('drain');
    target.state.hang = true;
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    const timedOut = await until('timeout', async () => {
      const h = await healthOf(tgArn);
      return h?.State === 'unhealthy' ? h : undefined;
    });
    expect(timedOut).toEqual({
      State: 'unhealthy',
      Reason: 'Target.Timeout',
      Description: 'Request timed out',
    });
    target.state.hang = false;
    await sb.sandbox.services.elbv2.waitForHealthy(tgArn, [instance.instanceId]);
    const started = Date.now();
    await elb().send(
      new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    expect(await healthOf(tgArn)).toEqual({
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
      Description: 'Target deregistration is in progress',
    });
    await sb.sandbox.services.elbv2.waitForDrained(tgArn, [instance.instanceId]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550); // 30 s × 0.02
    expect(await healthOf(tgArn)).toBeUndefined();
  });

  it('offers the internal API other services use: find, register, health, deregister', async () => {
    const { tgArn, instance } = await stack('api');
    const elbv2 = sb.sandbox.services.elbv2;
    const found = elbv2.findTargetGroupByName('api-tg');
    expect(found).toMatchObject({
      TargetGroupArn: tgArn,
      arn: tgArn,
      Port: 80,
      DeregistrationDelaySeconds: 30,
    });
    expect(found?.LoadBalancerArns).toHaveLength(1);
    expect(elbv2.findTargetGroupByName('nope')).toBeUndefined();
    elbv2.registerTargets(tgArn, [{ Id: instance.instanceId }]);
    expect(elbv2.targetHealth(tgArn)).toEqual([
      {
        id: instance.instanceId,
        port: 80,
        state: 'initial',
        reason: 'Elb.RegistrationInProgress',
        description: 'Target registration is in progress',
      },
    ]);
    const healthy = await elbv2.waitForHealthy(tgArn, [instance.instanceId]);
    expect(healthy).toEqual([{ id: instance.instanceId, port: 80, state: 'healthy' }]);
    expect(() => elbv2.registerTargets(tgArn, [{ Id: 'i-0000000000000dead' }])).toThrowError(
      expect.objectContaining({ code: 'InvalidTarget' }),
    );
    elbv2.deregisterTargets(tgArn, [{ Id: instance.instanceId }]);
    expect(elbv2.targetHealth(tgArn)[0]?.state).toBe('draining');
    const aborted = new AbortController();
    const wait = elbv2.waitForDrained(tgArn, [instance.instanceId], aborted.signal);
    aborted.abort(new Error('caller gave up'));
    await expect(wait).rejects.toThrowError('caller gave up');
    await elbv2.waitForDrained(tgArn, [instance.instanceId]);
    expect(elbv2.targetHealth(tgArn)).toEqual([]);
  });

  it('satisfies the AWS CLI waiters target-in-service and target-deregistered', async () => {
    const { tgArn, instance } = await stack('waiter');
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    await sb.sandbox.services.elbv2.waitForHealthy(tgArn, [instance.instanceId]);
    const targets = ['--target-group-arn', tgArn, '--targets', `Id=${instance.instanceId}`];
    const inService = await awsCli(sb.sandbox.endpoint, ['elbv2', 'wait', 'target-in-service', ...targets]);
    expect(inService).toMatchObject({ code: 0, stderr: '' });
    await elb().send(
      new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    await sb.sandbox.services.elbv2.waitForDrained(tgArn, [instance.instanceId]);
    const deregistered = await awsCli(sb.sandbox.endpoint, [
      'elbv2',
      'wait',
      'target-deregistered',
      ...targets,
    ]);
    expect(deregistered).toMatchObject({ code: 0, stderr: '' });
  });

  it('fails a wait for health after its deadline with the state it last saw', async () => {
    const { tgArn, instance, target } = await stack('wait');
    target.state.code = 500;
    await elb().send(
      new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: [{ Id: instance.instanceId }] }),
    );
    await expect(
      sb.sandbox.services.elbv2.waitForHealthy(tgArn, [instance.instanceId], undefined, { timeoutMs: 800 }),
    ).rejects.toThrowError(
      new RegExp(
        `not all healthy in time: ${instance.instanceId} unhealthy \\(Target.ResponseCodeMismatch\\)`,
      ),
    );
  });
});
