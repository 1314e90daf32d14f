/**
 * Section 1: cold start. Time from "start" to the first answered API call (an HTTP 200 to CodePipeline
 * ListPipelines), for the sandbox in-process (`startSandbox()`), the sandbox as a process
 * (`node src/cli.ts sandbox`) and moto's server (`moto_server`), medians over several runs.
 */
import { join } from 'node:path';
import { startSandbox } from '../src/sandbox/index.ts';
import { firstCallAnswered, motoAvailable, motoVersion, startMoto } from './lib/moto.ts';
import { freePort } from './lib/ports.ts';
import type { Section, SectionContext, SectionResult } from './lib/section.ts';
import { throwIfOver } from './lib/section.ts';
import { startServerProcess } from './lib/server-process.ts';
import { fmt, fmtRatio, max, median, percentile, ratio } from './lib/stats.ts';
import { Wire } from './lib/wire.ts';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');

async function sandboxInProcess(): Promise<number> {
  const t0 = performance.now();
  const sandbox = await startSandbox({ onInternalError: () => {} });
  const wire = new Wire(sandbox.endpoint, 1, 5000);
  try {
    if (!(await firstCallAnswered(wire))) throw new Error('sandbox did not answer ListPipelines with 200');
    return performance.now() - t0;
  } finally {
    await wire.close();
    await sandbox.stop();
  }
}

async function sandboxProcess(): Promise<number> {
  const port = await freePort();
  const wire = new Wire(`http://127.0.0.1:${port}`, 1, 2000);
  try {
    const server = await startServerProcess(process.execPath, [CLI, 'sandbox', '--port', String(port)], {
      port,
      timeoutMs: 30_000,
      termGraceMs: 20_000,
      ready: () => firstCallAnswered(wire),
    });
    await server.stop();
    return server.readyMs;
  } finally {
    await wire.close();
  }
}

async function moto(): Promise<number> {
  const server = await startMoto();
  await server.stop();
  return server.readyMs;
}

async function repeat(
  context: SectionContext,
  label: string,
  runs: number,
  fn: () => Promise<number>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    throwIfOver(context.signal, label);
    times.push(await fn());
  }
  context.log(`${label}: median ${fmt(median(times))} ms over ${runs}`);
  return times;
}

export const coldStart: Section = {
  name: 'cold-start',
  title: '1. Cold start: start -> first answered API call (CodePipeline ListPipelines)',
  budgetMs: 80_000,
  async run(context) {
    const runs = context.quick ? 3 : 10;
    const results: Record<string, number[]> = {};
    const notes: string[] = [];
    results['sandbox (in-process startSandbox, modules loaded)'] = await repeat(
      context,
      'sandbox in-process',
      runs,
      sandboxInProcess,
    );
    results['sandbox (process: node src/cli.ts sandbox)'] = await repeat(
      context,
      'sandbox process',
      context.quick ? 3 : 5,
      sandboxProcess,
    );
    if (motoAvailable()) {
      results['moto_server (process, reference)'] = await repeat(
        context,
        'moto_server',
        context.quick ? 3 : 5,
        moto,
      );
    } else {
      notes.push(
        'moto_server is not on the PATH: the reference row is missing (pip install "moto[server]").',
      );
    }
    const reference = median(results['moto_server (process, reference)'] ?? []);
    const rows = Object.entries(results).map(([what, times]) => [
      what,
      String(times.length),
      fmt(median(times)),
      fmt(percentile(times, 95)),
      fmt(max(times)),
      fmtRatio(ratio(median(times), reference)),
    ]);
    notes.push(
      'In-process excludes loading Node and the sandbox modules (the import is paid once by the bench); the ' +
        'process rows include interpreter start and imports, so "sandbox (process)" vs "moto_server" is the like-for-like pair.',
      'Ratio = median / moto_server median (below 1x: faster than moto).',
    );
    const data = {
      motoVersion: motoVersion(),
      ...Object.fromEntries(
        Object.entries(results).map(([k, v]) => [
          k,
          { runs: v, medianMs: median(v), p95Ms: percentile(v, 95) },
        ]),
      ),
    };
    const result: SectionResult = {
      tables: [
        { title: this.title, header: ['server', 'runs', 'median ms', 'p95 ms', 'max ms', 'vs moto'], rows },
      ],
      data,
      notes,
    };
    return result;
  },
};
