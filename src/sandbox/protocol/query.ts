/**
 * The awsQuery codec (ELBv2 2015-12-01, AutoScaling 2011-01-01), driven by the service model.
 * Wire facts: aws-semantics §1.2 — form parameters `A.B`, `X.member.N`, `X.entry.N.key/value`, `X=` for an
 * empty list; XML answers `<OpResponse><OpResult>…</OpResult><ResponseMetadata>` (the Result element always
 * present: botocore looks it up by name); errors `<ErrorResponse><Error><Type><Code><Message>` with the wire
 * code (`TargetGroupNotFound`, not the SDK class name) and the model's `httpStatusCode`.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { ServiceError } from './errors.ts';
import { toDate } from './json.ts';
import { errorShapeByCode, type ServiceModel, type ShapeRef, shapeOf } from './model.ts';
import type { ApiRequest, ApiResponse, Codec } from './wire.ts';

const MAX_DEPTH = 32;
/** A list index beyond this is refused: a form body cannot sensibly hold more and a sparse huge index is an attack. */
const MAX_LIST_INDEX = 10_000;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
});

/** Form parameters with an index of which prefixes exist, so decoding asks "is `A.B` given?" in O(1). */
export class QueryParams {
  readonly values = new Map<string, string>();
  readonly #children = new Map<string, Set<string>>();

  constructor(entries: Iterable<[string, string]>) {
    for (const [k, v] of entries) {
      this.values.set(k, v);
      const parts = k.split('.');
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('.');
        let set = this.#children.get(parent);
        if (!set) {
          set = new Set();
          this.#children.set(parent, set);
        }
        set.add(parts[i]!);
      }
    }
  }

  /** Parameters of a request: the query string, plus a form body (POST). */
  static from(req: ApiRequest): QueryParams {
    const entries = [...req.url.searchParams.entries()];
    if (req.body.length > 0) entries.push(...new URLSearchParams(req.body.toString('utf8')).entries());
    return new QueryParams(entries);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key) || this.#children.has(key);
  }

  children(key: string): ReadonlySet<string> {
    return this.#children.get(key) ?? new Set();
  }
}

function malformed(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

function lowerFirst(path: string): string {
  return path.replace(/(^|\.)([A-Z])/g, (_m, dot: string, c: string) => dot + c.toLowerCase());
}

export class QueryCodec implements Codec {
  readonly protocol = 'query' as const;
  readonly model: ServiceModel;

  constructor(model: ServiceModel) {
    this.model = model;
  }

  get namespace(): string {
    return this.model.metadata.xmlNamespace ?? '';
  }

  decodeInput(operation: string, req: ApiRequest): Record<string, unknown> {
    return this.decodeParams(operation, QueryParams.from(req));
  }

  decodeParams(operation: string, params: QueryParams): Record<string, unknown> {
    const ref = this.model.operations[operation]?.input;
    if (!ref) return {};
    return (this.#decode(ref, params, '', 0) ?? {}) as Record<string, unknown>;
  }

  #decode(ref: ShapeRef, params: QueryParams, key: string, depth: number): unknown {
    if (depth > MAX_DEPTH) throw malformed(`The request nests deeper than ${MAX_DEPTH} levels at '${key}'`);
    const shape = shapeOf(this.model, ref.shape);
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const wire = member.queryName ?? member.locationName ?? name;
          const k = key ? `${key}.${wire}` : wire;
          if (!params.has(k)) continue;
          const v = this.#decode(member, params, k, depth + 1);
          if (v !== undefined) out[name] = v;
        }
        return out;
      }
      case 'list': {
        // `Names=` (bare key, empty value, no children) is "an empty list" (botocore and SDK v3 send this).
        if (params.get(key) === '' && params.children(key).size === 0) return [];
        const flat = shape.flattened || ref.flattened;
        const base = flat ? key : `${key}.${shape.member?.locationName ?? 'member'}`;
        return this.#indexed(params, base, key).map((i) =>
          this.#decode(shape.member!, params, `${base}.${i}`, depth + 1),
        );
      }
      case 'map': {
        if (params.get(key) === '' && params.children(key).size === 0) return {};
        const flat = shape.flattened || ref.flattened;
        const base = flat ? key : `${key}.entry`;
        const keyName = shape.key?.locationName ?? 'key';
        const valueName = shape.value?.locationName ?? 'value';
        const out: Record<string, unknown> = {};
        for (const i of this.#indexed(params, base, key)) {
          const k = params.get(`${base}.${i}.${keyName}`);
          if (k === undefined)
            throw malformed(`Map entry '${base}.${i}' has no ${keyName}; send ${base}.${i}.${keyName}=...`);
          out[k] = this.#decode(shape.value!, params, `${base}.${i}.${valueName}`, depth + 1);
        }
        return out;
      }
      default:
        return this.#scalar(shape.type, params, key);
    }
  }

  #indexed(params: QueryParams, base: string, key: string): number[] {
    const indexes: number[] = [];
    for (const child of params.children(base)) {
      const n = Number(child);
      if (!/^[1-9]\d*$/.test(child) || n > MAX_LIST_INDEX) {
        throw malformed(
          `'${base}.${child}' is not a list position; '${key}' items are numbered ${base}.1, ${base}.2, ...`,
        );
      }
      indexes.push(n);
    }
    return indexes.sort((a, b) => a - b);
  }

  #scalar(type: string, params: QueryParams, key: string): unknown {
    const raw = params.get(key);
    const at = lowerFirst(key);
    if (raw === undefined)
      throw malformed(`Value at '${at}' must be a single value, not a structure or list`);
    switch (type) {
      case 'integer':
      case 'long':
        if (!/^-?\d{1,16}$/.test(raw.trim()))
          throw malformed(
            `Value '${raw}' at '${at}' failed to satisfy constraint: Member must be an integer`,
          );
        return Number(raw);
      case 'double':
      case 'float': {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n))
          throw malformed(`Value '${raw}' at '${at}' failed to satisfy constraint: Member must be a number`);
        return n;
      }
      case 'boolean': {
        const b = raw.toLowerCase();
        if (b !== 'true' && b !== 'false')
          throw malformed(
            `Value '${raw}' at '${at}' failed to satisfy constraint: Member must be true or false`,
          );
        return b === 'true';
      }
      case 'timestamp': {
        const n = Number(raw);
        const d = raw.trim() !== '' && Number.isFinite(n) ? new Date(n * 1000) : new Date(raw);
        if (Number.isNaN(d.getTime()))
          throw malformed(
            `Value '${raw}' at '${at}' failed to satisfy constraint: Member must be an ISO-8601 timestamp`,
          );
        return d;
      }
      case 'blob':
        return Buffer.from(raw, 'base64');
      default:
        return raw;
    }
  }

  encodeOutput(operation: string, output: unknown, requestId: string): ApiResponse {
    const op = this.model.operations[operation];
    const wrapper = op?.output?.resultWrapper ?? `${operation}Result`;
    const result =
      op?.output && output && typeof output === 'object' ? this.#encode(op.output, output, 0) : '';
    const doc = {
      [`${operation}Response`]: {
        '@_xmlns': this.namespace,
        [wrapper]: result ?? '',
        ResponseMetadata: { RequestId: requestId },
      },
    };
    return { status: 200, headers: xmlHeaders(requestId), body: builder.build(doc) };
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
          if (v !== undefined) out[member.locationName ?? name] = v;
        }
        return Object.keys(out).length > 0 ? out : '';
      }
      case 'list': {
        if (!Array.isArray(value)) return undefined;
        const items = value
          .map((item) => this.#encode(shape.member!, item, depth + 1))
          .filter((v) => v !== undefined);
        return items.length > 0 ? { [shape.member?.locationName ?? 'member']: items } : '';
      }
      case 'map': {
        if (typeof value !== 'object') return undefined;
        const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as object);
        const items = entries.map(([k, v]) => ({
          key: String(k),
          value: this.#encode(shape.value!, v, depth + 1) ?? '',
        }));
        return items.length > 0 ? { entry: items } : '';
      }
      case 'timestamp':
        // ISO-8601 with milliseconds, as in the AWS examples (`2016-03-25T21:26:12.920Z`).
        return toDate(value)?.toISOString();
      case 'boolean':
        return value ? 'true' : 'false';
      case 'blob':
        return Buffer.isBuffer(value) || value instanceof Uint8Array
          ? Buffer.from(value).toString('base64')
          : Buffer.from(String(value)).toString('base64');
      default:
        return String(value);
    }
  }

  encodeError(error: ServiceError, requestId: string): ApiResponse {
    // The model's httpStatusCode wins over the default 400 (HealthUnavailable 500, PriorRequestNotComplete 429).
    const modeled = errorShapeByCode(this.model, error.code)?.error;
    const status = error.status === 400 && modeled?.httpStatusCode ? modeled.httpStatusCode : error.status;
    return queryError(error, requestId, this.namespace, status);
  }
}

function xmlHeaders(requestId: string): Record<string, string> {
  return { 'content-type': 'text/xml', 'x-amzn-requestid': requestId };
}

/** The Query error envelope; `namespace` may be empty when the service is not known. */
export function queryError(
  error: ServiceError,
  requestId: string,
  namespace = '',
  status = error.status,
): ApiResponse {
  const doc = {
    ErrorResponse: {
      ...(namespace ? { '@_xmlns': namespace } : {}),
      Error: {
        Type: status >= 500 || error.fault === 'server' ? 'Receiver' : 'Sender',
        Code: error.code,
        Message: error.message,
      },
      RequestId: requestId,
    },
  };
  return { status, headers: xmlHeaders(requestId), body: builder.build(doc) };
}
