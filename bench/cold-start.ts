/**
 * Section 1: cold start. Time from "start" to the first answered API call (an HTTP 200 to CodePipeline
 * ListPipelines), for the sandbox in-process (`startSandbox()`), the sandbox as a process and moto's server
 * (`moto_server`), medians over several runs. The process is measured three ways: the package's bin (built
 * JavaScript, `node dist/src/cli.js sandbox`, built here into a temp dir) and the dev path (`node src/cli.ts
 * sandbox`), both with Node's compile cache warm (what every start after the first one gets: the CLI enables
 * it), and the dev path with an empty cache (the first start after an install or a change: every module is
 * type-stripped and compiled).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSandbox } from '../src/sandbox/index.ts';
import { firstCallAnswered, motoAvailable, motoVersion, startMoto } from './lib/moto.ts';
import { freePort } from './lib/ports.ts';
import type { Section, SectionContext, SectionResult } from './lib/section.ts';
import { throwIfOver } from './lib/section.ts';
import { startServerProcess } from './lib/server-process.ts';
import { fmt, fmtRatio, max, median, percentile, ratio } from './lib/stats.ts';
import { Wire } from './lib/wire.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'src', 'cli.ts');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/**
 * Builds the package's JavaScript (as `npm run build` does) into a temp dir inside the repository (so its
 * imports resolve node_modules); returns the built CLI and the dir to remove.
 */
async function buildBin(): Promise<{ cli: string; dir: string }> {
  const tempRoot = join(ROOT, 'temp');
  await mkdir(tempRoot, { recursive: true });
  const dir = await mkdtemp(join(tempRoot, 'bench-dist-'));
  try {
    // tsc emits even where another file fails to typecheck; the bin is what matters here.
    await promisify(execFile)(TSC, ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir], {
      cwd: ROOT,
      timeout: 120_000,
    }).catch((error: { code?: number; killed?: boolean }) => {
      if (error.killed || typeof error.code !== 'number') throw error;
    });
    await cp(
      join(ROOT, 'src', 'sandbox', 'protocol', 'models'),
      join(dir, 'src', 'sandbox', 'protocol', 'models'),
      {
        recursive: true,
      },
    );
    return { cli: join(dir, 'src', 'cli.js'), dir };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

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

/** Spawn `node <cli> sandbox` -> first answered call, with `compileCache` as Node's compile cache dir. */
async function sandboxProcess(cli: string, compileCache: string): Promise<number> {
  const port = await freePort();
  const wire = new Wire(`http://127.0.0.1:${port}`, 1, 2000);
  try {
    const server = await startServerProcess(process.execPath, [cli, 'sandbox', '--port', String(port)], {
      port,
      timeoutMs: 30_000,
      termGraceMs: 20_000,
      env: { ...process.env, NODE_COMPILE_CACHE: compileCache },
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

/** Runs each of `runs` rounds of every measure in turn; resolves their times, in the order given. */
async function alternate(
  context: SectionContext,
  runs: number,
  measures: readonly (readonly [label: string, fn: () => Promise<number>])[],
): Promise<number[][]> {
  const times = measures.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [index, [label, fn]] of measures.entries()) {
      throwIfOver(context.signal, label);
      times[index]!.push(await fn());
    }
  }
  for (const [index, [label]] of measures.entries())
    context.log(`${label}: median ${fmt(median(times[index]!))} ms over ${runs}`);
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
    const processRuns = context.quick ? 3 : 5;
    await mkdir(join(ROOT, 'temp'), { recursive: true });
    const caches = await mkdtemp(join(ROOT, 'temp', 'bench-compile-cache-'));
    const bin = await buildBin().catch(async (error) => {
      await rm(caches, { recursive: true, force: true });
      throw error;
    });
    try {
      const warm = join(caches, 'warm');
      // One untimed start each fills the warm cache (what the first start of an install does).
      await sandboxProcess(bin.cli, warm);
      await sandboxProcess(CLI, warm);
      // Alternated run by run, so a change in the machine's load during the section weighs on both alike.
      const [built, dev] = await alternate(context, processRuns, [
        ['sandbox process, built bin', () => sandboxProcess(bin.cli, warm)],
        ['sandbox process, dev path', () => sandboxProcess(CLI, warm)],
      ]);
      results['sandbox (process: built bin, node dist/src/cli.js sandbox)'] = built!;
      results['sandbox (process: dev path, node src/cli.ts sandbox)'] = dev!;
      let fresh = 0;
      results['sandbox (process: dev path, first start, empty compile cache)'] = await repeat(
        context,
        'sandbox process, dev path, empty compile cache',
        processRuns,
        () => sandboxProcess(CLI, join(caches, `empty-${fresh++}`)),
      );
    } finally {
      await rm(bin.dir, { recursive: true, force: true });
      await rm(caches, { recursive: true, force: true });
    }
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
        'process rows include interpreter start and imports, so "sandbox (process: built bin)" vs "moto_server" is the like-for-like pair.',
      'Process rows other than "empty compile cache" start with Node\'s compile cache warm (the CLI enables it; ' +
        'each start after the first one after an install or a change gets it). With an empty cache every one of ' +
        'the ~390 modules is compiled, and on the dev path type-stripped, first.',
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
