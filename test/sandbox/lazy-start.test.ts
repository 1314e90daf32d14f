/**
 * What a sandbox defers past its start, so that started as a process it answers its first call sooner (issue 16,
 * item 4; `npm run bench -- --only cold-start` measures it): a service's botocore model is read by the first call
 * to that service, and the watchdog process starts before the first process group or shortly after the sandbox
 * listens. The behaviour stays the same: routing without the models, the same answers, and a model that cannot
 * be read fails its calls with the sandbox's 500, never the start, never a hang.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CodeCommitClient, ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import { CodePipelineClient, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type Sandbox, signSandboxRequest, startSandbox } from '../../src/sandbox/index.ts';
import { SERVICE_ROUTING, type ServiceModel } from '../../src/sandbox/protocol/model.ts';
import type { ServiceName } from '../../src/sandbox/types.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';

/** The model files read through node:fs (by name), and the ones made to fail. */
const fsWatch = vi.hoisted(() => ({ read: [] as string[], broken: new Set<string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((path: Parameters<typeof fs.readFileSync>[0], ...rest: unknown[]) => {
    const name = String(path);
    if (/protocol[\\/]models[\\/][^\\/]+\.json$/.test(name)) {
      fsWatch.read.push(name.replace(/^.*[\\/]/, ''));
      if (fsWatch.broken.has(name.replace(/^.*[\\/]/, ''))) {
        throw Object.assign(new Error(`EIO: i/o error, open '${name}'`), { code: 'EIO' });
      }
    }
    return (fs.readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const MODELS = join(import.meta.dirname, '..', '..', 'src', 'sandbox', 'protocol', 'models');

const sandboxes: Sandbox[] = [];
const dirs: string[] = [];
const internalErrors: string[] = [];

beforeEach(() => {
  fsWatch.read.length = 0;
  fsWatch.broken.clear();
});

afterEach(async () => {
  for (const sb of sandboxes.splice(0)) await sb.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  internalErrors.length = 0;
});

async function sandbox(options: { dataDir?: string; watchdog?: boolean } = {}): Promise<Sandbox> {
  const sb = await startSandbox({
    watchdog: false,
    ...options,
    onInternalError: (_e, where) => internalErrors.push(where),
  });
  sandboxes.push(sb);
  return sb;
}

function codepipeline(sb: Sandbox): CodePipelineClient {
  return new CodePipelineClient({
    endpoint: sb.endpoint,
    region: 'us-east-1',
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  });
}

describe('service models', () => {
  it('route by a table equal to every model’s metadata (protocol, target prefix, API version)', () => {
    const files = readdirSync(MODELS).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    const fromModels = Object.fromEntries(
      files.map((f) => {
        const { protocol, targetPrefix, apiVersion } = (
          JSON.parse(readFileSync(join(MODELS, f), 'utf8')) as ServiceModel
        ).metadata;
        return [basename(f, '.json'), { protocol, apiVersion, ...(targetPrefix ? { targetPrefix } : {}) }];
      }),
    );
    expect(SERVICE_ROUTING).toEqual(fromModels);
  });

  it('are not read to start; the first call to a service reads its model, once', async () => {
    const sb = await sandbox();
    expect(fsWatch.read).not.toContain('codepipeline.json');
    expect(fsWatch.read).not.toContain('elbv2.json');
    const client = codepipeline(sb);
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await client.send(new ListPipelinesCommand({}));
        expect(answer.pipelines).toEqual([]);
      }
    } finally {
      client.destroy();
    }
    // Each test file runs in its own module graph: nothing read this model before this sandbox.
    expect(fsWatch.read.filter((f) => f === 'codepipeline.json')).toHaveLength(1);
    const others = fsWatch.read.filter(
      (f) => !['codebuild.json', 'logs.json', 'codepipeline.json'].includes(f),
    );
    expect(others, 'models read besides those of the services called or built').toEqual([]);
  });

  it('that cannot be read fail that service’s calls with a 500 naming the model, every time; others answer', async () => {
    // A name no earlier test loaded (models are cached per process): make its first read fail.
    const broken: ServiceName = 'sqs';
    fsWatch.broken.add(`${broken}.json`);
    const sb = await sandbox();
    for (let i = 0; i < 2; i++) {
      const response = await fetchSigned(
        sb,
        'AmazonSQS.ListQueues',
        '{}',
        'sqs',
        'application/x-amz-json-1.0',
      );
      expect(response.status).toBe(500);
      const body = (await response.json()) as { __type?: string; message?: string };
      expect(body.__type).toMatch(/InternalFailure/);
      expect(body.message).toMatch(/cannot load the sqs service model from .*sqs\.json/);
    }
    expect(internalErrors).toEqual(['dispatch', 'dispatch']);
    const codecommit = new CodeCommitClient({
      endpoint: sb.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      expect((await codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
    } finally {
      codecommit.destroy();
    }
  });
});

describe('the watchdog', () => {
  it('starts by itself shortly after the sandbox listens, and exits with it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cph-lazy-start-'));
    dirs.push(dataDir);
    const sb = await sandbox({ dataDir, watchdog: true });
    const record = join(dataDir, 'processes', 'watchdog.json');
    expect(existsSync(record)).toBe(false);
    const pid = await poll(() => (existsSync(record) ? readRecordPid(record) : undefined), {
      timeout: 15_000,
      isDone: (p) => p !== undefined,
      what: 'the watchdog to write watchdog.json',
    });
    expect(() => process.kill(pid!, 0)).not.toThrow();
    await sb.stop();
    await poll(() => isAlive(pid!), { timeout: 10_000, isDone: (a) => !a, what: `watchdog ${pid} to exit` });
  }, 30_000);

  it('starts before the first process group the sandbox spawns', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cph-lazy-start-'));
    dirs.push(dataDir);
    const sb = await sandbox({ dataDir, watchdog: true });
    const child = sb.runtime.processes.spawn('instance:i-0lazy', 'sleep', ['30'], { stdio: 'ignore' });
    // The watchdog was spawned first: its pid is lower than the group's unless pids wrapped (not within a test).
    const record = join(dataDir, 'processes', 'watchdog.json');
    const pid = await poll(() => (existsSync(record) ? readRecordPid(record) : undefined), {
      timeout: 15_000,
      isDone: (p) => p !== undefined,
      what: 'the watchdog to write watchdog.json',
    });
    expect(pid!).toBeLessThan(child.pid!);
    await sb.stop();
    expect(isAlive(child.pid!)).toBe(false);
  }, 30_000);
});

function readRecordPid(file: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined; // being written
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A SigV4-signed JSON call through the sandbox's own signer (as an SDK sends it). */
async function fetchSigned(
  sb: Sandbox,
  target: string,
  body: string,
  service: string,
  contentType: string,
): Promise<Response> {
  const headers = await signSandboxRequest(
    {
      method: 'POST',
      url: `${sb.endpoint}/`,
      headers: { 'content-type': contentType, 'x-amz-target': target },
      body,
    },
    { service, region: 'us-east-1', credentials: sb.credentials },
  );
  return fetch(`${sb.endpoint}/`, { method: 'POST', headers, body });
}
