/**
 * One running build as CodeBuild records it: the phase records BatchGetBuilds shows and the output lines its
 * CloudWatch Logs stream holds. The build runner drives it (enter a phase, end it with a status and a
 * context, write output); the record and the log follow AWS's shapes (aws-semantics-cfn-codebuild-logs
 * §4.2: contiguous phases, SUBMITTED and QUEUED first, FINALIZING then COMPLETED last; §4.3, §5.4: one event
 * per output line, each message ending with `\n`).
 *
 * Memory is bounded whatever a build prints: the stream keeps the first {@link RETAINED_HEAD_CHARS} of output as
 * it comes and, past that, only the last {@link RETAINED_TAIL_CHARS} (one GetLogEvents page, what a reader of the
 * stream's end gets), written when the build ends after one line saying how much was left out. The runner's
 * `build.log` (the action's `externalExecutionUrl`) still holds every line.
 *
 * @example
 * const build = codebuild.startBuild({ projectName: 'web', initiator: 'codepipeline/web-pipeline' });
 * build.enterPhase('BUILD');
 * build.write('not ok 1 - adds\n');
 * build.endPhase('FAILED', { statusCode: 'COMMAND_EXECUTION_ERROR', message: 'Error while executing command: node --test. Reason: exit status 1' });
 * build.finish('FAILED');
 */
import type { LogsService } from '../logs/index.ts';
import type { BuildRecord, BuildStatus, PhaseContext, PhaseType } from './store.ts';

/** Output a build's stream keeps from its start: 4 MiB of characters. */
export const RETAINED_HEAD_CHARS = 4 * 1024 * 1024;
/** Output past the head kept from its end: 1 MiB, one GetLogEvents page (§5.1). */
export const RETAINED_TAIL_CHARS = 1024 * 1024;
/** A line longer than one CloudWatch Logs event (256 KiB with its 26 bytes of overhead) is cut into events. */
const MAX_LINE_CHARS = 256 * 1024 - 26;

export class BuildRun {
  readonly record: BuildRecord;
  readonly #logs: LogsService;
  readonly #now: () => Date;
  /** Output after the last line end, written as an event when the line ends (or the build does). */
  #partial = '';
  /** Characters written to the stream so far (the head). */
  #kept = 0;
  /** Lines past the head, oldest first from `#tailStart`; at most about RETAINED_TAIL_CHARS of them. */
  #tail: string[] = [];
  #tailStart = 0;
  #tailChars = 0;
  /** Lines (and characters) past the head that fell out of the tail. */
  #droppedLines = 0;
  #droppedChars = 0;

  constructor(record: BuildRecord, logs: LogsService, now: () => Date) {
    this.record = record;
    this.#logs = logs;
    this.#now = now;
  }

  get id(): string {
    return this.record.id;
  }

  /** True once {@link BuildRun.finish} ran. */
  get finished(): boolean {
    return this.record.endTime !== undefined;
  }

  /** Appends build output: every complete line becomes one log event (a line past 256 KiB is cut). */
  write(text: string): void {
    if (this.finished || text === '') return;
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    // A line that never ends must not grow without bound either: it is cut as CloudWatch Logs would.
    while (this.#partial.length > MAX_LINE_CHARS) {
      lines.push(this.#partial.slice(0, MAX_LINE_CHARS));
      this.#partial = this.#partial.slice(MAX_LINE_CHARS);
    }
    const head: string[] = [];
    for (const line of lines) {
      const message = `${line}\n`;
      if (this.#tailChars === 0 && this.#kept + message.length <= RETAINED_HEAD_CHARS) {
        head.push(message);
        this.#kept += message.length;
      } else this.#toTail(message);
    }
    if (head.length > 0) {
      const { groupName, streamName } = this.record.logs;
      this.#logs.append(groupName, streamName, head);
    }
  }

  /** Characters of output not in the stream (past the head, fallen out of the tail). */
  get droppedChars(): number {
    return this.#droppedChars;
  }

  #toTail(message: string): void {
    this.#tail.push(message);
    this.#tailChars += message.length;
    while (this.#tailChars > RETAINED_TAIL_CHARS && this.#tailStart < this.#tail.length - 1) {
      const old = this.#tail[this.#tailStart]!;
      this.#tailStart += 1;
      this.#tailChars -= old.length;
      this.#droppedLines += 1;
      this.#droppedChars += old.length;
    }
    if (this.#tailStart > 1024 && this.#tailStart * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailStart);
      this.#tailStart = 0;
    }
  }

  /** Starts a phase; a phase still in progress ends SUCCEEDED first. */
  enterPhase(phaseType: PhaseType): void {
    if (this.finished) return;
    const current = this.record.phases.at(-1);
    if (current && current.phaseStatus === undefined) this.endPhase('SUCCEEDED');
    // Contiguous, as AWS shows them: a phase starts when the one before it ended (one clock reading, not two).
    this.record.phases.push({ phaseType, startTime: current?.endTime ?? this.#now() });
  }

  /** Ends the phase in progress with a status and (for a failure) the context AWS shows. */
  endPhase(status: BuildStatus, context?: PhaseContext): void {
    const current = this.record.phases.at(-1);
    if (this.finished || !current || current.phaseStatus !== undefined) return;
    current.phaseStatus = status;
    current.endTime = this.#now();
    current.contexts = [context ?? { statusCode: '', message: '' }];
  }

  /** Ends the build: the phase in progress ends SUCCEEDED, COMPLETED starts, the status and end time are set. */
  finish(status: Exclude<BuildStatus, 'IN_PROGRESS'>, exported?: Record<string, string>): void {
    if (this.finished) return;
    if (this.#partial !== '') this.write('\n');
    const tail = this.#tail.slice(this.#tailStart);
    if (tail.length > 0) {
      const { groupName, streamName } = this.record.logs;
      const notice =
        this.#droppedLines > 0
          ? [
              `[Sandbox] ${this.#droppedLines} line(s) (${this.#droppedChars} characters) of output are not in this stream, which keeps the first ${RETAINED_HEAD_CHARS} and the last ${RETAINED_TAIL_CHARS} characters; the build's log file holds every line\n`,
            ]
          : [];
      this.#logs.append(groupName, streamName, [...notice, ...tail]);
      this.#tail = [];
      this.#tailStart = 0;
      this.#tailChars = 0;
    }
    const current = this.record.phases.at(-1);
    if (current && current.phaseStatus === undefined) this.endPhase('SUCCEEDED');
    const end = current?.endTime ?? this.#now();
    this.record.phases.push({ phaseType: 'COMPLETED', startTime: end });
    this.record.buildStatus = status;
    this.record.endTime = end;
    if (exported) {
      this.record.exportedEnvironmentVariables = Object.entries(exported).map(([name, value]) => ({
        name,
        value,
      }));
    }
  }
}
