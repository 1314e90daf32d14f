import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSandboxCommand } from '../../src/sandbox/cli.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { rawRequest } from './helpers/http.ts';

async function run(argv: string[], signal?: AbortSignal, onReady?: (s: Sandbox) => void) {
  let out = '';
  let err = '';
  const code = await runSandboxCommand(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal,
    onReady,
  });
  return { code, out, err };
}

describe('codepipeline-harness sandbox', () => {
  it('refuses bad flags with exit code 2 and a message naming the flag', async () => {
    const badPort = await run(['--port', 'abc']);
    expect(badPort.code).toBe(2);
    expect(badPort.err).toContain("--port must be a whole number 0..65535 (0 = a free port), got 'abc'");
    const unknown = await run(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown option '--bogus'/);
    expect(unknown.err).toContain('Usage: codepipeline-harness sandbox');
    const badScale = await run(['--time-scale', '0']);
    expect(badScale.code).toBe(2);
    expect(badScale.err).toContain('--time-scale must be a number > 0');
    expect((await run(['--help'])).out).toContain('--time-scale X');
  });

  it('runs in the foreground, prints the endpoint and an aws example, and stops on request', async () => {
    const controller = new AbortController();
    let endpoint = '';
    const result = await run(['--port', '0', '--time-scale', '0.01'], controller.signal, (sandbox) => {
      endpoint = sandbox.endpoint;
      rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/health' }).then(
        (r) => {
          expect(r.status).toBe(200);
          controller.abort();
        },
        () => controller.abort(),
      );
    });
    expect(result.code).toBe(0);
    expect(result.out).toContain(`Sandbox listening on ${endpoint}`);
    expect(result.out).toContain(`aws --endpoint-url ${endpoint} codepipeline list-pipelines`);
    expect(result.out).toContain('Sandbox stopped.');
  });

  it('stops cleanly on SIGTERM as a real process', async () => {
    const entry = pathToFileURL(join(import.meta.dirname, '../../src/sandbox/cli.ts')).href;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runSandboxCommand } from '${entry}'; process.exitCode = await runSandboxCommand(['--port', '0']);`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no endpoint printed within 20 s; output so far: ${out}`)),
        20_000,
      );
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect((await rawRequest(endpoint, { method: 'GET', path: '/_sandbox/health' })).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('Sandbox stopped.');
    await expect(
      rawRequest(endpoint, { method: 'GET', path: '/_sandbox/health', timeoutMs: 2000 }),
    ).rejects.toThrow();
  });
});
