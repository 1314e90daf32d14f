/**
 * The sandbox as a process (`codepipeline-harness sandbox`, the dev path `node src/cli.ts sandbox`) answers its
 * first API call through the real SDK, on a first start (empty compile cache) and on the next one (the cache the
 * CLI enabled is filled and used), and leaves nothing behind when it stops. How fast it answers is the bench's
 * business (`npm run bench -- --only cold-start`), not a test's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodePipelineClient, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  endpoint: string;
  exit: Promise<number | null>;
}

/** Starts the CLI sandbox with `tmp` as its temp dir (its data dir and Node's default compile cache live there). */
async function startCli(tmp: string): Promise<Started> {
  const { NODE_COMPILE_CACHE: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [cli, 'sandbox', '--port', '0'], {
    env: { ...env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const endpoint = await poll(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], {
    timeout: 30_000,
    interval: { min: 20, max: 100 },
    isDone: (url) => url !== undefined || child.exitCode !== null,
    what: 'the CLI sandbox to print its endpoint',
  });
  if (!endpoint) throw new Error(`the CLI sandbox exited (${child.exitCode}) before listening: ${out}`);
  return { child, endpoint, exit };
}

async function listPipelines(endpoint: string): Promise<number> {
  const client = new CodePipelineClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const answer = await client.send(new ListPipelinesCommand({}));
    expect(answer.pipelines).toEqual([]);
    return answer.$metadata.httpStatusCode ?? 0;
  } finally {
    client.destroy();
  }
}

describe('the sandbox started as a process', () => {
  it('answers its first call on a first start and on the next (compile cache filled), and stops clean', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cph-cold-start-'));
    dirs.push(tmp);
    for (const start of ['first', 'second']) {
      const sandbox = await startCli(tmp);
      expect(await listPipelines(sandbox.endpoint), `${start} start`).toBe(200);
      sandbox.child.kill('SIGTERM');
      expect(await sandbox.exit, `${start} start's exit code`).toBe(0);
      // The sandbox removed its own data dir; what stays is Node's compile cache, which the CLI enabled.
      expect(readdirSync(tmp), `${start} start`).toEqual(['node-compile-cache']);
      const port = Number(new URL(sandbox.endpoint).port);
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    }
    const cache = join(tmp, 'node-compile-cache');
    expect(readdirSync(cache, { recursive: true }).length).toBeGreaterThan(1);
  }, 90_000);
});
