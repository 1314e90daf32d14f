/**
 * The CloudWatch Logs operations the sandbox serves, with the SDK's input and output types: what
 * `handlers.ts` implements. An operation of the model absent here answers `NotImplemented`.
 *
 * CloudWatch Logs validates its own input (the edge server leaves it to the handlers, so model errors come
 * back as `InvalidParameterException`): a handler takes the SDK input as sent, which is wider than the
 * {@link Validated} input the table declares, and narrows it with `validated()`.
 */
import type * as Sdk from '@aws-sdk/client-cloudwatch-logs';
import type { Handlers, Operation, OutputOf } from '../types.ts';

export interface LogsOperations {
  GetLogEvents: Operation<Sdk.GetLogEventsRequest, Sdk.GetLogEventsResponse>;
  FilterLogEvents: Operation<Sdk.FilterLogEventsRequest, Sdk.FilterLogEventsResponse>;
}

/** The handlers of some CloudWatch Logs operations. */
export type LogsHandlers<K extends keyof LogsOperations> = Handlers<Pick<LogsOperations, K>>;

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
export type LogsOutput<K extends keyof LogsOperations> = OutputOf<LogsOperations, K>;
