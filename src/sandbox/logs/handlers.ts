/**
 * CloudWatch Logs handlers (subset): GetLogEvents and FilterLogEvents, with AWS's paging.
 * aws-semantics-cfn-codebuild-logs §5:
 * - GetLogEvents without a token reads the **latest** events (`startFromHead` false) or the oldest (true);
 *   `nextForwardToken`/`nextBackwardToken` are always present, and the token in the direction you read
 *   comes back unchanged at the end of the stream (`f/<56 digits>/s`, `b/<56 digits>/s`, §5.2);
 *   `startTime` is inclusive, `endTime` exclusive; a page holds at most `limit` (default 10,000) events and
 *   1 MB. A token's direction (`f/` or `b/`) decides which way the next page goes.
 * - FilterLogEvents interleaves the matching streams' events by time (`startTime`/`endTime` inclusive);
 *   `nextToken` is absent on the last page.
 * Input errors are `InvalidParameterException` (the only validation error the model lists), missing
 * groups and streams `ResourceNotFoundException` with AWS's wording (§5.3).
 */
import type * as Sdk from '@aws-sdk/client-cloudwatch-logs';
import { ServiceError } from '../protocol/errors.ts';
import { serviceModel } from '../protocol/model.ts';
import { validateInput } from '../protocol/validate.ts';
import type { Validated } from '../types.ts';
import { compileFilter } from './filter.ts';
import type { LogsHandlers, LogsOperations, LogsOutput } from './operations.ts';
import type { LogEventRecord, LogGroupRecord, LogStore, LogStreamRecord } from './store.ts';

/** GetLogEvents/FilterLogEvents return at most this many bytes of events per page (message + 26 per event). */
const PAGE_BYTES = 1024 * 1024;
/** What CloudWatch Logs counts per event on top of its message (PutLogEvents quota arithmetic). */
const EVENT_OVERHEAD = 26;
const DEFAULT_LIMIT = 10_000;
const TOKEN = /^([fb])\/(\d{56})\/s$/;

export interface LogsHandlerDeps {
  store: LogStore;
}

type GetLogEventsInput = Validated<Sdk.GetLogEventsRequest>;

function invalid(message: string): ServiceError {
  return new ServiceError('InvalidParameterException', message);
}

/**
 * Model validation answered as CloudWatch Logs does: `InvalidParameterException` with Coral's wording. The
 * input as sent becomes the {@link Validated} input here, as the edge server's validation does it for the
 * services that leave it to the server.
 */
function validated<T extends object>(operation: keyof LogsOperations, input: T): Validated<T> {
  const model = serviceModel('logs');
  try {
    validateInput(model, model.operations[operation]!.input!.shape, input as Record<string, unknown>, 'json');
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'ValidationException') throw invalid(error.message);
    throw error;
  }
  return input as Validated<T>;
}

/** `logGroupName` or `logGroupIdentifier` (a name or a log group ARN, with or without `:*`): exactly one. */
function groupOf(
  store: LogStore,
  input: Pick<GetLogEventsInput, 'logGroupName' | 'logGroupIdentifier'>,
): LogGroupRecord {
  const { logGroupName, logGroupIdentifier } = input;
  if (logGroupName !== undefined && logGroupIdentifier !== undefined) {
    throw invalid('LogGroupName and LogGroupIdentifier are mutually exclusive; specify one of them');
  }
  if (logGroupName === undefined && logGroupIdentifier === undefined) {
    throw invalid('Either LogGroupName or LogGroupIdentifier must be specified');
  }
  const name =
    logGroupName ?? /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?$/.exec(logGroupIdentifier!)?.[1];
  const group = name === undefined ? undefined : store.groups.get(name);
  if (!group) throw new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
  return group;
}

function token(direction: 'f' | 'b', position: number): string {
  return `${direction}/${String(position).padStart(56, '0')}/s`;
}

function size(event: LogEventRecord): number {
  return Buffer.byteLength(event.message) + EVENT_OVERHEAD;
}

/**
 * One GetLogEvents page of a stream. Positions are indexes between events (0 = before the first): a forward
 * page from `p` returns events at `p, p+1, …` and the forward token after the last; a backward page ending at
 * `q` returns events before `q` (oldest first) and the backward token at the first. Nothing returned in the
 * direction read = that direction's token is the one sent (AWS's end-of-stream signal).
 */
export function logEventsPage(stream: LogStreamRecord, input: GetLogEventsInput): LogsOutput<'GetLogEvents'> {
  const events = stream.events;
  const n = events.length;
  const limit = input.limit ?? DEFAULT_LIMIT;
  const inWindow = (e: LogEventRecord) =>
    (input.startTime === undefined || e.timestamp >= input.startTime) &&
    (input.endTime === undefined || e.timestamp < input.endTime);
  let forward = input.startFromHead === true;
  let position = forward ? 0 : n;
  if (input.nextToken !== undefined) {
    const m = TOKEN.exec(input.nextToken);
    if (!m) throw invalid('The specified nextToken is invalid.');
    forward = m[1] === 'f';
    position = Math.min(Number(m[2]), n);
  }
  const out: LogEventRecord[] = [];
  let bytes = 0;
  if (forward) {
    let i = position;
    for (; i < n && out.length < limit; i++) {
      const e = events[i]!;
      if (!inWindow(e)) continue;
      if (out.length > 0 && bytes + size(e) > PAGE_BYTES) break;
      out.push(e);
      bytes += size(e);
    }
    return { events: out, nextForwardToken: token('f', i), nextBackwardToken: token('b', position) };
  }
  let i = position;
  for (; i > 0 && out.length < limit; i--) {
    const e = events[i - 1]!;
    if (!inWindow(e)) continue;
    if (out.length > 0 && bytes + size(e) > PAGE_BYTES) break;
    out.push(e);
    bytes += size(e);
  }
  return { events: out.reverse(), nextForwardToken: token('f', position), nextBackwardToken: token('b', i) };
}

/**
 * The operation table of the service. Leaving out an operation of {@link LogsOperations} is a compile error.
 *
 * @example
 * const handlers = createHandlers({ store });
 * handlers.GetLogEvents({ logGroupName: '/aws/codebuild/web', logStreamName: 'b1c2…' }, ctx);
 */
export function createHandlers(deps: LogsHandlerDeps): LogsHandlers<keyof LogsOperations> {
  const { store } = deps;
  return {
    GetLogEvents(raw: Sdk.GetLogEventsRequest): LogsOutput<'GetLogEvents'> {
      const input = validated('GetLogEvents', raw);
      const group = groupOf(store, input);
      const stream = group.streams.get(input.logStreamName);
      if (!stream)
        throw new ServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
      return logEventsPage(stream, input);
    },

    FilterLogEvents(raw: Sdk.FilterLogEventsRequest): LogsOutput<'FilterLogEvents'> {
      const input = validated('FilterLogEvents', raw);
      const group = groupOf(store, input);
      if (input.logStreamNames !== undefined && input.logStreamNamePrefix !== undefined) {
        throw invalid('logStreamNames and logStreamNamePrefix are mutually exclusive; specify one of them');
      }
      const matches = compileFilter(input.filterPattern);
      let streams = [...group.streams.values()];
      if (input.logStreamNames) {
        const wanted = new Set(input.logStreamNames);
        streams = streams.filter((s) => wanted.has(s.logStreamName));
      } else if (input.logStreamNamePrefix !== undefined) {
        streams = streams.filter((s) => s.logStreamName.startsWith(input.logStreamNamePrefix!));
      }
      const found: { stream: LogStreamRecord; index: number; event: LogEventRecord }[] = [];
      for (const stream of streams) {
        stream.events.forEach((event, index) => {
          if (input.startTime !== undefined && event.timestamp < input.startTime) return;
          if (input.endTime !== undefined && event.timestamp > input.endTime) return;
          if (matches(event.message)) found.push({ stream, index, event });
        });
      }
      found.sort(
        (a, b) =>
          a.event.timestamp - b.event.timestamp || a.stream.ordinal - b.stream.ordinal || a.index - b.index,
      );
      let offset = 0;
      if (input.nextToken !== undefined) {
        const decoded = /^filter\/(\d{1,12})$/.exec(Buffer.from(input.nextToken, 'base64url').toString());
        if (!decoded) throw invalid('The specified nextToken is invalid.');
        offset = Number(decoded[1]);
      }
      const limit = input.limit ?? DEFAULT_LIMIT;
      const page: typeof found = [];
      let bytes = 0;
      let i = offset;
      for (; i < found.length && page.length < limit; i++) {
        const f = found[i]!;
        if (page.length > 0 && bytes + size(f.event) > PAGE_BYTES) break;
        page.push(f);
        bytes += size(f.event);
      }
      return {
        events: page.map(({ stream, index, event }) => ({
          logStreamName: stream.logStreamName,
          timestamp: event.timestamp,
          message: event.message,
          ingestionTime: event.ingestionTime,
          // 56 digits like AWS's event ids: time, stream, position.
          eventId:
            String(event.timestamp).padStart(20, '0') +
            String(stream.ordinal).padStart(12, '0') +
            String(index).padStart(24, '0'),
        })),
        ...(i < found.length ? { nextToken: Buffer.from(`filter/${i}`).toString('base64url') } : {}),
      };
    },
  };
}
