/**
 * The sandbox as its own process (`node src/cli.ts sandbox`), so the bench's clients and the sandbox do not
 * share one event loop, as a harness and AWS never do; and its event log read over `/_sandbox/events`.
 *
 * @example
 * const sandbox = await startSandboxProcess({ timeScale: 0.02 });
 * const events = await fetchEvents(sandbox.endpoint, 0);
 * await sandbox.stop();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { signSandboxRequest } from '../../src/sandbox/auth/index.ts';
import type { SandboxEvent } from '../../src/sandbox/events.ts';
import { firstCallAnswered } from './moto.ts';
import { freePort } from './ports.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';
import { Wire } from './wire.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface SandboxProcess extends ServerProcess {
  readonly endpoint: string;
  /** The sandbox's data dir (repositories, instances, builds): the bench's own, removed by `stop()`. */
  readonly dataDir: string;
}

const dataDirs = new Set<string>();

/** Removes the data dir of every sandbox process not stopped through its own `stop()` (an abandoned section). */
export async function removeSandboxDataDirs(): Promise<void> {
  await Promise.allSettled([...dataDirs].map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
  dataDirs.clear();
}

/**
 * Starts the sandbox CLI on a free port with a data dir of the bench's own; resolves once it answers
 * ListPipelines. `stop()` ends its process group and removes the data dir, whatever the sandbox left in it.
 */
export async function startSandboxProcess(options: { timeScale?: number } = {}): Promise<SandboxProcess> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'cph-bench-'));
  dataDirs.add(dataDir);
  const wire = new Wire(endpoint, 1, 2000);
  const args = [CLI, 'sandbox', '--port', String(port), '--data-dir', dataDir];
  if (options.timeScale !== undefined) args.push('--time-scale', String(options.timeScale));
  let server: ServerProcess;
  try {
    server = await startServerProcess(process.execPath, args, {
      port,
      timeoutMs: 30_000,
      termGraceMs: 20_000,
      ready: () => firstCallAnswered(wire),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    dataDirs.delete(dataDir);
    throw error;
  } finally {
    await wire.close();
  }
  return {
    endpoint,
    dataDir,
    port: server.port,
    pid: server.pid,
    readyMs: server.readyMs,
    async stop() {
      try {
        await server.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
        dataDirs.delete(dataDir);
      }
    },
  };
}

/** The sandbox's events with `seq > after`, oldest first. */
export async function fetchEvents(endpoint: string, after = 0): Promise<SandboxEvent[]> {
  const url = new URL(`/_sandbox/events?after=${after}`, endpoint);
  // Control routes take the sandbox's credentials too (the bench's sandbox has the default test/test).
  const res = await request(url, {
    headers: await signSandboxRequest({ url }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`GET /_sandbox/events answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as SandboxEvent[];
}

/**
 * Follows the event log while started (one request every `intervalMs`), so the bench can react to an event
 * (start the reference pollers when a deployment is created) without touching the AWS API.
 */
export class EventTail {
  readonly events: SandboxEvent[] = [];
  readonly #endpoint: string;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #after = 0;
  #waiters: Array<{ match: (e: SandboxEvent) => boolean; resolve: (e: SandboxEvent) => void }> = [];
  #lastError: Error | undefined;

  constructor(endpoint: string, intervalMs = 20) {
    this.#endpoint = endpoint;
    this.#intervalMs = intervalMs;
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /** Starts following from `after` (default: everything from the start). */
  start(after = 0): void {
    if (this.#timer) return;
    this.#after = after;
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
  }

  /** Fetches everything logged up to now (waits for a fetch in flight, then makes a fresh one). */
  async sync(): Promise<void> {
    while (this.#busy) await new Promise((r) => setTimeout(r, 5));
    this.#lastError = undefined;
    await this.#tick();
    if (this.#lastError)
      throw new Error(`reading the sandbox event log: ${(this.#lastError as Error).message}`);
  }

  async #tick(): Promise<void> {
    const after = this.#after;
    if (this.#busy) return;
    this.#busy = true;
    try {
      const fresh = await fetchEvents(this.#endpoint, Math.max(after, this.lastSeq));
      for (const e of fresh) {
        this.events.push(e);
        for (const w of [...this.#waiters]) {
          if (w.match(e)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      }
    } catch (error) {
      this.#lastError = error as Error;
    } finally {
      this.#busy = false;
    }
  }

  /** The first event (already seen or coming) matching; rejects after `timeoutMs` or when `signal` aborts. */
  waitFor(
    match: (e: SandboxEvent) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<SandboxEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const entry = {
        match,
        resolve: (e: SandboxEvent) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(e);
        },
      };
      const fail = (why: string) => {
        const i = this.#waiters.indexOf(entry);
        if (i >= 0) this.#waiters.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
        reject(
          new Error(`${why}${this.#lastError ? ` (last event-log error: ${this.#lastError.message})` : ''}`),
        );
      };
      const onAbort = () => {
        clearTimeout(timer);
        fail('aborted while waiting for a sandbox event');
      };
      const timer = setTimeout(() => fail(`no matching sandbox event within ${timeoutMs} ms`), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(entry);
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
