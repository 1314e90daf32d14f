/**
 * The CodeBuild action runner on its own: real buildspecs run by bash in a scratch copy, with the
 * buildspec semantics CodeBuild documents (phase order and transitions, on-failure, finally, env
 * carried across phases, CODEBUILD_* variables, artifacts globs, base-directory, discard-paths,
 * exported variables, timeout) and the log served over HTTP.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/sandbox/clock.ts';
import { CodeBuildService } from '../../src/sandbox/codebuild/index.ts';
import { CodeBuildRunner } from '../../src/sandbox/codepipeline/runners/build.ts';
import { parseBuildspec } from '../../src/sandbox/codepipeline/runners/buildspec.ts';
import type { ActionProgress, ActionRunContext } from '../../src/sandbox/codepipeline/runners/types.ts';
import { EventLog } from '../../src/sandbox/events.ts';
import { LogsService } from '../../src/sandbox/logs/index.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import type { SandboxRuntime } from '../../src/sandbox/types.ts';

describe('CodeBuild action runner', () => {
  let dir: string;
  let runtime: SandboxRuntime;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cp-build-'));
    runtime = {
      accountId: '000000000000',
      region: 'eu-west-1',
      clock: new Clock(0.001),
      events: new EventLog(),
      processes: new ProcessTracker(),
      dataDir: path.join(dir, 'data'),
      edgeUrl: () => 'http://127.0.0.1:1',
      edgePort: () => 1,
    };
  });
  afterEach(async () => {
    runtime.clock.stop();
    expect(runtime.processes.groups().filter((g) => ProcessTracker.alive(g.pgid))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `buildspec` over `files` and returns the result, the output artifact's files and the log. */
  async function build(
    buildspec: string,
    files: Record<string, string> = {},
    options: { timeoutMs?: number; outputs?: string[]; signal?: AbortSignal } = {},
  ) {
    const src = path.join(dir, 'input');
    await rm(src, { recursive: true, force: true });
    for (const [name, text] of Object.entries({ 'buildspec.yml': buildspec, ...files })) {
      await mkdir(path.dirname(path.join(src, name)), { recursive: true });
      await writeFile(path.join(src, name), text);
    }
    const outputs = (options.outputs ?? ['BuildArtifact']).map((name) => ({
      name,
      dir: path.join(dir, 'out', name),
    }));
    for (const o of outputs) {
      await rm(o.dir, { recursive: true, force: true });
      await mkdir(o.dir, { recursive: true });
    }
    const logs = new LogsService(runtime);
    const codebuild = new CodeBuildService(runtime, { logs });
    const runner = new CodeBuildRunner({
      codebuild,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    const updates: ActionProgress[] = [];
    const ctx: ActionRunContext = {
      runtime,
      pipelineName: 'p',
      pipelineExecutionId: '11111111-2222-3333-4444-555555555555',
      stageName: 'Build',
      action: {
        name: 'Build',
        actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
        configuration: { ProjectName: 'proj' },
      },
      actionExecutionId: 'a',
      inputArtifacts: [{ name: 'SourceArtifact', dir: src }],
      outputArtifacts: outputs,
      inputRevision: 'c0ffee',
      signal: options.signal ?? new AbortController().signal,
      abandoned: new AbortController().signal,
      update: (p) => updates.push(p),
    };
    const result = await runner.run(ctx);
    const log = await readFile(runner.logFile(result.externalExecutionId!)!, 'utf8');
    const out: Record<string, string[]> = {};
    for (const o of outputs) out[o.name] = (await readdir(o.dir, { recursive: true })).map(String).sort();
    const record = codebuild.store.builds.get(result.externalExecutionId!)!;
    const stream = logs.events(record.logs.groupName, record.logs.streamName) ?? [];
    return { result, log, out, updates, runner, record, stream };
  }

  it('runs the phases in order with env.variables, CODEBUILD_* variables, and state carried across phases', async () => {
    const { result, log, updates } = await build(`version: 0.2
env:
  variables:
    STAGE: test
    COUNT: 3
phases:
  install:
    commands:
      - export FROM_INSTALL=yes
      - mkdir -p sub && cd sub
  pre_build:
    commands:
      - echo "pre_build in $(basename "$PWD") with FROM_INSTALL=$FROM_INSTALL"
  build:
    commands:
      - echo "STAGE=$STAGE COUNT=$COUNT id=$CODEBUILD_BUILD_ID"
      - echo "src=$(basename "$CODEBUILD_SRC_DIR") commit=$CODEBUILD_RESOLVED_SOURCE_VERSION succeeding=$CODEBUILD_BUILD_SUCCEEDING region=$AWS_REGION"
      - |
        for i in 1 2; do
          echo "multi-line $i"
        done
  post_build:
    commands:
      - echo "post_build"
artifacts:
  files: ['**/*']
`);
    expect(result.status).toBe('Succeeded');
    expect(result.externalExecutionId).toMatch(/^proj:[0-9a-f-]{36}$/);
    expect(updates[0]?.externalExecutionUrl).toBe(
      `http://127.0.0.1:1/_sandbox/builds/${encodeURIComponent(result.externalExecutionId!)}/log`,
    );
    expect(log).toContain('pre_build in sub with FROM_INSTALL=yes');
    expect(log).toContain(`STAGE=test COUNT=3 id=${result.externalExecutionId}`);
    expect(log).toContain('src=src commit=c0ffee succeeding=1 region=eu-west-1');
    expect(log).toContain('multi-line 2');
    const order = [
      'Entering phase INSTALL',
      'Entering phase PRE_BUILD',
      'Entering phase BUILD',
      'Entering phase POST_BUILD',
      'Entering phase UPLOAD_ARTIFACTS',
    ].map((p) => log.indexOf(p));
    expect(order.every((v, i) => v >= 0 && (i === 0 || v > order[i - 1]!))).toBe(true);
  });

  it('stops a phase at the first failing command, still runs finally and post_build, and fails with the summary CodeBuild gives', async () => {
    const { result, log, record, stream } = await build(`version: 0.2
phases:
  build:
    commands:
      - 'echo "test output: expected 3, got 2" >&2'
      - exit 7
      - echo "never printed"
    finally:
      - echo "finally ran"
  post_build:
    commands:
      - echo "post_build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: ['**/*']
`);
    expect(result.status).toBe('Failed');
    expect(log).not.toContain('never printed');
    expect(log).toContain('finally ran');
    expect(log).toContain('post_build sees succeeding=0');
    // As on AWS: the action's errorDetails is CodeBuild's one-line summary; the output is in the log only.
    expect(result.errorDetails).toEqual({
      code: 'JobFailed',
      message:
        'Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: exit 7. Reason: exit status 7',
    });
    expect(result.externalExecutionId).toBe(record.id);
    expect(record.buildStatus).toBe('FAILED');
    expect(record.phases.map((p) => `${p.phaseType}:${p.phaseStatus ?? '-'}`)).toEqual([
      'SUBMITTED:SUCCEEDED',
      'QUEUED:SUCCEEDED',
      'PROVISIONING:SUCCEEDED',
      'DOWNLOAD_SOURCE:SUCCEEDED',
      'INSTALL:SUCCEEDED',
      'PRE_BUILD:SUCCEEDED',
      'BUILD:FAILED',
      'POST_BUILD:SUCCEEDED',
      'UPLOAD_ARTIFACTS:SUCCEEDED',
      'FINALIZING:SUCCEEDED',
      'COMPLETED:-',
    ]);
    expect(record.phases[6]?.contexts).toEqual([
      {
        statusCode: 'COMMAND_EXECUTION_ERROR',
        message: 'Error while executing command: exit 7. Reason: exit status 7',
      },
    ]);
    const lines = stream.map((e) => e.message);
    expect(lines).toContain('test output: expected 3, got 2\n');
    expect(lines.every((m) => m.endsWith('\n'))).toBe(true);
    expect(lines.join('')).toContain(
      'Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: exit 7. Reason: exit status 7',
    );
  });

  it('ends the build at a failed pre_build, and goes on with on-failure: CONTINUE', async () => {
    const aborted = await build(`version: 0.2
phases:
  pre_build:
    commands: [ "false" ]
  build:
    commands: [ "echo build ran" ]
`);
    expect(aborted.result.status).toBe('Failed');
    expect(aborted.log).not.toContain('build ran');
    expect(aborted.result.errorDetails?.message).toContain('Phase: PRE_BUILD');
    // A failed PRE_BUILD goes straight to FINALIZING: no BUILD, no upload.
    expect(aborted.record.phases.map((p) => p.phaseType).slice(-4)).toEqual([
      'INSTALL',
      'PRE_BUILD',
      'FINALIZING',
      'COMPLETED',
    ]);

    const continued = await build(`version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands: [ "false" ]
  build:
    commands: [ "echo build ran with succeeding=$CODEBUILD_BUILD_SUCCEEDING" ]
`);
    expect(continued.log).toContain('build ran with succeeding=0');
    expect(continued.result.status).toBe('Failed');
  });

  it('collects artifacts with base-directory, discard-paths and exclude-paths; no match fails UPLOAD_ARTIFACTS', async () => {
    const files = { 'dist/app.js': 'js', 'dist/lib/util.js': 'u', 'dist/notes.md': 'n', 'README.md': 'r' };
    const based = await build(
      `version: 0.2
phases:
  build:
    commands: [ "true" ]
artifacts:
  base-directory: dist
  files: ['**/*']
  exclude-paths: ['*.md']
`,
      files,
    );
    expect(based.out.BuildArtifact).toEqual(['app.js', 'lib', 'lib/util.js']);
    const flat = await build(
      `version: 0.2
phases:
  build:
    commands: [ "true" ]
artifacts:
  files: ['dist/**/*.js']
  discard-paths: yes
`,
      files,
    );
    expect(flat.out.BuildArtifact).toEqual(['app.js', 'util.js']);
    const none = await build(`version: 0.2
phases:
  build:
    commands: [ "true" ]
artifacts:
  files: ['nothing/**/*']
`);
    expect(none.result.status).toBe('Failed');
    expect(none.result.errorDetails?.message).toContain(
      'Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: no matching artifact paths found',
    );
  });

  it('exports env.exported-variables as output variables', async () => {
    const { result } = await build(`version: 0.2
env:
  exported-variables: [ IMAGE_TAG, BUILT_AT ]
phases:
  build:
    commands:
      - export IMAGE_TAG=v42
      - export BUILT_AT=now
artifacts:
  files: ['**/*']
`);
    expect(result.outputVariables).toEqual({ IMAGE_TAG: 'v42', BUILT_AT: 'now' });
  });

  it('fails without a buildspec.yml, on invalid YAML and on parameter-store variables it cannot resolve', async () => {
    const missing = await build('', {});
    // An empty file is not a buildspec.
    expect(missing.result.errorDetails?.message).toContain('YAML_FILE_ERROR');
    const unquoted = await build('version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n');
    expect(unquoted.result.errorDetails?.message).toContain(
      'Expected phases.build.commands[0] to be of string type',
    );
    const invalid = await build('version: 0.2\nphases: [\n');
    expect(invalid.result.errorDetails?.message).toContain(
      'Code: YAML_FILE_ERROR, Message: buildspec.yml is not valid YAML',
    );
    const ssm = await build(
      'version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /prod/token\nphases:\n  build:\n    commands: [ "true" ]\n',
    );
    expect(ssm.result.errorDetails?.message).toContain('TOKEN');
    expect(ssm.result.errorDetails?.message).toContain('cannot be resolved in the sandbox');
  });

  it('times out a build that runs past its timeout and kills its processes', async () => {
    const { result, log } = await build(
      'version: 0.2\nphases:\n  build:\n    commands:\n      - (sleep 30 &) ; sleep 30\n',
      {},
      { timeoutMs: 400 },
    );
    expect(result.status).toBe('Failed');
    expect(result.errorDetails?.message).toBe(
      'Build terminated with state: TIMED_OUT. Phase: BUILD, Code: BUILD_TIMED_OUT, Message: Build has timed out. ',
    );
    expect(log).toContain('Build timed out');
  });

  it('reports runtime-versions and skips system package installs in the log instead of faking them', async () => {
    const { result, log } = await build(
      `version: 0.2
phases:
  install:
    runtime-versions:
      nodejs: 22
      python: 3.12
    commands:
      - apt-get install -y jq
      - echo installed
`,
      {},
      { outputs: [] },
    );
    expect(result.status).toBe('Succeeded');
    expect(log).toContain(
      'runtime-versions {"nodejs":"22","python":"3.12"} cannot be installed on this machine',
    );
    expect(log).toContain(
      'Skipping command apt-get install -y jq: system package installs cannot apply on this machine',
    );
    expect(log).toContain('installed');
  });

  it('serves the whole log at the build URL and 404 for an unknown build', async () => {
    const { result, runner } = await build(
      'version: 0.2\nphases:\n  build:\n    commands: [ "echo hello from the build" ]\n',
      {},
      { outputs: [] },
    );
    const route = runner.route();
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (route.match(req, url)) void route.handle(req, res, url);
      else res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const ok = await fetch(
        `http://127.0.0.1:${port}/_sandbox/builds/${encodeURIComponent(result.externalExecutionId!)}/log`,
      );
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('hello from the build');
      const missing = await fetch(`http://127.0.0.1:${port}/_sandbox/builds/nope/log`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toContain('No build nope');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('parses buildspec lists given as a single string and rejects unknown phases', () => {
    expect(
      parseBuildspec('version: 0.2\nphases:\n  build:\n    commands: npm test\n').phases.build?.commands,
    ).toEqual(['npm test']);
    expect(() => parseBuildspec('version: 0.2\nphases:\n  deploy:\n    commands: [x]\n')).toThrow(
      /unknown phase "deploy"/,
    );
    expect(() => parseBuildspec('phases: {}\n')).toThrow(/missing top-level key "version"/);
  });
});
