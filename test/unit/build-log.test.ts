/**
 * A failed CodeBuild action as AWS reports it (aws-sdk-client-mock): `errorDetails` say only which command
 * failed (aws-semantics-cfn-codebuild-logs §4.5), the test output is in CloudWatch Logs (§4.3, §5). The harness
 * reads the build and its log and names the failing test; a log it may not read (AccessDenied) still leaves the
 * failure reported, saying which IAM action to allow.
 */
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, type Build, CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExecutionFailedError } from '../../src/errors.ts';
import { analyzeBuildLog, failingTestsOf, readBuildLog } from '../../src/pipeline/build-log.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';

const OURS = '4f2e9a10-0000-4000-8000-000000000001';
const BUILD_ID = 'web-build:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70';
const STREAM = '5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70';
const GROUP = '/aws/codebuild/web-build';
/** AWS's text, verbatim (§4.5, §4.6). */
const AWS_ERROR =
  'Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1';

/** What node --test prints on CodeBuild (Node 22: TAP when stdout is not a terminal). */
const TAP_OUTPUT = `TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 0.5
  type: 'test'
  ...
# Subtest: release gate: this commit breaks a unit test on purpose
not ok 2 - release gate: this commit breaks a unit test on purpose
  ---
  duration_ms: 1.442521
  type: 'test'
  location: '/codebuild/output/src1/src/test/gate.test.js:3:1'
  failureType: 'testCodeFailure'
  error: |-
    codepipeline-harness pushed a failing test to prove BuildAndTest stops the release

    2 !== 3

  code: 'ERR_ASSERTION'
  ...
# Subtest: version
    # Subtest: matches the \\# of the release
    not ok 1 - matches the \\# of the release
      ---
      duration_ms: 0.6
      type: 'test'
      failureType: 'testCodeFailure'
      ...
    # Subtest: reads the VERSION file
    not ok 2 - reads the VERSION file # TODO
      ---
      duration_ms: 0.1
      type: 'test'
      ...
    1..2
not ok 3 - version
  ---
  duration_ms: 1.26025
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  code: 'ERR_TEST_FAILURE'
  ...
1..3
# tests 4
# pass 1
# fail 2
`;

/** The build's log as CodeBuild writes it (§4.2), one event per line, each ending with "\n". */
function codeBuildLog(output: string): string[] {
  const c = (t: string) => `[Container] 2026/01/22 23:28:0${t}`;
  return [
    `${c('3.574404')} Running on CodeBuild On-demand`,
    `${c('3.776060')} Waiting for DOWNLOAD_SOURCE`,
    `${c('4.994410')} Phase is DOWNLOAD_SOURCE`,
    `${c('5.000000')} Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED`,
    `${c('5.000001')} Phase context status code:  Message: `,
    `${c('5.100000')} Entering phase BUILD`,
    `${c('5.100100')} Running command node --version`,
    'v22.11.0',
    `${c('5.200000')} Running command node --test`,
    ...output.trimEnd().split('\n'),
    `${c('7.000000')} Command did not exit successfully node --test exit status 1`,
    `${c('7.000100')} Phase complete: BUILD State: FAILED`,
    `${c('7.000200')} Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: node --test. Reason: exit status 1`,
    `${c('7.100000')} Entering phase POST_BUILD`,
    `${c('7.200000')} Phase complete: POST_BUILD State: SUCCEEDED`,
  ].map((line) => `${line}\n`);
}

const events = (lines: string[]): OutputLogEvent[] =>
  lines.map((message, i) => ({ timestamp: 1735689650000 + i, message, ingestionTime: 1735689651000 + i }));

/** The failed build of §4.6, as BatchGetBuilds returns it. */
const FAILED_BUILD: Build = {
  id: BUILD_ID,
  projectName: 'web-build',
  buildStatus: 'FAILED',
  buildComplete: true,
  currentPhase: 'COMPLETED',
  phases: [
    {
      phaseType: 'BUILD',
      phaseStatus: 'FAILED',
      contexts: [
        {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message: 'Error while executing command: node --test. Reason: exit status 1',
        },
      ],
    },
  ],
  logs: {
    groupName: GROUP,
    streamName: STREAM,
    deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=${GROUP};stream=${STREAM}`,
    cloudWatchLogsArn: `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:log-stream:${STREAM}`,
    cloudWatchLogs: { status: 'ENABLED' },
  },
};

function denied(action: string, resource: string): Error {
  return Object.assign(
    new Error(
      `User: arn:aws:sts::123456789012:assumed-role/harness/ci is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    ),
    { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } },
  );
}

const codepipeline = new CodePipelineClient({ region: 'us-east-1' });
const codebuild = new CodeBuildClient({ region: 'us-east-1' });
const logs = new CloudWatchLogsClient({ region: 'us-east-1' });
const cp = mockClient(codepipeline);
const cb = mockClient(codebuild);
const cw = mockClient(logs);

function pipeline(): Pipeline {
  return new Pipeline({ codepipeline, codebuild, logs, pipelineName: 'web', interval: { min: 5, max: 20 } });
}

/** GetPipelineState/GetPipelineExecution of an execution whose BuildAndTest build failed, as on AWS. */
function failedOnAws(): void {
  cp.on(GetPipelineExecutionCommand).resolves({
    pipelineExecution: { pipelineExecutionId: OURS, status: 'Failed' },
  });
  cp.on(GetPipelineStateCommand).resolves({
    pipelineName: 'web',
    stageStates: [
      {
        stageName: 'BuildAndTest',
        latestExecution: { pipelineExecutionId: OURS, status: 'Failed' },
        actionStates: [
          {
            actionName: 'Build',
            latestExecution: {
              status: 'Failed',
              externalExecutionId: BUILD_ID,
              externalExecutionUrl: `https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/${BUILD_ID}/view/new`,
              errorDetails: { code: 'JobFailed', message: AWS_ERROR },
            },
          },
        ],
      },
    ],
  });
  cp.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: [] });
}

async function failure(): Promise<ExecutionFailedError> {
  const error = await pipeline()
    .waitForStage({ pipelineName: 'web', pipelineExecutionId: OURS }, 'BuildAndTest', 'Succeeded')
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ExecutionFailedError);
  return error as ExecutionFailedError;
}

beforeEach(() => {
  cp.reset();
  cb.reset();
  cw.reset();
});

describe('a failed build on AWS', () => {
  it('names the failing tests from the build log; errorDetails keep the text AWS gives', async () => {
    failedOnAws();
    cb.on(BatchGetBuildsCommand, { ids: [BUILD_ID] }).resolves({
      builds: [FAILED_BUILD],
      buildsNotFound: [],
    });
    cw.on(GetLogEventsCommand, { logGroupName: GROUP, logStreamName: STREAM, startFromHead: false }).resolves(
      {
        events: events(codeBuildLog(TAP_OUTPUT)),
        nextForwardToken: `f/${'3'.repeat(56)}/s`,
        nextBackwardToken: `b/${'0'.repeat(56)}/s`,
      },
    );
    const error = await failure();
    expect(error.failed).toMatchObject({
      stage: 'BuildAndTest',
      action: 'Build',
      errorCode: 'JobFailed',
      errorMessage: AWS_ERROR,
      externalExecutionId: BUILD_ID,
      buildLog: {
        buildId: BUILD_ID,
        buildStatus: 'FAILED',
        groupName: GROUP,
        streamName: STREAM,
        deepLink: FAILED_BUILD.logs!.deepLink,
        failingTests: [
          'release gate: this commit breaks a unit test on purpose',
          'matches the # of the release',
        ],
      },
    });
    expect(error.failed?.buildLog?.unreadable).toBeUndefined();
    expect(error.failed?.buildLog?.tail).toContain('codepipeline-harness pushed a failing test');
    expect(error.failed?.buildLog?.tail).not.toContain('[Container]');
    expect(error.message).toMatchInlineSnapshot(
      `"execution 4f2e9a10-0000-4000-8000-000000000001 of pipeline web failed at stage BuildAndTest, action Build: JobFailed: Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1; failing tests: "release gate: this commit breaks a unit test on purpose", "matches the # of the release" (log /aws/codebuild/web-build 5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70)"`,
    );
  });

  it('still reports the failure when GetLogEvents is denied, naming logs:GetLogEvents to allow', async () => {
    failedOnAws();
    cb.on(BatchGetBuildsCommand).resolves({ builds: [FAILED_BUILD], buildsNotFound: [] });
    cw.on(GetLogEventsCommand).rejects(
      denied(
        'logs:GetLogEvents',
        `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:log-stream:${STREAM}`,
      ),
    );
    const error = await failure();
    expect(error.failed?.errorMessage).toBe(AWS_ERROR);
    expect(error.failed?.buildLog).toMatchObject({
      groupName: GROUP,
      streamName: STREAM,
      failingTests: [],
      tail: '',
    });
    expect(cw.commandCalls(GetLogEventsCommand)).toHaveLength(1);
    expect(error.message).toMatchInlineSnapshot(
      `"execution 4f2e9a10-0000-4000-8000-000000000001 of pipeline web failed at stage BuildAndTest, action Build: JobFailed: Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: node --test. Reason: exit status 1; the build log could not be read: GetLogEvents was refused (AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/harness/ci is not authorized to perform: logs:GetLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/web-build:log-stream:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70 because no identity-based policy allows the logs:GetLogEvents action); allow logs:GetLogEvents on log group /aws/codebuild/web-build to the harness's role or user"`,
    );
  });

  it('still reports the failure when BatchGetBuilds is denied, naming codebuild:BatchGetBuilds to allow', async () => {
    failedOnAws();
    cb.on(BatchGetBuildsCommand).rejects(
      denied('codebuild:BatchGetBuilds', 'arn:aws:codebuild:us-east-1:123456789012:project/web-build'),
    );
    const error = await failure();
    expect(error.failed?.errorMessage).toBe(AWS_ERROR);
    expect(error.failed?.buildLog?.unreadable).toMatch(
      /^BatchGetBuilds was refused \(AccessDeniedException: .*\); allow codebuild:BatchGetBuilds on project web-build to the harness's role or user$/,
    );
    expect(cw.commandCalls(GetLogEventsCommand)).toHaveLength(0);
    expect(error.message).toContain('; the build log could not be read: BatchGetBuilds was refused');
  });

  it('reads no log for an action that is not a build, or without the clients', async () => {
    failedOnAws();
    cp.on(GetPipelineStateCommand).resolves({
      pipelineName: 'web',
      stageStates: [
        {
          stageName: 'BuildAndTest',
          latestExecution: { pipelineExecutionId: OURS, status: 'Failed' },
          actionStates: [
            {
              actionName: 'Deploy',
              latestExecution: {
                status: 'Failed',
                externalExecutionId: 'd-7Q2XK1ABC',
                errorDetails: { code: 'JobFailed', message: 'Deployment d-7Q2XK1ABC failed' },
              },
            },
          ],
        },
      ],
    });
    const error = await failure();
    expect(error.failed?.buildLog).toBeUndefined();
    expect(cb.commandCalls(BatchGetBuildsCommand)).toHaveLength(0);
  });
});

describe('readBuildLog', () => {
  it('pages backwards until the failing command is in view, and stops at the head of the stream', async () => {
    const lines = codeBuildLog(TAP_OUTPUT);
    const cut = lines.findIndex((l) => l.includes('not ok 2 - release gate')) + 5;
    cb.on(BatchGetBuildsCommand).resolves({ builds: [FAILED_BUILD] });
    cw.on(GetLogEventsCommand)
      .resolvesOnce({
        events: events(lines.slice(cut)),
        nextBackwardToken: 'b/2/s',
        nextForwardToken: 'f/9/s',
      })
      .resolvesOnce({
        events: events(lines.slice(0, cut)),
        nextBackwardToken: 'b/1/s',
        nextForwardToken: 'f/2/s',
      });
    const log = await readBuildLog({ codebuild, logs }, BUILD_ID);
    expect(log.failingTests[0]).toBe('release gate: this commit breaks a unit test on purpose');
    const calls = cw.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input.nextToken);
    expect(calls).toEqual([undefined, 'b/2/s']);
  });

  it('waits for the end of a log still arriving (§5.4), then reports what it holds after the settle time', async () => {
    const lines = codeBuildLog(TAP_OUTPUT);
    const end = lines.findIndex((l) => l.includes('Phase complete: BUILD State: FAILED'));
    cb.on(BatchGetBuildsCommand).resolves({ builds: [FAILED_BUILD] });
    cw.on(GetLogEventsCommand)
      .resolvesOnce({ events: events(lines.slice(0, 5)), nextBackwardToken: 'b/0/s' })
      .resolves({ events: events(lines.slice(0, end + 2)), nextBackwardToken: 'b/0/s' });
    const log = await readBuildLog({ codebuild, logs }, BUILD_ID, { interval: { min: 5, max: 10 } });
    expect(log.failingTests).toHaveLength(2);
    expect(cw.commandCalls(GetLogEventsCommand).length).toBeGreaterThanOrEqual(2);

    cw.reset();
    cw.on(GetLogEventsCommand).resolves({ events: events(lines.slice(0, 5)), nextBackwardToken: 'b/0/s' });
    const partial = await readBuildLog({ codebuild, logs }, BUILD_ID, {
      settleTimeout: 100,
      interval: { min: 5, max: 10 },
    });
    expect(partial).toMatchObject({ groupName: GROUP, failingTests: [] });
    expect(partial.tail).toContain('Phase is DOWNLOAD_SOURCE');
  });

  it('says so when the build is gone or logs to S3 only', async () => {
    cb.on(BatchGetBuildsCommand).resolves({ builds: [], buildsNotFound: [BUILD_ID] });
    expect((await readBuildLog({ codebuild, logs }, BUILD_ID)).unreadable).toBe(
      `CodeBuild has no build ${BUILD_ID} (buildsNotFound)`,
    );
    cb.on(BatchGetBuildsCommand).resolves({
      builds: [{ ...FAILED_BUILD, logs: { cloudWatchLogs: { status: 'DISABLED' }, groupName: 'null' } }],
    });
    expect((await readBuildLog({ codebuild, logs }, BUILD_ID)).unreadable).toBe(
      'project web-build sends no logs to CloudWatch Logs (logsConfig.cloudWatchLogs DISABLED)',
    );
  });
});

describe('failingTestsOf', () => {
  it('reads TAP: leaf failures only, escapes undone, TODO and suites left out', () => {
    expect(failingTestsOf(TAP_OUTPUT)).toEqual([
      'release gate: this commit breaks a unit test on purpose',
      'matches the # of the release',
    ]);
  });

  it('reads the spec reporter: the failing-tests summary, else the ✖ lines that are not suites', () => {
    const spec = [
      '✖ release gate: this commit breaks a unit test on purpose (1.763567ms)',
      '▶ version',
      '  ✖ matches the # of the release (0.708491ms)',
      '  ✔ reads the VERSION file (0.20899ms) # TODO',
      '✖ version (1.537962ms)',
      'ℹ tests 3',
    ];
    expect(failingTestsOf(spec.join('\n'))).toEqual([
      'release gate: this commit breaks a unit test on purpose',
      'matches the # of the release',
    ]);
    const summary = [
      ...spec,
      '',
      '✖ failing tests:',
      '',
      'test at test/gate.test.js:3:1',
      '✖ release gate: this commit breaks a unit test on purpose (1.763567ms)',
      '  AssertionError [ERR_ASSERTION]: codepipeline-harness pushed a failing test',
    ];
    expect(failingTestsOf(summary.join('\n'))).toEqual([
      'release gate: this commit breaks a unit test on purpose',
    ]);
  });

  it('keeps the failing command output as the tail, CodeBuild lines left out', () => {
    const analysis = analyzeBuildLog(codeBuildLog('some output\nError: boom').join(''));
    expect(analysis).toEqual({ failingTests: [], tail: 'some output\nError: boom', complete: true });
  });
});
