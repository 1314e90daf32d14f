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

/**
 * Bounds on one Query request, so the work per request stays linear and small whatever a client sends. AWS
 * publishes few numbers for the Query protocol: CloudWatch's PutMetricData (a Query API) takes at most 1 MB in
 * an HTTP POST body, and a GET's URL is bounded by the edge's 16 KiB header limit. Where AWS publishes nothing
 * (parameter count, name depth and length, value length), the bound is far above anything the models allow:
 * the longest Query string the sandbox serves is CloudFormation's `TemplateBody` (51,200 bytes), and the
 * deepest name an SDK sends (`Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight`) has 7 parts.
 */
export const QUERY_LIMITS = {
  /** Bytes of a form body (POST): 1 MiB. */
  bodyBytes: 1024 * 1024,
  /** Parameters in one request, query string and body together. */
  parameters: 10_000,
  /** Dot-separated parts of one parameter name (the codec's nesting bound). */
  nameParts: MAX_DEPTH,
  /** Characters of one parameter name. */
  nameChars: 512,
  /** Characters of one parameter value: 256 KiB. */
  valueChars: 256 * 1024,
} as const;

/** One node of the parameter-name trie: the parts that may follow a prefix. */
type Trie = Map<string, Trie>;

const ROUTING = new Set(['Action', 'Version']);

function shown(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/** Why a parameter breaks a {@link QUERY_LIMITS} bound (`index` counts from 1), or undefined. */
function overLimit(name: string, value: string, index: number): ServiceError | undefined {
  const L = QUERY_LIMITS;
  if (index > L.parameters)
    return malformed(`The request has more than ${L.parameters} parameters; send at most ${L.parameters}`);
  if (name.length > L.nameChars)
    return malformed(
      `Parameter name '${shown(name)}' is ${name.length} characters long; names have at most ${L.nameChars}`,
    );
  // Counting dots stops at the bound: linear, and never more than nameChars anyway.
  let parts = 1;
  for (let i = name.indexOf('.'); i >= 0 && parts <= L.nameParts; i = name.indexOf('.', i + 1)) parts++;
  if (parts > L.nameParts)
    return malformed(
      `Parameter name '${shown(name)}' has more than ${L.nameParts} dot-separated parts; no operation nests that deep`,
    );
  if (value.length > L.valueChars)
    return malformed(
      `Value of parameter '${shown(name)}' is ${value.length} characters long; values have at most ${L.valueChars}`,
    );
  return undefined;
}

/**
 * Form parameters with a trie of their dotted names, so decoding asks "is `A.B` given?" and "which parts follow
 * `A.B`?" in time linear in the name. Building it is linear in the request: each name is split once (an index
 * of every prefix of every name, as before, is quadratic in a long name: a 40 KB body took seconds).
 * A request over {@link QUERY_LIMITS} is not indexed further: {@link QueryParams.problem} says why, and decoding
 * throws it. `Action` and `Version` are still read, so the refusal is routed and answered in the service's
 * own error shape.
 */
export class QueryParams {
  readonly values = new Map<string, string>();
  readonly #root: Trie = new Map();
  /** Why the request is refused (a bound of {@link QUERY_LIMITS} broken), else undefined. */
  readonly problem: ServiceError | undefined;

  constructor(entries: Iterable<[string, string]>, problem?: ServiceError) {
    let index = 0;
    for (const [name, value] of entries) {
      index++;
      problem ??= overLimit(name, value, index);
      if (problem) {
        if (ROUTING.has(name) && !this.values.has(name)) this.values.set(name, value);
        continue;
      }
      this.values.set(name, value);
      let node = this.#root;
      for (const part of name.split('.')) {
        let next = node.get(part);
        if (!next) {
          next = new Map();
          node.set(part, next);
        }
        node = next;
      }
    }
    this.problem = problem;
  }

  /** Parameters of a request: the query string, plus a form body (POST). */
  static from(req: ApiRequest): QueryParams {
    const query = req.url.searchParams.entries();
    if (req.body.length === 0) return new QueryParams(query);
    const tooLarge =
      req.body.length > QUERY_LIMITS.bodyBytes
        ? new ServiceError(
            'RequestEntityTooLarge',
            `The request body is ${req.body.length} bytes; a Query request body has at most ${QUERY_LIMITS.bodyBytes} bytes (1 MiB)`,
            { status: 413 },
          )
        : undefined;
    const body = new URLSearchParams(req.body.toString('utf8')).entries();
    return new QueryParams(
      (function* () {
        yield* query;
        yield* body;
      })(),
      tooLarge,
    );
  }

  #node(key: string): Trie | undefined {
    let node: Trie | undefined = this.#root;
    for (const part of key.split('.')) {
      node = node.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Whether `key` is given, or names given under it (`A.B` for `A.B.C=1`). */
  has(key: string): boolean {
    return this.values.has(key) || this.#node(key) !== undefined;
  }

  /** The parts that follow `key.` in the names given (`{'1', '2'}` for `A.member.1`, `A.member.2`). */
  children(key: string): ReadonlySet<string> {
    return new Set(this.#node(key)?.keys());
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
    if (params.problem) throw params.problem;
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
