/**
 * The pieces of the overlapped live check: `checkLive` counting a running probe's answers (and sending requests
 * of its own only when the probe is silent), and `liveWhileEnding` leaving nothing running when the deployment
 * fails. Real HTTP on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLive } from '../../src/traffic/live.ts';
import { liveWhileEnding } from '../../src/traffic/overlap.ts';
import { probeTraffic } from '../../src/traffic/probe.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** Two instances behind one round-robin front, both serving `version`; counts the requests it got. */
async function front(version: string): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const server = createServer((_req, res) => {
    const id = `i-${n++ % 2}`;
    res.writeHead(200, { 'x-app-version': version, 'x-instance-id': id });
    res.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => n };
}

describe('checkLive with a probe running (seen)', () => {
  it("proves every target with the probe's answers, sending none of its own while they come", async () => {
    const app = await front('v2');
    const probe = probeTraffic(app.url, { intervalMs: 50 });
    try {
      const live = await checkLive(app.url, 'v2', {
        consecutive: 4,
        expectedTargets: ['i-0', 'i-1'],
        intervalMs: 50,
        seen: () => probe.samples,
        timeout: 10_000,
      });
      expect(live.live).toBe(true);
      expect(live.requests).toBe(0);
      expect(live.evidence.length).toBeGreaterThanOrEqual(4);
      expect(live.evidence.every((s) => probe.samples.includes(s))).toBe(true);
    } finally {
      await probe.stop();
    }
  });

  it('sends requests of its own when the probe has stopped', async () => {
    const app = await front('v2');
    const probe = probeTraffic(app.url, { intervalMs: 50 });
    await probe.stop();
    const before = app.requests();
    const live = await checkLive(app.url, 'v2', {
      consecutive: 2,
      expectedTargets: 2,
      intervalMs: 20,
      seen: () => probe.samples,
      timeout: 10_000,
    });
    expect(live.live).toBe(true);
    expect(live.requests).toBe(live.evidence.length);
    expect(app.requests() - before).toBe(live.requests);
  });
});

describe('liveWhileEnding', () => {
  it('aborts the live check and throws the deployment error when the deployment fails', async () => {
    const app = await front('v1');
    let liveSettled = false;
    const failure = new Error('deployment d-123 Failed');
    const run = liveWhileEnding({
      end: () => new Promise<never>((_, reject) => setTimeout(() => reject(failure), 100)),
      live: (signal) =>
        checkLive(app.url, 'v2', { intervalMs: 20, timeout: 60_000, signal }).finally(() => {
          liveSettled = true;
        }),
    });
    await expect(run).rejects.toBe(failure);
    expect(liveSettled).toBe(true);
  });

  it('resolves with both once both are done: the live result ready before the end', async () => {
    const app = await front('v2');
    const order: string[] = [];
    const { value, live } = await liveWhileEnding({
      end: async () => {
        await new Promise((r) => setTimeout(r, 300));
        order.push('end');
        return 'Succeeded';
      },
      live: async (signal) => {
        const result = await checkLive(app.url, 'v2', { consecutive: 2, intervalMs: 20, signal });
        order.push('live');
        return result;
      },
    });
    expect(value).toBe('Succeeded');
    expect(live.live).toBe(true);
    expect(order).toEqual(['live', 'end']);
  });
});
