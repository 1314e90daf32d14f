/**
 * moto's server (`moto_server`, the reference local AWS emulator) as a bench peer: started on a free port
 * of 127.0.0.1, ready once it answers an API call, stopped with its process group.
 *
 * @example
 * const moto = await startMoto();
 * // ... moto.endpoint ...
 * await moto.stop();
 */
import { spawnSync } from 'node:child_process';
import { freePort } from './ports.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';
import { Wire } from './wire.ts';

export interface MotoServer extends ServerProcess {
  readonly endpoint: string;
}

/** True when `moto_server` is on the PATH (the comparison is skipped with a note otherwise). */
export function motoAvailable(): boolean {
  const r = spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

let version: string | undefined;

/** moto's version (`python3 -c 'import moto'`), or 'unknown'. */
export function motoVersion(): string {
  if (version === undefined) {
    const r = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    version = r.status === 0 ? r.stdout.trim() : 'unknown';
  }
  return version;
}

/** A call both servers answer cheaply; "answered" means an HTTP 200 to it. */
export async function firstCallAnswered(wire: Wire): Promise<boolean> {
  const r = await wire.json('codepipeline', 'CodePipeline_20150709.ListPipelines', {});
  return r.status === 200;
}

/** Starts `moto_server -H 127.0.0.1 -p <free port>`; `readyMs` is spawn → first answered ListPipelines. */
export async function startMoto(timeoutMs = 60_000): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const wire = new Wire(endpoint, 1, 2000);
  try {
    const server = await startServerProcess('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      port,
      timeoutMs,
      ready: () => firstCallAnswered(wire),
    });
    return Object.assign(server, { endpoint });
  } finally {
    await wire.close();
  }
}
