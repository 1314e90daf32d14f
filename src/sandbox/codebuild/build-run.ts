/**
 * One running build as CodeBuild records it: the phase records BatchGetBuilds shows and the output lines its
 * CloudWatch Logs stream holds. The build runner drives it (enter a phase, end it with a status and a
 * context, write output); the record and the log follow AWS's shapes (aws-semantics-cfn-codebuild-logs
 * §4.2: contiguous phases, SUBMITTED and QUEUED first, FINALIZING then COMPLETED last; §4.3, §5.4: one event
 * per output line, each message ending with `\n`).
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

export class BuildRun {
  readonly record: BuildRecord;
  readonly #logs: LogsService;
  readonly #now: () => Date;
  /** Output after the last line end, written as an event when the line ends (or the build does). */
  #partial = '';

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

  /** Appends build output: every complete line becomes one log event. */
  write(text: string): void {
    if (this.finished || text === '') return;
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    if (lines.length > 0) {
      const { groupName, streamName } = this.record.logs;
      this.#logs.append(
        groupName,
        streamName,
        lines.map((line) => `${line}\n`),
      );
    }
  }

  /** Starts a phase; a phase still in progress ends SUCCEEDED first. */
  enterPhase(phaseType: PhaseType): void {
    if (this.finished) return;
    const current = this.record.phases.at(-1);
    if (current && current.phaseStatus === undefined) this.endPhase('SUCCEEDED');
    this.record.phases.push({ phaseType, startTime: this.#now() });
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
    if (this.#partial !== '') {
      const { groupName, streamName } = this.record.logs;
      this.#logs.append(groupName, streamName, [`${this.#partial}\n`]);
      this.#partial = '';
    }
    const current = this.record.phases.at(-1);
    if (current && current.phaseStatus === undefined) this.endPhase('SUCCEEDED');
    const end = this.#now();
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
