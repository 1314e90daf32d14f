/**
 * The awsJson1_1 codec (CodePipeline, CodeDeploy, CodeCommit), driven by the service model.
 * Wire facts: aws-semantics §1.1 (routing on `X-Amz-Target`, epoch-second timestamps, `__type` errors that
 * botocore reads from the body and SDK v3 from the `x-amzn-ErrorType` header first).
 */
import { ServiceError } from './errors.ts';
import { type ServiceModel, type ShapeRef, shapeOf } from './model.ts';
import type { ApiRequest, ApiResponse, Codec } from './wire.ts';

/** Nesting deeper than any model needs is refused instead of recursing without end. */
const MAX_DEPTH = 64;

/**
 * Bounds on one JSON 1.1 request, so the work per request stays linear and small. The body bound is the largest
 * request body these services document: CodeCommit takes files of up to 6 MB (`PutFile`, `CreateCommit`),
 * CloudWatch Logs a `PutLogEvents` batch of 1 MiB. AWS publishes no nesting or list bound; these are far above
 * what any model holds (the deepest CodePipeline declaration nests about 10 levels; model lists stop at 1,000).
 */
export const JSON_LIMITS = {
  /** Bytes of a request body: 6 MiB. */
  bodyBytes: 6 * 1024 * 1024,
  /** Nesting of arrays and objects in the body, checked before it is parsed. */
  nesting: MAX_DEPTH,
  /** Items of one list, entries of one map. */
  items: 10_000,
} as const;

/**
 * How deep `text` nests arrays and objects, stopping as soon as it passes `limit`: one pass over the text,
 * skipping strings, so a body of a million `[` is refused before `JSON.parse` builds it.
 */
export function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

function serializationError(message: string): ServiceError {
  // Coral answers type mismatches and unparsable bodies with SerializationException (400).
  return new ServiceError('SerializationException', message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 50)}`;
}

/** A timestamp from the wire: epoch seconds (number or numeric string) or an ISO-8601 string. */
export function parseTimestamp(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    const d = Number.isFinite(n) ? new Date(n * 1000) : new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** Anything a handler may return for a timestamp (`Date`, ISO string, epoch milliseconds) → `Date`. */
export function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

export class JsonCodec implements Codec {
  readonly protocol = 'json' as const;
  readonly model: ServiceModel;
  /** `application/x-amz-json-1.1`, or `-1.0` for a JSON 1.0 service (SQS). */
  readonly contentType: string;

  constructor(model: ServiceModel) {
    this.model = model;
    this.contentType = `application/x-amz-json-${model.metadata.jsonVersion ?? '1.1'}`;
  }

  decodeInput(operation: string, req: ApiRequest): Record<string, unknown> {
    if (req.body.length > JSON_LIMITS.bodyBytes) {
      throw new ServiceError(
        'RequestEntityTooLarge',
        `The request body is ${req.body.length} bytes; a JSON request body has at most ${JSON_LIMITS.bodyBytes} bytes (6 MiB)`,
        { status: 413 },
      );
    }
    const text = req.body.toString('utf8').trim();
    let raw: unknown = {};
    if (jsonNestingExceeds(text, JSON_LIMITS.nesting)) {
      throw serializationError(
        `The request body nests arrays and objects deeper than ${JSON_LIMITS.nesting} levels; no operation takes that`,
      );
    }
    if (text !== '') {
      try {
        raw = JSON.parse(text);
      } catch (error) {
        throw serializationError(`The request body is not valid JSON: ${(error as Error).message}`);
      }
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw serializationError(`The request body must be a JSON object, got ${describe(raw)}`);
    }
    const inputRef = this.model.operations[operation]?.input;
    if (!inputRef) return {};
    return this.#decode(inputRef, raw, '', 0) as Record<string, unknown>;
  }

  #decode(ref: ShapeRef, value: unknown, path: string, depth: number): unknown {
    if (depth > MAX_DEPTH)
      throw serializationError(`The request nests deeper than ${MAX_DEPTH} levels at '${path}'`);
    const shape = shapeOf(this.model, ref.shape);
    const where = path || 'the request';
    switch (shape.type) {
      case 'structure': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw serializationError(`Expected an object at '${where}', got ${describe(value)}`);
        }
        const out: Record<string, unknown> = {};
        const obj = value as Record<string, unknown>;
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const v = obj[name];
          // null is "absent" on the wire; members the model does not know are dropped (newer clients).
          if (v !== undefined && v !== null)
            out[name] = this.#decode(member, v, path ? `${path}.${name}` : name, depth + 1);
        }
        return out;
      }
      case 'list': {
        if (!Array.isArray(value))
          throw serializationError(`Expected a list at '${where}', got ${describe(value)}`);
        if (value.length > JSON_LIMITS.items)
          throw serializationError(
            `The list at '${where}' has ${value.length} items; a list has at most ${JSON_LIMITS.items}`,
          );
        return value.map((item, i) =>
          this.#decode(shape.member!, item, `${path}.${i + 1}.member`, depth + 1),
        );
      }
      case 'map': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw serializationError(`Expected a map at '${where}', got ${describe(value)}`);
        }
        const entries = Object.entries(value as Record<string, unknown>);
        if (entries.length > JSON_LIMITS.items)
          throw serializationError(
            `The map at '${where}' has ${entries.length} entries; a map has at most ${JSON_LIMITS.items}`,
          );
        const out: Record<string, unknown> = {};
        for (const [k, v] of entries) {
          out[k] = this.#decode(shape.value!, v, `${path}.${k}`, depth + 1);
        }
        return out;
      }
      case 'string':
        if (typeof value !== 'string')
          throw serializationError(`Expected a string at '${where}', got ${describe(value)}`);
        return value;
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          throw serializationError(`Expected an integer at '${where}', got ${describe(value)}`);
        }
        return value;
      case 'double':
      case 'float':
        if (typeof value !== 'number')
          throw serializationError(`Expected a number at '${where}', got ${describe(value)}`);
        return value;
      case 'boolean':
        if (typeof value !== 'boolean')
          throw serializationError(`Expected true or false at '${where}', got ${describe(value)}`);
        return value;
      case 'timestamp': {
        const d = parseTimestamp(value);
        if (!d)
          throw serializationError(
            `Expected a timestamp (epoch seconds) at '${where}', got ${describe(value)}`,
          );
        return d;
      }
      case 'blob':
        if (typeof value !== 'string')
          throw serializationError(`Expected base64 text at '${where}', got ${describe(value)}`);
        return Buffer.from(value, 'base64');
      default:
        return value;
    }
  }

  encodeOutput(operation: string, output: unknown, requestId: string): ApiResponse {
    const ref = this.model.operations[operation]?.output;
    const body = ref && output !== undefined && output !== null ? this.#encode(ref, output, 0) : {};
    return {
      status: 200,
      headers: { 'content-type': this.contentType, 'x-amzn-requestid': requestId },
      body: JSON.stringify(body ?? {}),
    };
  }

  #encode(ref: ShapeRef, value: unknown, depth: number): unknown {
    if (value === undefined || value === null || depth > MAX_DEPTH) return undefined;
    const shape = shapeOf(this.model, ref.shape);
    switch (shape.type) {
      case 'structure': {
        if (typeof value !== 'object') return undefined;
        const out: Record<string, unknown> = {};
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const v = this.#encode(member, (value as Record<string, unknown>)[name], depth + 1);
          if (v !== undefined) out[name] = v;
        }
        return out;
      }
      case 'list':
        if (!Array.isArray(value)) return undefined;
        return value
          .map((item) => this.#encode(shape.member!, item, depth + 1))
          .filter((v) => v !== undefined);
      case 'map': {
        if (typeof value !== 'object') return undefined;
        const out: Record<string, unknown> = {};
        const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
        for (const [k, v] of entries) {
          const e = this.#encode(shape.value!, v, depth + 1);
          if (e !== undefined) out[String(k)] = e;
        }
        return out;
      }
      case 'timestamp': {
        // Epoch seconds with fractional milliseconds: the JSON protocol's default timestamp format.
        const d = toDate(value);
        return d ? d.getTime() / 1000 : undefined;
      }
      case 'blob':
        return Buffer.isBuffer(value) || value instanceof Uint8Array
          ? Buffer.from(value).toString('base64')
          : Buffer.from(String(value)).toString('base64');
      default:
        return value;
    }
  }

  encodeError(error: ServiceError, requestId: string): ApiResponse {
    const { metadata } = this.model;
    if (!metadata.awsQueryCompatible) return jsonError(error, requestId, this.contentType);
    // Query-compatible services (SQS, aws-semantics-events-auth-regions §3.1): `__type` is the namespaced shape
    // name and `x-amzn-query-error` the legacy Query code, which botocore and the CLI print and SDK v3 maps back.
    const legacy = this.model.shapes[error.code]?.error?.code ?? error.code;
    const fault = error.fault === 'server' ? 'Receiver' : 'Sender';
    const response = jsonError(error, requestId, this.contentType);
    response.headers['x-amzn-query-error'] = `${legacy};${fault}`;
    response.body = JSON.stringify({
      __type: `com.amazonaws.${metadata.endpointPrefix}#${error.code}`,
      message: error.message,
    });
    return response;
  }
}

/** The JSON 1.1 error envelope; the header and `__type` always agree (SDK v3 prefers the header). */
export function jsonError(
  error: ServiceError,
  requestId: string,
  contentType: string = JSON_CONTENT_TYPE,
): ApiResponse {
  return {
    status: error.status,
    headers: {
      'content-type': contentType,
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.code,
    },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}
