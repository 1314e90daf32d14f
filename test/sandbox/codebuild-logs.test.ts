/**
 * The sandbox's CodeBuild (BatchGetBuilds) and CloudWatch Logs (GetLogEvents, FilterLogEvents) through the real
 * SDK v3 clients and the AWS CLI: a build's record and its log stream read as on AWS
 * (aws-semantics-cfn-codebuild-logs §4.2–4.4, §4.6, §5): phases and contexts, `logs` names and deep link,
 * `buildsNotFound`, AWS's paging tokens (latest page first, the token sent comes back at the end of the
 * stream), AWS's errors, and AWS-shaped answers for what the sandbox does not serve.
 */
import { poll } from '../../src/poll.ts';
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  paginateGetLogEvents,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRun } from '../../src/sandbox/codebuild/index.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { jsonCall } from './helpers/http.ts';
import { useSandbox } from './helpers/sandbox.ts';

const FAILED_CONTEXT = {
  statusCode: 'COMMAND_EXECUTION_ERROR',
  message: 'Error while executing command: node --test. Reason: exit status 1',
};

describe('CodeBuild and CloudWatch Logs of sandbox builds (SDK + CLI)', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let codebuild: CodeBuildClient;
  let logs: CloudWatchLogsClient;

  beforeAll(() => {
    const config = {
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    };
    codebuild = new CodeBuildClient(config);
    logs = new CloudWatchLogsClient(config);
  });
  afterAll(() => {
    codebuild?.destroy();
    logs?.destroy();
  });

  /** A build the way the build runner records one, failing in BUILD after printing `lines`. */
  function failedBuild(project: string, lines: string[]): BuildRun {
    const build = sb.sandbox.services.codebuild.startBuild({
      projectName: project,
      initiator: 'codepipeline/web-pipeline',
      resolvedSourceVersion: 'c0ffee',
    });
    build.write('[Container] 2026/01/22 23:28:03.574 Running on the sandbox\n');
    for (const phase of ['DOWNLOAD_SOURCE', 'INSTALL', 'PRE_BUILD', 'BUILD'] as const)
      build.enterPhase(phase);
    build.write('[Container] 2026/01/22 23:28:04.000 Running command node --test\n');
    build.write(lines.map((l) => `${l}\n`).join(''));
    build.endPhase('FAILED', FAILED_CONTEXT);
    for (const phase of ['POST_BUILD', 'UPLOAD_ARTIFACTS', 'FINALIZING'] as const) build.enterPhase(phase);
    build.finish('FAILED');
    return build;
  }

  /** A stream of `n` numbered lines (`line 1` … `line n`), written by a build; returns the group and stream. */
  function numberedStream(project: string, n: number) {
    const build = sb.sandbox.services.codebuild.startBuild({ projectName: project, initiator: 'test' });
    build.write(Array.from({ length: n }, (_, i) => `line ${i + 1}\n`).join(''));
    return { build, logGroupName: build.record.logs.groupName, logStreamName: build.record.logs.streamName };
  }

  const messages = (events: { message?: string }[] | undefined) =>
    (events ?? []).map((e) => e.message?.trimEnd());

  it('BatchGetBuilds shows a failed build as AWS does: phases, contexts, logs; unknown ids in buildsNotFound', async () => {
    const build = failedBuild('web-build', ['not ok 1 - adds']);
    const missing = 'web-build:00000000-0000-4000-8000-000000000000';
    const out = await codebuild.send(new BatchGetBuildsCommand({ ids: [build.id, missing, build.id] }));
    expect(out.buildsNotFound).toEqual([missing]);
    expect(out.builds).toHaveLength(1);
    const b = out.builds![0]!;
    const uuid = build.id.split(':')[1]!;
    expect(build.id).toMatch(/^web-build:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(b).toMatchObject({
      id: build.id,
      arn: `arn:aws:codebuild:us-east-1:000000000000:build/${build.id}`,
      buildNumber: 1,
      projectName: 'web-build',
      initiator: 'codepipeline/web-pipeline',
      buildStatus: 'FAILED',
      currentPhase: 'COMPLETED',
      buildComplete: true,
      resolvedSourceVersion: 'c0ffee',
      source: { type: 'CODEPIPELINE' },
      logs: {
        groupName: '/aws/codebuild/web-build',
        streamName: uuid,
        deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/web-build;stream=${uuid}`,
        cloudWatchLogsArn: `arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/web-build:log-stream:${uuid}`,
        cloudWatchLogs: { status: 'ENABLED' },
        s3Logs: { status: 'DISABLED' },
      },
    });
    expect(b.startTime).toBeInstanceOf(Date);
    expect(b.endTime!.getTime()).toBeGreaterThanOrEqual(b.startTime!.getTime());
    expect(b.phases!.map((p) => [p.phaseType, p.phaseStatus])).toEqual([
      ['SUBMITTED', 'SUCCEEDED'],
      ['QUEUED', 'SUCCEEDED'],
      ['PROVISIONING', 'SUCCEEDED'],
      ['DOWNLOAD_SOURCE', 'SUCCEEDED'],
      ['INSTALL', 'SUCCEEDED'],
      ['PRE_BUILD', 'SUCCEEDED'],
      ['BUILD', 'FAILED'],
      ['POST_BUILD', 'SUCCEEDED'],
      ['UPLOAD_ARTIFACTS', 'SUCCEEDED'],
      ['FINALIZING', 'SUCCEEDED'],
      ['COMPLETED', undefined],
    ]);
    const [submitted, , provisioning, , , , failed] = b.phases!;
    expect(submitted!.contexts).toBeUndefined();
    expect(provisioning!.contexts).toEqual([{ statusCode: '', message: '' }]);
    expect(failed!.contexts).toEqual([FAILED_CONTEXT]);
    expect(Number.isInteger(failed!.durationInSeconds)).toBe(true);
    expect(b.phases!.at(-1)).toEqual({ phaseType: 'COMPLETED', startTime: b.endTime });
    // Phases are contiguous: each starts when the one before ended.
    for (let i = 1; i < b.phases!.length; i++) {
      expect(b.phases![i]!.startTime).toEqual(b.phases![i - 1]!.endTime);
    }
    // The next build of the project gets the next number.
    const second = failedBuild('web-build', []);
    const again = await codebuild.send(new BatchGetBuildsCommand({ ids: [second.id] }));
    expect(again.builds![0]!.buildNumber).toBe(2);
  });

  it('BatchGetBuilds refuses an empty id list with AWS wording, as InvalidInputException', async () => {
    const error = await codebuild.send(new BatchGetBuildsCommand({ ids: [] })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'InvalidInputException',
      message: 'The input build ID list cannot be empty.',
      $metadata: { httpStatusCode: 400 },
    });
    const tooMany = Array.from({ length: 101 }, (_, i) => `p:${i}`);
    await expect(codebuild.send(new BatchGetBuildsCommand({ ids: tooMany }))).rejects.toMatchObject({
      name: 'InvalidInputException',
      message: expect.stringContaining('Member must have length less than or equal to 100'),
    });
  });

  it('GetLogEvents reads the latest page first and pages backwards to the head; the token sent comes back at the end', async () => {
    const { logGroupName, logStreamName } = numberedStream('paging', 25);
    const first = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, limit: 10 }));
    expect(messages(first.events)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 16}`));
    expect(first.events![0]!.message).toBe('line 16\n');
    expect(first.nextForwardToken).toMatch(/^f\/\d{56}\/s$/);
    expect(first.nextBackwardToken).toMatch(/^b\/\d{56}\/s$/);
    const second = await logs.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, limit: 10, nextToken: first.nextBackwardToken }),
    );
    expect(messages(second.events)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 6}`));
    const third = await logs.send(
      new GetLogEventsCommand({
        logGroupName,
        logStreamName,
        limit: 10,
        nextToken: second.nextBackwardToken,
      }),
    );
    expect(messages(third.events)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    const head = await logs.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, limit: 10, nextToken: third.nextBackwardToken }),
    );
    expect(head.events).toEqual([]);
    expect(head.nextBackwardToken).toBe(third.nextBackwardToken);
    // Reading on from the first page's forward token: nothing new, the same token back (end of stream).
    const end = await logs.send(
      new GetLogEventsCommand({
        logGroupName,
        logStreamName,
        startFromHead: true,
        nextToken: first.nextForwardToken,
      }),
    );
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(first.nextForwardToken);
    expect(end.nextBackwardToken).toBe(first.nextForwardToken!.replace(/^f/, 'b'));
  });

  it('GetLogEvents with startFromHead pages forward, follows new lines, and ends with the token sent', async () => {
    const { build, logGroupName, logStreamName } = numberedStream('forward', 25);
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await logs.send(
        new GetLogEventsCommand({
          logGroupName,
          logStreamName,
          startFromHead: true,
          limit: 10,
          nextToken: token,
        }),
      );
      seen.push(...messages(out.events).map(String));
      if (out.nextForwardToken === token) break;
      token = out.nextForwardToken;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `line ${i + 1}`));
    // A build still writing: the same token now returns the new lines.
    build.write('line 26\nline 27\n');
    const more = await logs.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: true, nextToken: token }),
    );
    expect(messages(more.events)).toEqual(['line 26', 'line 27']);
    // The SDK's paginator ends once told to stop on a repeated token (aws-semantics §5.2: GetLogEvents never
    // ends on its own).
    const paged: string[] = [];
    for await (const page of paginateGetLogEvents(
      { client: logs, pageSize: 10, stopOnSameToken: true },
      { logGroupName, logStreamName, startFromHead: true },
    )) {
      paged.push(...messages(page.events).map(String));
    }
    expect(paged).toHaveLength(27);
  });

  it('GetLogEvents honours startTime (inclusive) and endTime (exclusive), and a group ARN (without :*, the model pattern) as logGroupIdentifier', async () => {
    const build = sb.sandbox.services.codebuild.startBuild({ projectName: 'window', initiator: 'test' });
    const { groupName: logGroupName, streamName: logStreamName } = build.record.logs;
    build.write('early\n');
    // The next line must carry a later millisecond: wait for the clock to pass the first one's timestamp.
    const first = (await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName }))).events![0]!;
    await poll(async () => Date.now(), {
      timeout: 1000,
      isDone: (now) => now > first.timestamp!,
      interval: { min: 1, max: 5 },
      what: 'the clock to pass the first line',
    });
    build.write('late\n');
    const all = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName }));
    const [early, late] = all.events!;
    expect(late!.timestamp).toBeGreaterThan(early!.timestamp!);
    expect(early!.ingestionTime).toBeGreaterThanOrEqual(early!.timestamp!);
    const before = await logs.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, endTime: late!.timestamp }),
    );
    expect(messages(before.events)).toEqual(['early']);
    const from = await logs.send(
      new GetLogEventsCommand({
        logGroupIdentifier: `arn:aws:logs:us-east-1:000000000000:log-group:${logGroupName}`,
        logStreamName,
        startTime: late!.timestamp,
      }),
    );
    expect(messages(from.events)).toEqual(['late']);
  });

  it('GetLogEvents answers AWS errors: missing group or stream, bad parameters', async () => {
    const { logGroupName, logStreamName } = numberedStream('errors', 1);
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: '/aws/codebuild/nope', logStreamName })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName, logStreamName: 'nope' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'The specified log stream does not exist.',
    });
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName, logGroupIdentifier: logGroupName, logStreamName })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, limit: 0 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining("at 'limit' failed to satisfy constraint"),
    });
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, nextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('FilterLogEvents finds lines by terms across a group, with stream names, event ids and paging', async () => {
    const a = failedBuild('filtered', ['ok 1 - adds', 'not ok 2 - subtracts']);
    const b = failedBuild('filtered', ['not ok 1 - multiplies', 'not ok 2 - divides # TODO later']);
    const group = a.record.logs.groupName;
    const out = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, filterPattern: '"not ok" -TODO' }),
    );
    expect(out.events!.map((e) => [e.logStreamName, e.message?.trimEnd()])).toEqual([
      [a.record.logs.streamName, 'not ok 2 - subtracts'],
      [b.record.logs.streamName, 'not ok 1 - multiplies'],
    ]);
    expect(out.events![0]!.eventId).toMatch(/^\d{56}$/);
    expect(out.nextToken).toBeUndefined();
    const first = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, filterPattern: 'not ok', limit: 1 }),
    );
    expect(first.events).toHaveLength(1);
    const rest = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: group,
        filterPattern: 'not ok',
        nextToken: first.nextToken,
      }),
    );
    expect(messages(rest.events)).toEqual(['not ok 1 - multiplies', 'not ok 2 - divides # TODO later']);
    const one = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: group,
        logStreamNames: [b.record.logs.streamName],
        filterPattern: '?multiplies ?adds',
      }),
    );
    expect(messages(one.events)).toEqual(['not ok 1 - multiplies']);
    await expect(
      logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: '{ $.level = "error" }' })),
    ).rejects.toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 400 } });
  });

  it('answers operations it does not serve with AWS-shaped errors', async () => {
    await expect(codebuild.send(new StartBuildCommand({ projectName: 'web-build' }))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: expect.stringContaining('CodeBuild StartBuild'),
      $metadata: { httpStatusCode: 400 },
    });
    await expect(logs.send(new DescribeLogGroupsCommand({}))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: expect.stringContaining('CloudWatch Logs DescribeLogGroups'),
    });
    const unknown = await jsonCall(sb.sandbox.endpoint, 'Logs_20140328.Nope', {});
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body)).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('serves the AWS CLI: codebuild batch-get-builds, logs get-log-events and filter-log-events', async () => {
    const build = failedBuild('cli-build', ['not ok 1 - release gate']);
    const { groupName, streamName } = build.record.logs;
    const builds = await awsCli(sb.sandbox.endpoint, ['codebuild', 'batch-get-builds', '--ids', build.id]);
    expect(builds.code, builds.stderr).toBe(0);
    expect(builds.json.builds[0]).toMatchObject({
      id: build.id,
      buildStatus: 'FAILED',
      logs: { groupName, streamName },
    });
    expect(builds.json.builds[0].phases[6]).toMatchObject({
      phaseType: 'BUILD',
      phaseStatus: 'FAILED',
      contexts: [FAILED_CONTEXT],
    });
    const events = await awsCli(sb.sandbox.endpoint, [
      'logs',
      'get-log-events',
      '--log-group-name',
      groupName,
      '--log-stream-name',
      streamName,
      '--start-from-head',
      '--limit',
      '2',
    ]);
    expect(events.code, events.stderr).toBe(0);
    expect(events.json.events.map((e: { message: string }) => e.message)).toEqual([
      '[Container] 2026/01/22 23:28:03.574 Running on the sandbox\n',
      '[Container] 2026/01/22 23:28:04.000 Running command node --test\n',
    ]);
    const next = await awsCli(sb.sandbox.endpoint, [
      'logs',
      'get-log-events',
      '--log-group-name',
      groupName,
      '--log-stream-name',
      streamName,
      '--start-from-head',
      '--next-token',
      events.json.nextForwardToken,
    ]);
    expect(next.json.events.map((e: { message: string }) => e.message)).toEqual([
      'not ok 1 - release gate\n',
    ]);
    const filtered = await awsCli(sb.sandbox.endpoint, [
      'logs',
      'filter-log-events',
      '--log-group-name',
      groupName,
      '--filter-pattern',
      '"not ok"',
    ]);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.json.events).toHaveLength(1);
    const missing = await awsCli(sb.sandbox.endpoint, [
      'logs',
      'get-log-events',
      '--log-group-name',
      '/aws/codebuild/nope',
      '--log-stream-name',
      'x',
    ]);
    expect(missing.errorCode).toBe('ResourceNotFoundException');
    expect(missing.stderr).toContain('The specified log group does not exist.');
  });
});
