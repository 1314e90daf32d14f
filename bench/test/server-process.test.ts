import { describe, expect, it } from 'vitest';
import { startMoto } from '../lib/moto.ts';
import { freePort, isListening } from '../lib/ports.ts';
import { startServerProcess } from '../lib/server-process.ts';
import { Wire } from '../lib/wire.ts';

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

const HTTP_SERVER = (port: number) =>
  `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;

describe('server processes started by the bench', () => {
  it('ends the whole process group (a wrapper and its children) and frees the port', async () => {
    const port = await freePort();
    // A shell wrapper with a server child and another child, like a pyenv shim in front of moto_server.
    const server = await startServerProcess(
      'sh',
      ['-c', `"${process.execPath}" -e "${HTTP_SERVER(port)}" & sleep 600 & wait`],
      { port, timeoutMs: 10_000, ready: () => isListening(port) },
    );
    expect(server.readyMs).toBeGreaterThan(0);
    expect(groupAlive(server.pid)).toBe(true);
    await server.stop();
    await server.stop(); // idempotent
    expect(await isListening(port)).toBe(false);
    expect(groupAlive(server.pid)).toBe(false);
  });

  it('names the command, its exit code and stderr when it dies before answering', async () => {
    const port = await freePort();
    await expect(
      startServerProcess(process.execPath, ['-e', 'console.error("boom: bad flag"); process.exit(3)'], {
        port,
        timeoutMs: 10_000,
        ready: () => isListening(port),
      }),
    ).rejects.toThrow(/exited \(3\) before answering on port \d+: boom: bad flag/);
  });

  it('gives up at the deadline and leaves nothing running', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await startServerProcess('sleep', ['30'], {
      port,
      timeoutMs: 300,
      ready: async () => false,
    }).catch((e: Error) => e);
    expect(String(error)).toMatch(/sleep did not answer on port \d+ within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('starts moto_server on a free port, answers an API call, and stops it with its port', async () => {
    const moto = await startMoto();
    const wire = new Wire(moto.endpoint, 1);
    try {
      const r = await wire.json('codedeploy', 'CodeDeploy_20141006.ListApplications', {});
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ applications: [] });
    } finally {
      await wire.close();
      await moto.stop();
    }
    expect(await isListening(moto.port)).toBe(false);
    expect(groupAlive(moto.pid)).toBe(false);
  });
});
