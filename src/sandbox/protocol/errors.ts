/**
 * The one error type a sandbox handler throws. The codec of the service turns it into the AWS wire
 * error (`{"__type": code, "message"}` for JSON 1.1, `<ErrorResponse><Error><Code>` for Query).
 *
 * @example
 * throw new ServiceError('PipelineNotFoundException', `Account '${acct}' does not have a pipeline with name '${name}'`);
 */
export class ServiceError extends Error {
  /** The AWS error code as it goes on the wire (Query services: the wire code, e.g. `TargetGroupNotFound`). */
  readonly code: string;
  /** HTTP status; 400 unless the model or AWS says otherwise. */
  readonly status: number;
  /** `client` (Query `Sender`) or `server` (Query `Receiver`). */
  readonly fault: 'client' | 'server';

  constructor(code: string, message: string, options: { status?: number; fault?: 'client' | 'server' } = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = options.status ?? (options.fault === 'server' ? 500 : 400);
    this.fault = options.fault ?? (this.status >= 500 ? 'server' : 'client');
  }
}

/** Builds the error every JSON 1.1 service uses for input that fails model validation. */
export function validationError(message: string, protocol: 'json' | 'query'): ServiceError {
  return new ServiceError(protocol === 'json' ? 'ValidationException' : 'ValidationError', message);
}
