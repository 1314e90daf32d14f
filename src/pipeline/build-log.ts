/**
 * Why a CodeBuild action failed, from its build's log. On AWS the action's `errorDetails` only say which
 * command failed (`Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message:
 * Error while executing command: node --test. Reason: exit status 1`); what it printed (the failing test) is in
 * the build's CloudWatch Logs stream. So: BatchGetBuilds with the action's `externalExecutionId` (the build id)
 * gives `logs.groupName`/`logs.streamName`, GetLogEvents (the latest pages, read backwards) gives the lines.
 * aws-semantics-cfn-codebuild-logs §4.3–4.5, §5, §6 items 6 and 8.
 */
import { BatchGetBuildsCommand, type Build, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { type BuildLog, WaitTimeoutError } from '../errors.ts';
import { errorLine, type IntervalOptions, isAccessDenied, isTransientError, poll } from '../poll.ts';

/** The clients reading a build's log. */
export interface BuildLogClients {
  codebuild: CodeBuildClient;
  logs: CloudWatchLogsClient;
}

/** Options of {@link readBuildLog}. */
export interface ReadBuildLogOptions {
  /**
   * How long to wait for the end of the log (the failed phase's `Phase complete: … State: FAILED` line): on AWS
   * the last lines may reach CloudWatch Logs seconds after the build ended (§5.4). Throttling is retried
   * within it too.
   * @default 15000 (ms)
   */
  settleTimeout?: number;
  /** At most this many GetLogEvents pages (each up to 10,000 lines / 1 MB) are read, newest first. @default 5 */
  maxPages?: number;
  interval?: IntervalOptions;
  signal?: AbortSignal;
}

/** A CodeBuild build id (`<project>:<uuid>`; project names are `[A-Za-z0-9][A-Za-z0-9\-_]{1,254}`). */
const BUILD_ID =
  /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** CodeBuild's agent lines: `[Container] 2026/01/22 23:28:03.574404 …`. */
const AGENT_LINE = /^\[Container\] \S+ \S+ /;
const COMMAND_FAILED = /^\[Container\] \S+ \S+ Command did not exit successfully /;
const COMMAND_STARTED = /^\[Container\] \S+ \S+ Running command /;
/** The log reached the failure: the failed phase's end (written before FINALIZING). */
const FAILURE_WRITTEN =
  /\[Container\] \S+ \S+ (Phase complete: \S+ State: (FAILED|TIMED_OUT|STOPPED|FAULT)|Phase context status code: [A-Z][A-Z_ ]+ Message:)/;
const TAIL_LINES = 40;
const TAIL_CHARS = 4000;

/**
 * True when an action's `externalExecutionId` is a CodeBuild build id (`<project>:<uuid>`).
 *
 * @example
 * isBuildId('web-build:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70'); // true
 * isBuildId('d-7Q2XK1ABC'); // false (a CodeDeploy deployment)
 */
export function isBuildId(id: string | undefined): id is string {
  return id !== undefined && BUILD_ID.test(id);
}

/**
 * The tests a test runner's output reports failed, in order, each once:
 * - node --test's TAP reporter (the default before Node 23 when stdout is not a terminal): `not ok N - <name>`,
 *   TAP escapes undone, leaving out TODO/SKIP directives and suites that failed only through a subtest
 *   (`failureType: 'subtestsFailed'`);
 * - its spec reporter (the default since Node 23): the `✖ <name> (1.2ms)` lines of the `✖ failing tests:`
 *   summary when there is one, else every `✖` line but those of suites (`▶ <name>`).
 *
 * @example
 * failingTestsOf('ok 1 - adds\nnot ok 2 - release gate: breaks\n'); // ['release gate: breaks']
 * failingTestsOf('▶ math\n  ✖ adds (0.7ms)\n✖ math (1.5ms)\n'); // ['adds']
 */
export function failingTestsOf(output: string): string[] {
  const lines = output.split('\n').map((l) => l.trimEnd());
  const names: string[] = [];
  for (const [i, line] of lines.entries()) {
    const tap = /^\s*not ok \d+(?: - (.*))?$/.exec(line);
    if (!tap) continue;
    const name = tap[1] ?? '';
    // An unescaped `# TODO` / `# SKIP` directive: not a failure in TAP.
    if (/(?:^|[^\\])#\s*(TODO|SKIP)\b/i.test(name)) continue;
    if (subtestsFailed(lines, i)) continue;
    const unescaped = name.replace(/\\([\\#])/g, '$1').trim();
    if (unescaped) names.push(unescaped);
  }
  const spec = (from: number) =>
    lines
      .slice(from)
      .map((l) => /^\s*✖ (.+?) \(\d+(?:\.\d+)?m?s\)$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
  const summary = lines.findIndex((l) => /^\s*✖ failing tests:$/.test(l));
  if (summary >= 0) names.push(...spec(summary + 1));
  else {
    const suites = new Set(lines.map((l) => /^\s*▶ (.+)$/.exec(l)?.[1]).filter(Boolean));
    names.push(...spec(0).filter((n) => !suites.has(n)));
  }
  return [...new Set(names)];
}

/** True when the YAML block after a `not ok` line says the test failed only because a subtest did. */
function subtestsFailed(lines: readonly string[], at: number): boolean {
  if (!/^\s*---\s*$/.test(lines[at + 1] ?? '')) return false;
  for (let j = at + 2; j < Math.min(lines.length, at + 40); j++) {
    const line = lines[j]!;
    if (/^\s*\.\.\.\s*$/.test(line)) return false;
    if (/failureType: '?subtestsFailed'?/.test(line)) return true;
  }
  return false;
}

/** What a log says about its failure: the failing command's output, the tests it names, whether it is whole. */
export interface BuildLogAnalysis {
  failingTests: string[];
  tail: string;
  /** True once the log holds the failed phase's end (nothing more about the failure will arrive). */
  complete: boolean;
}

/**
 * Reads a CodeBuild log's text: the output of the command that failed (between its `Running command` and
 * `Command did not exit successfully` lines; the whole log when those are missing), the tests it names, and
 * its last lines.
 *
 * @example
 * analyzeBuildLog(text).failingTests; // ['release gate: this commit breaks a unit test on purpose']
 */
export function analyzeBuildLog(text: string): BuildLogAnalysis {
  const lines = text.split('\n');
  let end = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (COMMAND_FAILED.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  let section = lines;
  if (end >= 0) {
    let begin = -1;
    for (let i = end - 1; i >= 0; i--) {
      if (COMMAND_STARTED.test(lines[i]!)) {
        begin = i;
        break;
      }
    }
    section = lines.slice(begin + 1, end);
  }
  const output = section.filter((l) => !AGENT_LINE.test(l));
  let failingTests = failingTestsOf(output.join('\n'));
  if (failingTests.length === 0 && section !== lines) failingTests = failingTestsOf(text);
  while (output.length > 0 && output.at(-1)!.trim() === '') output.pop();
  // Nothing printed (a buildspec CodeBuild refused, a phase that failed before any command): CodeBuild's own lines.
  const shown = output.length > 0 ? output : lines.filter((l) => l.trim() !== '');
  let tail = shown.slice(-TAIL_LINES).join('\n');
  if (tail.length > TAIL_CHARS) tail = `…${tail.slice(tail.length - TAIL_CHARS + 1)}`;
  return { failingTests, tail, complete: FAILURE_WRITTEN.test(text) };
}

/** True when the log holds the last failed command from its `Running command` line on. */
function failedCommandInView(text: string): boolean {
  const lines = text.split('\n');
  let i = lines.length - 1;
  while (i >= 0 && !COMMAND_FAILED.test(lines[i]!)) i--;
  while (--i >= 0) if (COMMAND_STARTED.test(lines[i]!)) return true;
  return false;
}

/** The project of a build id. */
function projectOf(buildId: string): string {
  return buildId.slice(0, buildId.lastIndexOf(':'));
}

/** One attempt at reading the build and its log; every failure but a transient one becomes `unreadable`. */
async function readOnce(
  clients: BuildLogClients,
  buildId: string,
  maxPages: number,
  signal: AbortSignal,
): Promise<BuildLog & { complete: boolean }> {
  const none = { buildId, failingTests: [], tail: '', complete: true };
  let build: Build | undefined;
  try {
    const out = await clients.codebuild.send(new BatchGetBuildsCommand({ ids: [buildId] }), {
      abortSignal: signal,
    });
    build = out.builds?.find((b) => b.id === buildId);
  } catch (error) {
    if (isTransientError(error)) throw error;
    return {
      ...none,
      unreadable: isAccessDenied(error)
        ? `BatchGetBuilds was refused (${errorLine(error)}); allow codebuild:BatchGetBuilds on project ` +
          `${projectOf(buildId)} to the harness's role or user`
        : `BatchGetBuilds failed (${errorLine(error)})`,
    };
  }
  if (!build) return { ...none, unreadable: `CodeBuild has no build ${buildId} (buildsNotFound)` };
  const { groupName, streamName, deepLink } = build.logs ?? {};
  const found = {
    ...none,
    ...(build.buildStatus ? { buildStatus: build.buildStatus } : {}),
    ...(groupName && groupName !== 'null' ? { groupName } : {}),
    ...(streamName && streamName !== 'null' ? { streamName } : {}),
    ...(deepLink ? { deepLink } : {}),
  };
  if (build.logs?.cloudWatchLogs?.status === 'DISABLED') {
    return {
      ...found,
      unreadable: `project ${build.projectName ?? projectOf(buildId)} sends no logs to CloudWatch Logs (logsConfig.cloudWatchLogs DISABLED)`,
    };
  }
  if (!found.groupName || !found.streamName) {
    // Early in a build the names may be missing or the literal "null" (§4.3): wait for them.
    return { ...found, complete: false, unreadable: `build ${buildId} names no CloudWatch Logs stream yet` };
  }
  const events: OutputLogEvent[] = [];
  let token: string | undefined;
  try {
    for (let page = 0; page < maxPages; page++) {
      const out = await clients.logs.send(
        new GetLogEventsCommand({
          logGroupName: found.groupName,
          logStreamName: found.streamName,
          startFromHead: false,
          ...(token ? { nextToken: token } : {}),
        }),
        { abortSignal: signal },
      );
      events.unshift(...(out.events ?? []));
      // Backwards: the start of the stream is where the token comes back unchanged (§5.2).
      const next = out.nextBackwardToken;
      if (!next || next === token) break;
      token = next;
      // Enough once the failed command's whole output is in view (usually the first page holds the whole build).
      if (failedCommandInView(events.map((e) => e.message ?? '').join(''))) break;
    }
  } catch (error) {
    if (isTransientError(error)) throw error;
    const where = `${found.groupName} / ${found.streamName}`;
    return {
      ...found,
      unreadable: isAccessDenied(error)
        ? `GetLogEvents was refused (${errorLine(error)}); allow logs:GetLogEvents on log group ` +
          `${found.groupName} to the harness's role or user`
        : (error as { name?: string }).name === 'ResourceNotFoundException'
          ? `the log stream ${where} does not exist (${errorLine(error)})`
          : `GetLogEvents on ${where} failed (${errorLine(error)})`,
    };
  }
  // Each event is one line; CodeBuild's end with "\n", other writers' may not.
  const text = events.map((e) => (e.message ?? '').replace(/\n?$/, '\n')).join('');
  const analysis = analyzeBuildLog(text);
  return { ...found, failingTests: analysis.failingTests, tail: analysis.tail, complete: analysis.complete };
}

/**
 * Reads the build behind a failed CodeBuild action and what its log says: the failing tests and the end of the
 * failing command's output. Never throws for AWS's answers: a build or log that cannot be read (a refused call
 * names the IAM action to allow) comes back with `unreadable` saying why.
 *
 * @example
 * ```ts
 * const log = await readBuildLog({ codebuild, logs }, 'web-build:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70');
 * log.failingTests; // ['release gate: this commit breaks a unit test on purpose']
 * ```
 */
export async function readBuildLog(
  clients: BuildLogClients,
  buildId: string,
  options: ReadBuildLogOptions = {},
): Promise<BuildLog> {
  const settleTimeout = options.settleTimeout ?? 15_000; // ms
  const maxPages = options.maxPages ?? 5;
  let state: (BuildLog & { complete: boolean }) | undefined;
  try {
    state = await poll(({ signal }) => readOnce(clients, buildId, maxPages, signal), {
      timeout: settleTimeout,
      what: `the log of build ${buildId}`,
      describe: (s) => `${s.unreadable ?? ''} ${s.tail.length} ${s.complete}`,
      isDone: (s) => s.complete,
      ...(options.interval ? { interval: options.interval } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) {
      return { buildId, failingTests: [], tail: '', unreadable: `reading it failed (${errorLine(error)})` };
    }
    // The log never showed the failure's end in time: report what it holds (or why nothing was read).
    state = error.lastState as typeof state;
    if (!state) {
      return {
        buildId,
        failingTests: [],
        tail: '',
        unreadable: `no answer within ${settleTimeout} ms (${error.message})`,
      };
    }
  }
  const { complete: _, ...log } = state;
  return log;
}

/**
 * The sentence an `ExecutionFailedError` adds for a build's log: the failing tests, else the last lines, else
 * why the log could not be read.
 *
 * @example
 * describeBuildLog(log); // 'failing test: "release gate: …" (log /aws/codebuild/web-build 5f1c…)'
 */
export function describeBuildLog(log: BuildLog): string {
  const where = log.groupName && log.streamName ? ` (log ${log.groupName} ${log.streamName})` : '';
  if (log.failingTests.length > 0) {
    const s = log.failingTests.length === 1 ? '' : 's';
    return `failing test${s}: ${log.failingTests.map((t) => `"${t}"`).join(', ')}${where}`;
  }
  if (log.unreadable) return `the build log could not be read: ${log.unreadable}`;
  const last = log.tail
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-3)
    .join(' | ');
  return last ? `the build log ends: ${last}${where}` : `the build log is empty${where}`;
}
