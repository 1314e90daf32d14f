/**
 * Evidence as pictures a reviewer reads in one glance: the stage timeline and the traffic probe, as
 * self-contained SVG (no fonts or scripts to load), attached to the report step that produced them.
 */
import type { TimelineEntry } from '../pipeline/timeline.ts';
import type { ProbeReport } from '../traffic/probe.ts';

const COLORS: Record<string, string> = {
  Succeeded: '#2e9e4f',
  InProgress: '#3b82f6',
  Failed: '#d93025',
  Stopped: '#9c27b0',
  Stopping: '#9c27b0',
  Superseded: '#9e9e9e',
  Cancelled: '#9e9e9e',
  Abandoned: '#9e9e9e',
};
const PALETTE = ['#3b82f6', '#2e9e4f', '#f59e0b', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16'];

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

interface Bar {
  label: string;
  from: number;
  to: number;
  status: string;
}

/** Turns timeline entries into one bar per stage/action: from its first status to its last. */
function bars(entries: readonly TimelineEntry[], end: number): Bar[] {
  const rows = new Map<string, { label: string; changes: Array<{ at: number; status: string }> }>();
  for (const e of entries) {
    if (!e.stage) continue;
    const label = e.action ? `${e.stage} / ${e.action}` : e.stage;
    const row = rows.get(label) ?? { label, changes: [] };
    row.changes.push({ at: e.at.getTime(), status: e.status });
    rows.set(label, row);
  }
  const out: Bar[] = [];
  for (const row of rows.values()) {
    row.changes.forEach((c, i) => {
      const next = row.changes[i + 1];
      const final = !next && c.status !== 'InProgress';
      out.push({ label: row.label, from: c.at, to: next?.at ?? (final ? c.at : end), status: c.status });
    });
  }
  return out;
}

/**
 * The stage timeline of one execution: a row per stage and action, colored by status over time.
 *
 * @example
 * ```ts
 * attach(timelineSvg(pipeline.timeline.entries.filter((e) => e.pipelineExecutionId === id)), 'image/svg+xml');
 * ```
 */
export function timelineSvg(
  entries: readonly TimelineEntry[],
  options: { title?: string; end?: Date } = {},
): string {
  const start = Math.min(...entries.map((e) => e.at.getTime()));
  const end = Math.max(options.end?.getTime() ?? 0, ...entries.map((e) => e.at.getTime()));
  const list = entries.length ? bars(entries, end) : [];
  const labels = [...new Set(list.map((b) => b.label))];
  const span = Math.max(end - start, 1);
  const left = 230;
  const width = 900;
  const plot = width - left - 20;
  const rowH = 24;
  const height = 50 + labels.length * rowH + 40;
  const x = (t: number) => left + ((t - start) / span) * plot;
  const parts: string[] = [];
  parts.push(
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(options.title ?? 'Stage timeline')}</text>`,
  );
  labels.forEach((label, i) => {
    const y = 40 + i * rowH;
    parts.push(`<text x="10" y="${y + 15}" font-size="12">${esc(label)}</text>`);
    for (const b of list.filter((b) => b.label === label)) {
      const w = Math.max(x(b.to) - x(b.from), 3);
      parts.push(
        `<rect x="${x(b.from).toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="3" fill="${COLORS[b.status] ?? '#607d8b'}"><title>${esc(`${label}: ${b.status} for ${secs(b.to - b.from)}`)}</title></rect>`,
      );
      if (w > 60) {
        parts.push(
          `<text x="${(x(b.from) + 4).toFixed(1)}" y="${y + 15}" font-size="10" fill="#fff">${esc(b.status)}</text>`,
        );
      }
    }
  });
  const axisY = 40 + labels.length * rowH + 10;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plot}" y2="${axisY}" stroke="#888"/>`);
  for (let i = 0; i <= 4; i++) {
    const t = start + (span * i) / 4;
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${axisY + 16}" font-size="10" text-anchor="middle">${secs(t - start)}</text>`,
    );
  }
  if (!labels.length) parts.push(`<text x="10" y="50" font-size="12">no stage transitions observed</text>`);
  return svg(width, height, parts);
}

/**
 * The traffic probe: one mark per request, its height the HTTP status, its color the version served
 * (red for a failed request), with outages shaded.
 *
 * @example
 * ```ts
 * attach(probeSvg(await probe.stop()), 'image/svg+xml');
 * ```
 */
export function probeSvg(report: ProbeReport, options: { title?: string } = {}): string {
  const start = report.startedAt.getTime();
  const span = Math.max(report.stoppedAt.getTime() - start, 1);
  const left = 60;
  const width = 900;
  const plot = width - left - 180;
  const top = 40;
  const plotH = 160;
  const x = (t: number) => left + ((t - start) / span) * plot;
  const versions = [...new Set(report.samples.map((s) => s.version).filter((v): v is string => Boolean(v)))];
  const color = (v: string | undefined) => (v ? PALETTE[versions.indexOf(v) % PALETTE.length]! : '#999');
  const y = (status: number | undefined) => top + plotH - ((status ?? 0) / 600) * plotH;
  const parts: string[] = [];
  const title =
    options.title ??
    `Traffic probe: ${report.requests} requests, ${report.failures.total} failed, longest outage ${secs(report.longestOutageMs)}`;
  parts.push(`<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (const o of report.outages) {
    parts.push(
      `<rect x="${x(o.from.getTime()).toFixed(1)}" y="${top}" width="${Math.max(x(o.to.getTime()) - x(o.from.getTime()), 2).toFixed(1)}" height="${plotH}" fill="#fdecea"><title>outage ${secs(o.ms)} (${o.requests} requests)</title></rect>`,
    );
  }
  for (const status of [200, 500]) {
    parts.push(
      `<line x1="${left}" y1="${y(status)}" x2="${left + plot}" y2="${y(status)}" stroke="#ddd"/><text x="${left - 8}" y="${y(status) + 4}" font-size="10" text-anchor="end">${status}</text>`,
    );
  }
  for (const s of report.samples) {
    const failed = s.kind !== 'ok';
    const fill = failed ? '#d93025' : color(s.version);
    const label = `${s.at.toISOString()} ${s.status ?? s.kind} ${s.version ?? ''} ${s.instanceId ?? ''} ${s.ms} ms`;
    parts.push(
      `<circle cx="${x(s.at.getTime()).toFixed(1)}" cy="${(failed && !s.status ? top + plotH : y(s.status)).toFixed(1)}" r="3" fill="${fill}"><title>${esc(label)}</title></circle>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plot}" y2="${top + plotH}" stroke="#888"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const t = start + (span * i) / 4;
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${top + plotH + 16}" font-size="10" text-anchor="middle">${secs(t - start)}</text>`,
    );
  }
  const legend = [
    ...versions.map((v) => ({ label: `version ${v}`, fill: color(v) })),
    { label: 'failed request', fill: '#d93025' },
  ];
  legend.forEach((l, i) => {
    const ly = top + 10 + i * 18;
    parts.push(
      `<circle cx="${left + plot + 20}" cy="${ly}" r="5" fill="${l.fill}"/><text x="${left + plot + 30}" y="${ly + 4}" font-size="11">${esc(l.label)}</text>`,
    );
  });
  return svg(width, top + plotH + 30, parts);
}

function svg(width: number, height: number, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>`
  );
}
