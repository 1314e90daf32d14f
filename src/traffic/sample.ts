/**
 * One HTTP request to the load balancer, reduced to evidence: which instance answered, which version, what
 * status, or what kind of failure. Never throws.
 */
import { type Dispatcher, request } from 'undici';

/**
 * How a request went. `ok` is a 2xx; `redirect` a 3xx (never a version answer: an HTTP→HTTPS redirect means the
 * URL is not the one users reach, see `HARNESS_APP_URL`).
 */
export type SampleKind = 'ok' | 'redirect' | 'status5xx' | 'status4xx' | 'connect' | 'timeout' | 'other';

export interface Sample {
  /** When the request started. */
  at: Date;
  /** How long it took, in ms. */
  ms: number;
  kind: SampleKind;
  status?: number | undefined;
  /** `x-app-version` (or `version` of a JSON body). */
  version?: string | undefined;
  /** `x-instance-id` (or `instanceId` of a JSON body). */
  instanceId?: string | undefined;
  /** Error code/message for failed requests. */
  error?: string | undefined;
  /** Where a redirect points (`location`). */
  location?: string | undefined;
}

const CONNECT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_CLOSED',
]);
const TIMEOUT = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface SampleOptions {
  dispatcher: Dispatcher;
  /** @default 2000 (ms) */
  timeoutMs?: number;
}

/** GETs `url` once and describes the answer. */
export async function sample(url: string, options: SampleOptions): Promise<Sample> {
  const at = new Date();
  const started = performance.now();
  const timeout = options.timeoutMs ?? 2000; // ms
  try {
    const res = await request(url, {
      dispatcher: options.dispatcher,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
      headers: { 'user-agent': 'codepipeline-harness' },
    });
    const text = await res.body.text();
    let version = header(res.headers['x-app-version']);
    let instanceId = header(res.headers['x-instance-id']);
    if ((!version || !instanceId) && text.startsWith('{')) {
      try {
        const body = JSON.parse(text) as { version?: unknown; instanceId?: unknown };
        if (!version && typeof body.version === 'string') version = body.version;
        if (!instanceId && typeof body.instanceId === 'string') instanceId = body.instanceId;
      } catch {
        // Not JSON after all: headers are the evidence.
      }
    }
    const status = res.statusCode;
    const kind: SampleKind =
      status >= 500 ? 'status5xx' : status >= 400 ? 'status4xx' : status >= 300 ? 'redirect' : 'ok';
    const location = kind === 'redirect' ? header(res.headers.location) : undefined;
    return {
      at,
      ms: Math.round(performance.now() - started),
      kind,
      status,
      version,
      instanceId,
      ...(location ? { location } : {}),
    };
  } catch (error) {
    const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string } };
    const code = e.code ?? e.cause?.code ?? e.name ?? 'Error';
    const kind: SampleKind = CONNECT.has(code)
      ? 'connect'
      : TIMEOUT.has(code) || e.name === 'TimeoutError' || e.name === 'AbortError'
        ? 'timeout'
        : 'other';
    return {
      at,
      ms: Math.round(performance.now() - started),
      kind,
      error: `${code}: ${e.message ?? ''}`.trim(),
    };
  }
}

/** `i-1 v2 200` / `connect ECONNREFUSED` — one line of evidence. */
export function describeSample(s: Sample): string {
  if (s.kind === 'connect' || s.kind === 'timeout' || s.kind === 'other')
    return `${s.kind} (${s.error ?? ''})`;
  if (s.kind === 'redirect') return `redirect ${s.status} to ${s.location ?? '(no location)'}`;
  return `${s.instanceId ?? 'unknown instance'} ${s.version ?? 'no version'} ${s.status}`;
}
