/** Evidence as Markdown tables: lifecycle events per instance, and the responses that proved a version. */
import type { TargetLifecycle } from '../deploy/targets.ts';
import type { Sample } from '../traffic/sample.ts';

const cell = (s: unknown) =>
  String(s ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const time = (d: Date | undefined) => (d ? d.toISOString().slice(11, 23) : '');

/**
 * One row per lifecycle event per target: status, start, end, and the script's diagnostics when it failed.
 *
 * @example
 * ```ts
 * attach(lifecycleTable(await lifecycleEvents(codedeploy, deploymentId)), 'text/markdown');
 * ```
 */
export function lifecycleTable(targets: readonly TargetLifecycle[], title = 'Lifecycle events'): string {
  const lines = [
    `### ${title}`,
    '',
    '| target | event | status | start | end | diagnostics |',
    '|---|---|---|---|---|---|',
  ];
  for (const t of targets) {
    for (const e of t.events) {
      const diag = [e.errorCode, e.scriptName, e.message].filter(Boolean).join(': ');
      lines.push(
        `| ${cell(t.targetId)}${t.label ? ` (${t.label})` : ''} | ${cell(e.name)} | ${cell(e.status)} | ${time(e.startTime)} | ${time(e.endTime)} | ${cell(diag)} |`,
      );
    }
  }
  if (!targets.length) lines.push('| (no targets) | | | | | |');
  return `${lines.join('\n')}\n`;
}

/** The HTTP responses that proved (or failed to prove) a version: time, status, instance, version. */
export function responsesTable(samples: readonly Sample[], title = 'Responses'): string {
  const lines = [`### ${title}`, '', '| time | status | instance | version | ms |', '|---|---|---|---|---|'];
  for (const s of samples) {
    lines.push(
      `| ${time(s.at)} | ${cell(s.status ?? s.kind)} | ${cell(s.instanceId)} | ${cell(s.version)} | ${s.ms} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
