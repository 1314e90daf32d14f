/**
 * The headline figures of a run as a Markdown table, for the README's "Performance" section: printed at the
 * end of `npm run bench` and kept in `results.json` (`summaryMarkdown`), so the README is refreshed by pasting.
 *
 * @example
 * process.stdout.write(summaryMarkdown(sections, machine));
 */
import { fmt, fmtRatio, median, ratio } from './stats.ts';

type Data = Record<string, any>;

const s = (ms: number | undefined, digits = 1) => `${fmt((ms ?? Number.NaN) / 1000, digits)} s`;
const ms = (v: number | undefined) => `${fmt(v, 0)} ms`;
const rps = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));

function coldStart(d: Data, rows: string[][]): void {
  const entries = Object.entries(d).filter(([, v]) => typeof v === 'object' && v && 'medianMs' in v);
  const at = (prefix: string) => entries.find(([k]) => k.startsWith(prefix))?.[1]?.medianMs;
  const bin = at('sandbox (process: built bin') ?? at('sandbox (process');
  const first = at('sandbox (process: dev path, first start');
  const moto = at('moto_server');
  rows.push([
    'cold start -> first API answer (as a process: the bin, compile cache warm)',
    `${s(bin, 2)}${first === undefined ? '' : ` (first start, empty cache, dev path: ${s(first, 2)})`}`,
    `moto_server ${s(moto, 2)}`,
    fmtRatio(ratio(bin, moto)),
  ]);
}

function throughput(d: Data, rows: string[][]): void {
  for (const op of ['GetPipelineState', 'GetDeployment', 'DescribeTargetHealth']) {
    const a = d.sandbox?.[op];
    const b = d.moto?.[op];
    const mine =
      a?.requestsPerSecond === undefined
        ? 'n/a'
        : `${rps(a.requestsPerSecond)} req/s, p99 ${fmt(a.p99Ms, 0)} ms`;
    const ref =
      b?.requestsPerSecond === undefined
        ? 'moto: not implemented'
        : `moto ${rps(b.requestsPerSecond)} req/s, p99 ${fmt(b.p99Ms, 0)} ms`;
    rows.push([
      `${op}, ${d.concurrency} clients`,
      mine,
      ref,
      fmtRatio(ratio(a?.requestsPerSecond, b?.requestsPerSecond)),
    ]);
  }
}

function release(d: Data, rows: string[][]): void {
  const share = ratio(d.harnessShareMsMedian, d.wallMsMedian);
  const before = d.before?.releases
    ? `before (live check after the end): ${s(d.before.wallMsMedian)}, share ${s(d.before.harnessShareMsMedian)} = ${fmt(100 * ratio(d.before.harnessShareMsMedian, d.before.wallMsMedian), 0)}%`
    : '-';
  rows.push([
    'release push -> live on every target (time scale 0.02)',
    `${s(d.wallMsMedian)}, harness share ${s(d.harnessShareMsMedian)}`,
    before,
    `${fmt(100 * share, 0)}% harness`,
  ]);
  const all = d.detection?.all ?? {};
  rows.push([
    'detection latency p50 / p95 / max',
    `${fmt(all.p50Ms, 0)} / ${fmt(all.p95Ms, 0)} / ${ms(all.maxMs)}`,
    '-',
    '-',
  ]);
  rows.push([
    'API calls per release',
    `${fmt(d.calls?.totalMedian, 0)} (${fmt(d.calls?.perMinuteMedian, 0)}/min)`,
    '-',
    '-',
  ]);
  for (const [phase, p] of Object.entries<Data>(d.references ?? {})) {
    const ours = p.ours ?? {};
    const refs = Object.entries<Data>(p).filter(([k]) => k !== 'ours' && k !== 'deploymentMsMedian');
    const ref = refs
      .map(
        ([name, r]) =>
          `${name.replace(' GetDeployment loop', '')}: ${s(r.detectionMsMedian)}, ${fmt(r.callsMedian, 0)} calls`,
      )
      .join('; ');
    const slowest = Math.max(...refs.map(([, r]) => r.detectionMsMedian as number));
    rows.push([
      `noticing a ${s(p.deploymentMsMedian, 0)} deployment succeeded (${phase})`,
      `${ms(ours.detectionMsMedian)} (interval then ${s(ours.intervalMsMedian)}), ${fmt(ours.callsMedian, 0)} calls`,
      ref,
      ours.detectionMsMedian >= 50 ? `up to ${fmtRatio(ratio(slowest, ours.detectionMsMedian))} sooner` : '-',
    ]);
  }
}

function scale(d: Data, rows: string[][]): void {
  const levels = (d.levels ?? []) as Data[];
  const base = levels[0];
  rows.push([
    `${levels.map((l) => l.scenarios).join(' / ')} concurrent releases: batch, release median`,
    levels.map((l) => `${s(l.batchMs)}, ${s(median(l.releaseMs))}`).join(' / '),
    '1 release',
    levels.map((l) => fmtRatio(ratio(l.batchMs, base?.batchMs))).join(' / '),
  ]);
}

function suite(d: Data, rows: string[][]): void {
  rows.push([
    `acceptance suite wall, ${d.serial?.scenarios} scenarios${d.quick ? ' (--quick subset)' : ''}: serial / --parallel 2`,
    `${s(d.serial?.wallMs)} / ${s(d.parallel?.wallMs)} (load ${fmt(d.serial?.load?.[0], 1)} / ${fmt(d.parallel?.load?.[0], 1)} at start)`,
    'serial',
    `${fmtRatio(ratio(d.parallel?.wallMs, d.serial?.wallMs))} (goal <= 0.6x)`,
  ]);
}

/** Markdown: one line of machine facts, then `| measure | ours | reference | ratio |`. */
export function summaryMarkdown(sections: Record<string, Data>, machine: Data, date: string): string {
  const rows: string[][] = [];
  const by: Record<string, (d: Data, rows: string[][]) => void> = {
    'cold-start': coldStart,
    throughput,
    release,
    scale,
    suite,
  };
  for (const [name, fn] of Object.entries(by)) {
    const d = sections[name];
    if (d && !d.error) fn(d, rows);
  }
  const moto = sections['cold-start']?.motoVersion ?? sections.throughput?.motoVersion;
  return [
    `Run of ${date.slice(0, 10)} on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}${moto ? `, moto ${moto}` : ''}:`,
    '',
    '| measure | codepipeline-harness / sandbox | reference | ratio |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}
