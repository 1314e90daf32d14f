/**
 * What a build prints is bounded in memory while it is read (issue 15, item 3): the CloudWatch Logs stream of a
 * build keeps its first 4 MiB and its last 1 MiB, says how much it left out, and cuts a line that never ends into
 * 256 KiB events; the build's log file (the action's externalExecutionUrl) keeps every line.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETAINED_HEAD_CHARS, RETAINED_TAIL_CHARS } from '../../src/sandbox/codebuild/build-run.ts';
import { CodeBuildRunner } from '../../src/sandbox/codepipeline/runners/build.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { useSandbox } from './helpers/sandbox.ts';

const BUILDSPEC = `version: 0.2
phases:
  build:
    commands:
      - head -c 6000000 /dev/zero | tr '\\0' x | fold -w 1000; echo
      - head -c 600000 /dev/zero | tr '\\0' y
      - echo
      - echo the end
`;

describe('build output', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  let logs: CloudWatchLogsClient;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cph-build-output-'));
    logs = new CloudWatchLogsClient({
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: { ...FAKE_CREDENTIALS, ...sb.sandbox.credentials },
    });
  });
  afterAll(async () => {
    logs?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('keeps the head and the tail of a loud build in its log stream, counts the rest, and the log file has all', async () => {
    const source = join(work, 'source');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'buildspec.yml'), BUILDSPEC);
    const runner = new CodeBuildRunner({ codebuild: sb.sandbox.services.codebuild });
    const never = new AbortController().signal;
    const result = await runner.run({
      runtime: sb.sandbox.runtime,
      pipelineName: 'loud-pipeline',
      pipelineExecutionId: '00000000-0000-4000-8000-000000000001',
      stageName: 'Build',
      action: {
        name: 'Build',
        actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
        configuration: { ProjectName: 'loud' },
      },
      actionExecutionId: '00000000-0000-4000-8000-000000000002',
      inputArtifacts: [{ name: 'SourceArtifact', dir: source }],
      outputArtifacts: [],
      signal: never,
      abandoned: never,
      update: () => {},
    });
    expect(result.status).toBe('Succeeded');
    const [, uuid] = result.externalExecutionId!.split(':');
    const events = sb.sandbox.services.logs.events('/aws/codebuild/loud', uuid!)!;
    const retained = events.reduce((sum, e) => sum + e.message.length, 0);
    expect(retained).toBeLessThan(RETAINED_HEAD_CHARS + RETAINED_TAIL_CHARS + 64 * 1024);
    expect(Math.max(...events.map((e) => e.message.length))).toBeLessThanOrEqual(256 * 1024 - 26);
    const notice = events.find((e) => e.message.startsWith('[Sandbox] '))?.message ?? '';
    const [, lines, chars] =
      /^\[Sandbox\] (\d+) line\(s\) \((\d+) characters\) of output are not in this stream/.exec(notice) ?? [
        '',
        '0',
        '0',
      ];
    expect(Number(lines)).toBeGreaterThan(0);
    expect(Number(chars)).toBeGreaterThan(6_600_000 - RETAINED_HEAD_CHARS - RETAINED_TAIL_CHARS);
    // The stream's end, as GetLogEvents serves it without a token, is the build's end.
    const latest = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/codebuild/loud', logStreamName: uuid }),
    );
    const messages = latest.events?.map((e) => e.message ?? '') ?? [];
    expect(messages.some((m) => m === 'the end\n')).toBe(true);
    const file = await readFile(runner.logFile(result.externalExecutionId!)!, 'utf8');
    const printed = (c: string) =>
      file
        .split('\n')
        .filter((l) => l !== '' && l === c.repeat(l.length))
        .reduce((n, l) => n + l.length, 0);
    expect(printed('x')).toBe(6_000_000);
    expect(file.includes('y'.repeat(600_000))).toBe(true); // the line that never ended, whole
  }, 60_000);
});
