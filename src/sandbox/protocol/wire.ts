/**
 * What a codec sees of an HTTP exchange: the request fully read, the response not yet written. Keeping HTTP
 * out of the codecs lets unit tests drive them without a server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceError } from './errors.ts';

export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One protocol's view of a service: where the operation name is, how input and output look on the wire. */
export interface Codec {
  readonly protocol: 'json' | 'query';
  /** Decodes (and type-checks) the input of `operation`; throws a `ServiceError` for a malformed body. */
  decodeInput(operation: string, req: ApiRequest): Record<string, unknown>;
  encodeOutput(operation: string, output: unknown, requestId: string): ApiResponse;
  encodeError(error: ServiceError, requestId: string): ApiResponse;
}

/** Header value as one string (first of a repeated header). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
