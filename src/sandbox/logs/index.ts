/**
 * CloudWatch Logs in the sandbox: the log groups and streams sandbox builds write (`/aws/codebuild/<project>`,
 * one stream per build), read back with GetLogEvents and FilterLogEvents as on AWS. Other services write
 * through {@link LogsService.append}; there is no PutLogEvents on the wire.
 *
 * @example
 * const logs = new LogsService(runtime);
 * logs.append('/aws/codebuild/web', 'b1c2…', ['[Container] 2026/01/22 23:28:03.574 Entering phase BUILD\n']);
 * logs.handlers.GetLogEvents({ logGroupName: '/aws/codebuild/web', logStreamName: 'b1c2…' }, ctx);
 */
import type { SandboxRuntime, SandboxService } from '../types.ts';
import { createHandlers } from './handlers.ts';
import { LogStore, type LogStreamRecord } from './store.ts';

export type { LogEventRecord, LogGroupRecord, LogStreamRecord } from './store.ts';

/** CloudWatch Logs caps one event at 256 KiB (message + 26 bytes); longer lines are split, as the agents do. */
const MAX_EVENT_CHARS = 256 * 1024 - 26;

export class LogsService implements SandboxService {
  readonly name = 'logs' as const;
  readonly runtime: SandboxRuntime;
  readonly store = new LogStore();
  readonly handlers: ReturnType<typeof createHandlers>;

  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
    this.handlers = createHandlers({ store: this.store });
  }

  /** `arn:aws:logs:<region>:<account>` */
  get #arnPrefix(): string {
    return `arn:aws:logs:${this.runtime.region}:${this.runtime.accountId}`;
  }

  /** Creates the group and the stream when missing (CodeBuild creates both when a build starts); returns the stream. */
  createStream(groupName: string, streamName: string): LogStreamRecord {
    const now = this.runtime.clock.now().getTime();
    const group = this.store.ensureGroup(groupName, this.#arnPrefix, now);
    return this.store.ensureStream(group, streamName, this.#arnPrefix, now);
  }

  /**
   * Appends events, one per message, stamped now (ingested at the same moment: the sandbox has no delivery
   * delay). Creates the group and stream when missing.
   */
  append(groupName: string, streamName: string, messages: readonly string[]): void {
    const stream = this.createStream(groupName, streamName);
    const now = this.runtime.clock.now().getTime();
    for (const message of messages) {
      let start = 0;
      do {
        const part = message.slice(start, start + MAX_EVENT_CHARS);
        stream.events.push({ timestamp: now, message: part, ingestionTime: now });
        start += MAX_EVENT_CHARS;
      } while (start < message.length);
    }
  }

  /** The stream's events (a copy), or undefined when it does not exist. */
  events(groupName: string, streamName: string) {
    const events = this.store.groups.get(groupName)?.streams.get(streamName)?.events;
    return events ? [...events] : undefined;
  }

  async reset(): Promise<void> {
    this.store.clear();
  }

  async stop(): Promise<void> {}
}
