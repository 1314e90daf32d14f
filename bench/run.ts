/**
 * `npm run bench`: runs every bench section in order, prints one table per section (medians over several
 * runs, ratios to the reference) and writes `bench/results.json` with the machine's facts.
 *
 *   node bench/run.ts [--quick] [--only <section>[,<section>...]] [--out <file>] [--budget-scale <x>]
 *
 * Each section has its own time budget; a section that fails or runs out is reported and the rest still run.
 */
import { writeFile } from 'node:fs/promises';
import { arch, cpus, platform, release as osRelease, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { coldStart } from './cold-start.ts';
import { events } from './events.ts';
import type { Section, SectionResult } from './lib/section.ts';
import { removeSandboxDataDirs } from './lib/sandbox-process.ts';
import { stopAllServers } from './lib/server-process.ts';
import { table } from './lib/stats.ts';
import { summaryMarkdown } from './lib/summary.ts';
import { release } from './release.ts';
import { scale } from './scale.ts';
import { suite } from './suite.ts';
import { throughput } from './throughput.ts';

const SECTIONS: readonly Section[] = [coldStart, throughput, release, events, scale, suite];
/**
 * `npm run bench` must finish within 15 minutes (10 before the suite section, which runs the whole acceptance
 * suite twice: serial and --parallel 2); a section that would start past this is skipped.
 */
const OVERALL_BUDGET_MS = 14.5 * 60_000;

const USAGE = `Usage: node bench/run.ts [--quick] [--only <section>[,<section>...]] [--out <file>] [--budget-scale <x>]

Sections: ${SECTIONS.map((s) => s.name).join(', ')}
  --quick        fewer runs, shorter load windows
  --only NAMES   run only these sections (comma-separated)
  --out FILE     where to write the JSON results (default bench/results.json)
  --budget-scale X  multiply every section's time budget by X (0 < X <= 1), to prove a section past its
                 budget is abandoned and everything it started is stopped
`;

interface SectionRecord {
  name: string;
  title: string;
  ok: boolean;
  error?: string;
  wallMs: number;
  result?: SectionResult;
}

function parse(): { quick: boolean; only?: string[]; budgetScale: number; out: string } {
  let values: { quick?: boolean; only?: string; out?: string; 'budget-scale'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        out: { type: 'string' },
        'budget-scale': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.map((s) => s.name).join(', ')}\n`,
    );
    process.exit(2);
  }
  const budgetScale = Number(values['budget-scale'] ?? '1');
  if (!(budgetScale > 0 && budgetScale <= 1)) {
    process.stderr.write(
      `bench: --budget-scale must be a number in (0, 1], got '${values['budget-scale']}'\n`,
    );
    process.exit(2);
  }
  return {
    quick: values.quick ?? false,
    only,
    budgetScale,
    out: values.out ?? join(import.meta.dirname, 'results.json'),
  };
}

async function runSection(section: Section, quick: boolean, budgetScale: number): Promise<SectionRecord> {
  const budgetMs = section.budgetMs * budgetScale;
  const controller = new AbortController();
  const started = performance.now();
  const log = (message: string) => process.stderr.write(`[${section.name}] ${message}\n`);
  let timer: NodeJS.Timeout | undefined;
  // The hard stop: a section past its budget plus a grace period is abandoned so the bench never hangs.
  const hardStop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      timer = setTimeout(
        () => reject(new Error(`did not finish within its budget of ${budgetMs / 1000} s (+20 s grace)`)),
        20_000,
      );
    }, budgetMs);
  });
  try {
    const result = await Promise.race([section.run({ quick, signal: controller.signal, log }), hardStop]);
    return {
      name: section.name,
      title: section.title,
      ok: true,
      wallMs: performance.now() - started,
      result,
    };
  } catch (error) {
    return {
      name: section.name,
      title: section.title,
      ok: false,
      error: (error as Error)?.stack ?? String(error),
      wallMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

function print(record: SectionRecord): void {
  const out: string[] = [];
  if (!record.ok || !record.result) {
    out.push(
      `== ${record.title}`,
      `FAILED after ${(record.wallMs / 1000).toFixed(1)} s: ${record.error?.split('\n')[0]}`,
    );
  } else {
    for (const t of record.result.tables) out.push(`== ${t.title}`, table(t.header, t.rows), '');
    for (const n of record.result.notes) out.push(`  note: ${n}`);
    out.push(`  (section took ${(record.wallMs / 1000).toFixed(1)} s)`);
  }
  process.stdout.write(`${out.join('\n')}\n\n`);
}

async function main(): Promise<number> {
  const { quick, only, out, budgetScale } = parse();
  const started = Date.now();
  const records: SectionRecord[] = [];
  for (const section of SECTIONS) {
    if (only && !only.includes(section.name)) continue;
    if (Date.now() - started + section.budgetMs > OVERALL_BUDGET_MS) {
      const record: SectionRecord = {
        name: section.name,
        title: section.title,
        ok: false,
        error: `skipped: its budget would pass the overall limit of ${OVERALL_BUDGET_MS / 60_000} minutes`,
        wallMs: 0,
      };
      records.push(record);
      print(record);
      continue;
    }
    process.stderr.write(`[bench] ${section.title}\n`);
    const record = await runSection(section, quick, budgetScale);
    records.push(record);
    print(record);
  }
  const cpu = cpus();
  const results = {
    date: new Date(started).toISOString(),
    quick,
    totalSeconds: (Date.now() - started) / 1000,
    machine: {
      cores: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${platform()} ${osRelease()} ${arch()}`,
    },
    sections: Object.fromEntries(
      records.map((r) => [
        r.name,
        r.ok
          ? { title: r.title, wallSeconds: r.wallMs / 1000, ...r.result?.data, notes: r.result?.notes }
          : { title: r.title, wallSeconds: r.wallMs / 1000, error: r.error },
      ]),
    ),
  };
  const summary = summaryMarkdown(
    results.sections as Record<string, Record<string, unknown>>,
    results.machine,
    results.date,
  );
  process.stdout.write(`== Summary (Markdown, for the README's Performance section)\n${summary}\n`);
  await writeFile(out, `${JSON.stringify({ ...results, summaryMarkdown: summary }, null, 2)}\n`);
  process.stdout.write(
    `bench: ${records.filter((r) => r.ok).length}/${records.length} sections ok in ${results.totalSeconds.toFixed(0)} s on ${cpu.length} cores, ${process.version}; results in ${out}\n`,
  );
  return records.every((r) => r.ok) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} finally {
  // An abandoned section may have left a server running and timers pending: stop the servers, then exit
  // rather than wait for handles nobody will close.
  await stopAllServers();
  await removeSandboxDataDirs();
}
process.exit(code);
