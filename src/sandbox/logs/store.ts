/**
 * CloudWatch Logs state: log groups, their streams and each stream's events in the order they were written
 * (which is timestamp order: the sandbox writes events as lines are produced). Records keep the wire member
 * names. aws-semantics-cfn-codebuild-logs §5.
 */

/** One log event, as GetLogEvents returns it (`timestamp`/`ingestionTime` in epoch milliseconds). */
export interface LogEventRecord {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStreamRecord {
  logStreamName: string;
  arn: string;
  creationTime: number;
  events: LogEventRecord[];
  /** Ordinal of the stream in the store, for FilterLogEvents event ids. */
  readonly ordinal: number;
}

export interface LogGroupRecord {
  logGroupName: string;
  /** As DescribeLogGroups shows it: `arn:aws:logs:<region>:<account>:log-group:<name>:*`. */
  arn: string;
  creationTime: number;
  streams: Map<string, LogStreamRecord>;
}

export class LogStore {
  readonly groups = new Map<string, LogGroupRecord>();
  #ordinal = 0;

  /** The group, created when missing. */
  ensureGroup(name: string, arnPrefix: string, now: number): LogGroupRecord {
    let group = this.groups.get(name);
    if (!group) {
      group = {
        logGroupName: name,
        arn: `${arnPrefix}:log-group:${name}:*`,
        creationTime: now,
        streams: new Map(),
      };
      this.groups.set(name, group);
    }
    return group;
  }

  /** The stream of a group, created when missing. */
  ensureStream(group: LogGroupRecord, name: string, arnPrefix: string, now: number): LogStreamRecord {
    let stream = group.streams.get(name);
    if (!stream) {
      stream = {
        logStreamName: name,
        arn: `${arnPrefix}:log-group:${group.logGroupName}:log-stream:${name}`,
        creationTime: now,
        events: [],
        ordinal: ++this.#ordinal,
      };
      group.streams.set(name, stream);
    }
    return stream;
  }

  clear(): void {
    this.groups.clear();
  }
}
