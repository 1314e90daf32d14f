/**
 * Who may drive the sandbox, checked the way AWS checks it (aws-semantics-events-auth-regions §4): every API and
 * control request carries a SigV4 signature (`Authorization` header or presigned query) made with the sandbox's
 * credentials; git over HTTP carries them as Basic auth (§4.3); and every request names the sandbox itself in
 * `Host`, so a web page that rebinds its own DNS name to 127.0.0.1 is refused before any work is done.
 *
 * The signature is recomputed with `@smithy/signature-v4` (the SDK's own signer) over what was received: the
 * method, the raw path, the query, exactly the headers the client named in `SignedHeaders`, and the payload hash
 * (`x-amz-content-sha256` when the client signed one, S3's `UNSIGNED-PAYLOAD` included; else the body's SHA-256),
 * with the request's own date and scope, and compared in constant time. Failures are AWS's own codes, messages
 * and statuses for the protocol the request speaks (§4.2).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLBuilder } from 'fast-xml-parser';
import { ServiceError } from './protocol/errors.ts';
import { jsonError } from './protocol/json.ts';
import { queryError } from './protocol/query.ts';
import type { ApiResponse } from './protocol/wire.ts';

// ---------------------------------------------------------------------------------------------------------------
// Credential scope

/** The parts of `Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request`. */
export interface CredentialScope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

const SCOPE = /^([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request$/;

/** Parses a credential string (`AKID/20261130/us-east-1/codepipeline/aws4_request`); undefined when malformed. */
export function parseCredential(credential: string): CredentialScope | undefined {
  const match = SCOPE.exec(credential.trim());
  if (!match) return undefined;
  return { accessKeyId: match[1]!, date: match[2]!, region: match[3]!, service: match[4]! };
}

/**
 * The credential scope of a request: from the `Authorization` header (`AWS4-HMAC-SHA256 Credential=…`) or,
 * for a presigned URL, the `X-Amz-Credential` query parameter. Undefined when the request carries neither.
 *
 * @example
 * credentialScope(req.headers, url)?.region // 'eu-west-1'
 */
export function credentialScope(headers: IncomingHttpHeaders, url?: URL): CredentialScope | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const credential = /Credential=([^,\s]+)/.exec(authorization);
    if (credential) return parseCredential(credential[1]!);
  }
  const presigned = url?.searchParams.get('X-Amz-Credential');
  return presigned ? parseCredential(presigned) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials

/** The one access key the sandbox accepts. It has no session tokens. */
export interface SandboxCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** `test`/`test`: what every emulator client and example uses, so they keep working unchanged. */
export const DEFAULT_CREDENTIALS: SandboxCredentials = Object.freeze({
  accessKeyId: 'test',
  secretAccessKey: 'test',
});

/** The env vars a sandbox (and a harness run on the sandbox target) read the credentials from. */
export const CREDENTIALS_ENV = {
  accessKeyId: 'HARNESS_SANDBOX_ACCESS_KEY_ID',
  secretAccessKey: 'HARNESS_SANDBOX_SECRET_ACCESS_KEY',
} as const;

/**
 * Fresh credentials shaped like an IAM user's access key: `AKIA` + 16 base-32 characters, and a 40-character
 * secret (30 random bytes, base64url), from the OS's CSPRNG.
 *
 * @example
 * const sandbox = await startSandbox({ credentials: randomCredentials() });
 */
export function randomCredentials(): SandboxCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64url') };
}

/**
 * The credentials `HARNESS_SANDBOX_ACCESS_KEY_ID` / `HARNESS_SANDBOX_SECRET_ACCESS_KEY` name; undefined when
 * neither is set. Throws naming the missing one when only one is.
 *
 * @example
 * const credentials = credentialsFromEnv(process.env) ?? DEFAULT_CREDENTIALS;
 */
export function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): SandboxCredentials | undefined {
  const accessKeyId = env[CREDENTIALS_ENV.accessKeyId]?.trim() || undefined;
  const secretAccessKey = env[CREDENTIALS_ENV.secretAccessKey] || undefined;
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    const missing = accessKeyId ? CREDENTIALS_ENV.secretAccessKey : CREDENTIALS_ENV.accessKeyId;
    throw new Error(
      `${missing} is not set while ${accessKeyId ? CREDENTIALS_ENV.accessKeyId : CREDENTIALS_ENV.secretAccessKey} is: set both (the sandbox's access key id and secret) or neither (test/test)`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * Checks given credentials; throws a TypeError naming the field that is wrong.
 *
 * @example
 * assertCredentials({ accessKeyId: 'AKIA…', secretAccessKey: '' }); // TypeError: credentials.secretAccessKey must be a non-empty string
 */
export function assertCredentials(credentials: SandboxCredentials, what = 'credentials'): void {
  if (typeof credentials?.accessKeyId !== 'string' || !/^[\w.+=@-]{1,128}$/.test(credentials.accessKeyId)) {
    throw new TypeError(
      `${what}.accessKeyId must be 1-128 letters, digits or _.+=@- (like AKIA... or test), got ${JSON.stringify(credentials?.accessKeyId)?.slice(0, 40)}`,
    );
  }
  if (typeof credentials.secretAccessKey !== 'string' || credentials.secretAccessKey.length === 0) {
    throw new TypeError(`${what}.secretAccessKey must be a non-empty string`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Host allow-list

/** What a request's `Host` says it is for. */
export type HostVerdict =
  | { readonly kind: 'sandbox' }
  | { readonly kind: 'load-balancer'; readonly name: string }
  | { readonly kind: 'refused'; readonly message: string };

/**
 * Whether `host` names this sandbox: `127.0.0.1:<port>` or `localhost:<port>` (the API, control routes, git), or
 * `<name>.elb.localhost[:<any port>]` (a load balancer's data plane; `*.localhost` always resolves to loopback, so
 * no web page can own such a name). Anything else is refused: a page whose DNS name was rebound to 127.0.0.1
 * still sends its own name.
 *
 * @example
 * checkHost('evil.example:4566', 4566).kind // 'refused'
 */
export function checkHost(host: string | undefined, port: number): HostVerdict {
  const allowed = `127.0.0.1:${port} or localhost:${port} (or <load balancer>.elb.localhost for its listeners)`;
  if (!host) {
    return { kind: 'refused', message: `The sandbox needs a Host header naming it: ${allowed}` };
  }
  const lower = host.toLowerCase();
  const match = /^([a-z0-9.-]+?)\.?(?::(\d{1,5}))?$/.exec(lower);
  const name = match?.[1];
  const given = match?.[2] === undefined ? 80 : Number(match[2]);
  if (name?.endsWith('.elb.localhost') && name.length > '.elb.localhost'.length) {
    return { kind: 'load-balancer', name };
  }
  if ((name === '127.0.0.1' || name === 'localhost') && given === port) return { kind: 'sandbox' };
  return {
    kind: 'refused',
    message:
      `The sandbox answers only requests for ${allowed}, not Host '${host.slice(0, 100)}'. ` +
      'Call it by its endpoint; a foreign Host is how a web page would reach it through DNS rebinding',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SigV4 verification

/** AWS's allowed clock skew between a signature's timestamp and the server's clock (S3 and STS: 15 min). */
export const MAX_SKEW_MS = 15 * 60_000;

/** The longest a presigned URL may live (SigV4 query auth): 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Why a request is refused; {@link authErrorResponse} turns it into the protocol's AWS error. */
export type AuthFailureKind =
  /** No `Authorization` header and no presigned query. */
  | 'missing'
  /** A malformed `Authorization` header or presigned query. */
  | 'incomplete'
  /** An access key (or session token) the sandbox does not have. */
  | 'unknown-key'
  /** The signature does not match (wrong secret, tampered request, wrong scope date, unsigned `host`). */
  | 'mismatch'
  /** The timestamp is outside the allowed skew, or a presigned URL has expired. */
  | 'expired';

export interface AuthFailure {
  readonly kind: AuthFailureKind;
  /** AWS's own message for JSON and Query services. */
  readonly message: string;
  /** Set for a presigned URL (S3 says `Request has expired` for those). */
  readonly presigned?: boolean;
}

/** What the verifier reads of a request. */
export interface SignedRequest {
  readonly method: string;
  /** The request target as received (`req.url`): the path and query, still percent-encoded. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body, when the server read it (API and control requests). Undefined for a route that streams its body
   * (S3), whose payload hash must then come from a signed `x-amz-content-sha256`.
   */
  readonly body?: Buffer;
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const sha256 = Hash.bind(null, 'sha256');

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `20261130T101500Z` → Date; undefined when not ISO-8601 basic format. */
function parseAmzDate(text: string): Date | undefined {
  const m = AMZ_DATE.exec(text);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 19).replace(/[-:]/g, '') !== text.slice(0, 15)
    ? undefined
    : date;
}

function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}/, '')
    .replace(/[-:]/g, '');
}

/** Constant-time comparison of two hex signatures (a length difference is not secret). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** The skew check AWS makes, with its wording (§4.2, observed on JSON and Query services). */
function skewFailure(signedAt: number, now: number, maxSkewMs: number): AuthFailure | undefined {
  const minutes = Math.round(maxSkewMs / 60_000);
  if (signedAt < now - maxSkewMs) {
    return {
      kind: 'expired',
      message: `Signature expired: ${amzDate(signedAt)} is now earlier than ${amzDate(now - maxSkewMs)} (${amzDate(now)} - ${minutes} min.)`,
    };
  }
  if (signedAt > now + maxSkewMs) {
    return {
      kind: 'expired',
      message: `Signature not yet current: ${amzDate(signedAt)} is still later than ${amzDate(now + maxSkewMs)} (${amzDate(now)} + ${minutes} min.)`,
    };
  }
  return undefined;
}

/** The query of a raw request target as the signer takes it: decoded names and values, repeated ones as arrays. */
function queryOf(search: string, drop: ReadonlySet<string> = new Set()): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    if (drop.has(key) || key === '__proto__') continue;
    const had = query[key];
    query[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return query;
}

function splitTarget(target: string): { path: string; search: string } {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return { path: path.startsWith('/') ? path : `/${path}`, search: q < 0 ? '' : target.slice(q + 1) };
}

/** The headers named in `SignedHeaders`, as received (repeated values joined with `,` as SigV4 does). */
function signedHeaderValues(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value === undefined || name === '__proto__') continue;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

function signerFor(credentials: SandboxCredentials, scope: CredentialScope): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region: scope.region,
    service: scope.service,
    sha256,
    // S3 signs the path as sent; every other service double-encodes it (SigV4 spec, "canonical URI").
    uriEscapePath: scope.service !== 's3',
    applyChecksum: false,
  });
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` with AWS's complaints. */
function parseAuthorization(
  header: string,
): { credential: string; signedHeaders: string[]; signature: string } | AuthFailure {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    return {
      kind: 'incomplete',
      message: `Unsupported Authorization Type '${algorithm.slice(0, 40)}': the sandbox takes AWS Signature Version 4 (AWS4-HMAC-SHA256) only`,
    };
  }
  const parts = new Map<string, string>();
  const problems: string[] = [];
  for (const raw of header.slice(space + 1).split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      problems.push(
        `'${part.slice(0, 100)}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header.slice(0, 300)}'.`,
      );
      continue;
    }
    parts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts.get(name)) problems.push(`Authorization header requires '${name}' parameter.`);
  }
  if (problems.length > 0) {
    return { kind: 'incomplete', message: `${problems.join(' ')} Authorization=${header.slice(0, 300)}` };
  }
  return {
    credential: parts.get('Credential')!,
    signedHeaders: parts.get('SignedHeaders')!.split(';'),
    signature: parts.get('Signature')!,
  };
}

/** Checks the scope and the key id; AWS answers an unknown key before it looks at the signature. */
function checkScope(
  credential: string,
  credentials: SandboxCredentials,
): { scope: CredentialScope } | AuthFailure {
  const scope = parseCredential(credential);
  if (!scope) {
    return {
      kind: 'incomplete',
      message: `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential.slice(0, 200)}'`,
    };
  }
  if (!sameSignature(credentials.accessKeyId, scope.accessKeyId))
    return { kind: 'unknown-key', message: INVALID_TOKEN };
  return { scope };
}

function dateInScope(scope: CredentialScope, stamp: string): AuthFailure | undefined {
  if (scope.date === stamp.slice(0, 8)) return undefined;
  return {
    kind: 'mismatch',
    message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${stamp.slice(0, 8)}', from '${stamp}'.`,
  };
}

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  /** @default Date.now() */
  readonly now?: number;
  /** @default {@link MAX_SKEW_MS} (15 min) */
  readonly maxSkewMs?: number;
  /**
   * Check everything but the signature itself (presence, form, key, date): what can be refused before the body is
   * read, so an unauthenticated client never has its body buffered. @default false
   */
  readonly headersOnly?: boolean;
}

/**
 * Verifies a request's SigV4 signature (header or presigned query) against the sandbox's credentials; resolves
 * undefined when it is good, else why not.
 *
 * @example
 * const failure = await verifySignature({ method: req.method, target: req.url, headers: req.headers, body }, creds);
 * if (failure) send(authErrorResponse(failure, 'json'));
 */
export async function verifySignature(
  req: SignedRequest,
  credentials: SandboxCredentials,
  options: VerifyOptions = {},
): Promise<AuthFailure | undefined> {
  const now = options.now ?? Date.now();
  const maxSkewMs = options.maxSkewMs ?? MAX_SKEW_MS;
  const { path, search } = splitTarget(req.target);
  const authorization = first(req.headers.authorization);
  const params = new URLSearchParams(search);
  const presigned =
    params.has('X-Amz-Signature') || params.has('X-Amz-Algorithm') || params.has('X-Amz-Credential');
  if (authorization !== undefined && presigned) {
    return {
      kind: 'incomplete',
      message:
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    };
  }
  if (presigned) {
    return verifyPresigned(
      req,
      path,
      params,
      search,
      credentials,
      now,
      maxSkewMs,
      options.headersOnly ?? false,
    );
  }
  if (authorization === undefined || authorization.trim() === '') {
    return { kind: 'missing', message: 'Request is missing Authentication Token' };
  }

  const parsed = parseAuthorization(authorization.trim());
  if ('kind' in parsed) return parsed;
  const checked = checkScope(parsed.credential, credentials);
  if ('kind' in checked) return checked;
  const { scope } = checked;
  if (req.headers['x-amz-security-token'] !== undefined)
    return { kind: 'unknown-key', message: INVALID_TOKEN };
  const stamp = first(req.headers['x-amz-date']);
  if (stamp === undefined) {
    return {
      kind: 'incomplete',
      message:
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header (the sandbox reads X-Amz-Date, as every AWS SDK sends it).",
    };
  }
  const signedAt = parseAmzDate(stamp);
  if (!signedAt) {
    return {
      kind: 'incomplete',
      message: `Date must be in ISO-8601 'basic format'. Got '${stamp.slice(0, 40)}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    };
  }
  const names = parsed.signedHeaders.map((h) => h.trim().toLowerCase());
  if (!names.includes('host')) {
    return {
      kind: 'mismatch',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  const wrongDate = dateInScope(scope, stamp);
  if (wrongDate) return wrongDate;
  const skew = skewFailure(signedAt.getTime(), now, maxSkewMs);
  if (skew) return skew;
  if (options.headersOnly) return undefined;

  const headers = signedHeaderValues(req.headers, names);
  const declared = first(req.headers['x-amz-content-sha256']);
  if (declared === undefined && req.body === undefined) {
    // A streamed body the server did not read: its hash must come from the signed header (S3 requires it).
    return {
      kind: 'incomplete',
      message: 'Missing required header for this request: x-amz-content-sha256',
    };
  }
  if (declared !== undefined && !('x-amz-content-sha256' in headers)) {
    return { kind: 'mismatch', message: SIGNATURE_MISMATCH };
  }
  const signed = await signerFor(credentials, scope).sign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query: queryOf(search),
      headers,
      body: req.body ?? '',
    }),
    {
      signingDate: signedAt,
      signingRegion: scope.region,
      signingService: scope.service,
      signableHeaders: new Set(names),
    },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(String(signed.headers.authorization))?.[1] ?? '';
  // A header named in SignedHeaders but absent from the request drops out of the recomputed list: a mismatch.
  if (expectedHeaders !== names.join(';') || !sameSignature(expected, parsed.signature)) {
    return { kind: 'mismatch', message: SIGNATURE_MISMATCH };
  }
  if (declared !== undefined && req.body !== undefined && /^[0-9a-f]{64}$/.test(declared)) {
    // The signature covers the declared hash; the body must be what was declared.
    const actual = createHash('sha256').update(req.body).digest('hex');
    if (actual !== declared) return { kind: 'mismatch', message: SIGNATURE_MISMATCH };
  }
  return undefined;
}

async function verifyPresigned(
  req: SignedRequest,
  path: string,
  params: URLSearchParams,
  search: string,
  credentials: SandboxCredentials,
  now: number,
  maxSkewMs: number,
  headersOnly: boolean,
): Promise<AuthFailure | undefined> {
  const required = [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Signature',
    'X-Amz-Date',
    'X-Amz-SignedHeaders',
  ];
  const missing = required.filter((name) => !params.get(name));
  if (missing.length > 0) {
    return {
      kind: 'incomplete',
      presigned: true,
      message: `AWS query-string parameters must include ${required.map((n) => `'${n}'`).join(', ')}. Re-examine the query-string parameters (missing ${missing.join(', ')}).`,
    };
  }
  if (params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    return {
      kind: 'incomplete',
      presigned: true,
      message: `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256", got '${params.get('X-Amz-Algorithm')!.slice(0, 40)}'`,
    };
  }
  const checked = checkScope(params.get('X-Amz-Credential')!, credentials);
  if ('kind' in checked) return { ...checked, presigned: true };
  const { scope } = checked;
  if (params.has('X-Amz-Security-Token'))
    return { kind: 'unknown-key', presigned: true, message: INVALID_TOKEN };
  const stamp = params.get('X-Amz-Date')!;
  const signedAt = parseAmzDate(stamp);
  if (!signedAt) {
    return {
      kind: 'incomplete',
      presigned: true,
      message: `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'", got '${stamp.slice(0, 40)}'`,
    };
  }
  const expiresText = params.get('X-Amz-Expires') ?? '';
  const expires = Number(expiresText);
  if (!/^\d{1,7}$/.test(expiresText) || expires > MAX_PRESIGN_SECONDS) {
    return {
      kind: 'incomplete',
      presigned: true,
      message: `X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (one week), got '${expiresText.slice(0, 20)}'`,
    };
  }
  const names = params
    .get('X-Amz-SignedHeaders')!
    .split(';')
    .map((h) => h.trim().toLowerCase());
  if (!names.includes('host')) {
    return {
      kind: 'mismatch',
      presigned: true,
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  const wrongDate = dateInScope(scope, stamp);
  if (wrongDate) return { ...wrongDate, presigned: true };
  if (signedAt.getTime() > now + maxSkewMs)
    return { ...skewFailure(signedAt.getTime(), now, maxSkewMs)!, presigned: true };
  if (signedAt.getTime() + expires * 1000 < now) {
    return {
      kind: 'expired',
      presigned: true,
      message: `Signature expired: ${stamp} is now earlier than ${amzDate(now - expires * 1000)} (${amzDate(now)} - ${expires} sec.)`,
    };
  }
  if (headersOnly) return undefined;

  const headers = signedHeaderValues(req.headers, names);
  // S3 presigned URLs sign no payload; other services' presigned requests sign the (empty) body.
  const payload = scope.service === 's3' ? 'UNSIGNED-PAYLOAD' : req.body ? undefined : EMPTY_SHA256;
  const presignedRequest = await signerFor(credentials, scope).presign(
    new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query: queryOf(search, new Set(['X-Amz-Signature'])),
      headers: payload === undefined ? headers : { ...headers, 'x-amz-content-sha256': payload },
      body: req.body ?? '',
    }),
    {
      signingDate: signedAt,
      expiresIn: expires,
      signingRegion: scope.region,
      signingService: scope.service,
      signableHeaders: new Set(names),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      // Signed x-amz-* headers stay headers, as the client kept them.
      unhoistableHeaders: new Set([...names.filter((n) => n.startsWith('x-amz-')), 'x-amz-content-sha256']),
    },
  );
  const expected = String(presignedRequest.query?.['X-Amz-Signature'] ?? '');
  if (!sameSignature(expected, params.get('X-Amz-Signature')!)) {
    return { kind: 'mismatch', presigned: true, message: SIGNATURE_MISMATCH };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Git over HTTP (§4.3)

/** Why git's credentials were refused: none (answer 401 so git asks its helper) or wrong ones (403). */
export type GitAuthFailure = 'missing' | 'denied';

/**
 * Checks the Basic credentials of a git smart-HTTP request to `/v1/repos/<name>…`. Two forms are accepted:
 * - what `aws codecommit credential-helper` and git-remote-codecommit send: user = access key id, password =
 *   `<yyyymmddThhmmss>Z<SigV4 signature>` of `GIT\n/v1/repos/<name>\n\nhost:<host without port>\n\nhost\n`
 *   scoped to `<date>/<region>/codecommit/aws4_request` (any region: git's password does not carry it, and on AWS
 *   it comes from the `git-codecommit.<region>` host name), within the allowed skew;
 * - the sandbox's "HTTPS Git credentials": password = secret access key, with the access key id as user name (any
 *   user name is taken with the secret, as a token login sends `x-access-token`: the secret is what authenticates).
 *
 * @example
 * verifyGitCredentials(req.headers, '/eu-west-1/v1/repos/web/info/refs', creds, { regions: ['us-east-1'] }) // undefined when good
 */
export async function verifyGitCredentials(
  headers: IncomingHttpHeaders,
  path: string,
  credentials: SandboxCredentials,
  options: VerifyOptions & { regions: readonly string[] },
): Promise<GitAuthFailure | undefined> {
  const authorization = first(headers.authorization)?.trim() ?? '';
  if (!/^basic\s+/i.test(authorization)) return 'missing';
  const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'denied';
  // `<key id>%<session token>` for temporary credentials: the sandbox has none, so that user is unknown.
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const keyMatches = sameSignature(credentials.accessKeyId, user);
  if (sameSignature(credentials.secretAccessKey, password)) return undefined;
  const sigv4 = /^(\d{8}T\d{6})Z([0-9a-f]{64})$/.exec(password);
  if (!keyMatches || !sigv4) return 'denied';
  const stamp = `${sigv4[1]}Z`;
  const signedAt = parseAmzDate(stamp);
  if (
    !signedAt ||
    skewFailure(signedAt.getTime(), options.now ?? Date.now(), options.maxSkewMs ?? MAX_SKEW_MS)
  ) {
    return 'denied';
  }
  // The repository's URL path as git gives it to the helper (the clone URL's, region prefix included).
  const repository = /^(?:\/[a-z]{2}(?:-[a-z]+)+-\d{1,2})?\/v1\/repos\/[^/]+/.exec(path)?.[0];
  const host = (first(headers.host) ?? '').replace(/:\d+$/, '');
  if (!repository) return 'denied';
  const canonical = `GIT\n${repository}\n\nhost:${host}\n\nhost\n`;
  const hashed = createHash('sha256').update(canonical).digest('hex');
  for (const region of options.regions) {
    const scope = `${stamp.slice(0, 8)}/${region}/codecommit/aws4_request`;
    // The helper's timestamp has no `Z` in the string to sign (botocore's `request.context['timestamp']`).
    const stringToSign = `AWS4-HMAC-SHA256\n${sigv4[1]}\n${scope}\n${hashed}`;
    const signer = signerFor(credentials, {
      accessKeyId: user,
      date: stamp.slice(0, 8),
      region,
      service: 'codecommit',
    });
    const expected = await signer.sign(stringToSign, {
      signingDate: signedAt,
      signingRegion: region,
      signingService: 'codecommit',
    });
    if (sameSignature(expected, sigv4[2]!)) return undefined;
  }
  return 'denied';
}

// ---------------------------------------------------------------------------------------------------------------
// Errors by protocol (§4.2)

/** The wire shape a refusal takes: that of the protocol the request speaks. */
export type AuthProtocol = 'json' | 'query' | 's3' | 'control';

/** code and status per failure and protocol (§4.2's table; S3 from the S3 error code list). */
const CODES: Record<AuthProtocol, Record<AuthFailureKind, [code: string, status: number]>> = {
  json: {
    missing: ['MissingAuthenticationTokenException', 400],
    incomplete: ['IncompleteSignatureException', 400],
    'unknown-key': ['UnrecognizedClientException', 400],
    mismatch: ['InvalidSignatureException', 400],
    expired: ['InvalidSignatureException', 400],
  },
  query: {
    missing: ['MissingAuthenticationToken', 403],
    incomplete: ['IncompleteSignature', 400],
    'unknown-key': ['InvalidClientTokenId', 403],
    mismatch: ['SignatureDoesNotMatch', 403],
    expired: ['SignatureDoesNotMatch', 403],
  },
  s3: {
    missing: ['AccessDenied', 403],
    incomplete: ['AuthorizationHeaderMalformed', 400],
    'unknown-key': ['InvalidAccessKeyId', 403],
    mismatch: ['SignatureDoesNotMatch', 403],
    expired: ['RequestTimeTooSkewed', 403],
  },
  // Not an AWS API: JSON bodies like the other control answers, and 403 for every refusal.
  control: {
    missing: ['MissingAuthenticationTokenException', 403],
    incomplete: ['IncompleteSignatureException', 403],
    'unknown-key': ['UnrecognizedClientException', 403],
    mismatch: ['InvalidSignatureException', 403],
    expired: ['InvalidSignatureException', 403],
  },
};

const s3Xml = new XMLBuilder({ suppressEmptyNode: true });

/** S3's own texts for its codes (S3 API reference, "List of error codes"). */
function s3Message(failure: AuthFailure): string {
  switch (failure.kind) {
    case 'missing':
      return 'Access Denied';
    case 'unknown-key':
      return 'The AWS Access Key Id you provided does not exist in our records.';
    case 'mismatch':
      return failure.message === SIGNATURE_MISMATCH
        ? 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'
        : failure.message;
    case 'expired':
      return failure.presigned
        ? 'Request has expired'
        : 'The difference between the request time and the current time is too large.';
    default:
      return failure.message;
  }
}

/**
 * The AWS error a refused request gets, in its protocol's shape (JSON `__type`, Query `<ErrorResponse>`, S3
 * `<Error>`), with the status AWS uses.
 *
 * @example
 * authErrorResponse({ kind: 'missing', message: 'Request is missing Authentication Token' }, 'query').status // 403
 */
export function authErrorResponse(
  failure: AuthFailure,
  protocol: AuthProtocol,
  requestId: string,
): ApiResponse {
  let [code, status] = CODES[protocol][failure.kind];
  if (protocol === 's3') {
    // An expired presigned URL is AccessDenied in S3, not a skew.
    if (failure.kind === 'expired' && failure.presigned) [code, status] = ['AccessDenied', 403];
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${s3Xml.build({
      Error: { Code: code, Message: s3Message(failure), RequestId: requestId, HostId: requestId },
    })}`;
    return {
      status,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body,
    };
  }
  const error = new ServiceError(code, failure.message, { status });
  return protocol === 'query' ? queryError(error, requestId) : jsonError(error, requestId);
}

// ---------------------------------------------------------------------------------------------------------------
// Signing raw requests to the sandbox (control routes, hand-made API calls)

/** A request to sign with {@link signSandboxRequest}. */
export interface SandboxRequestToSign {
  /** @default 'GET' */
  readonly method?: string;
  /** The full URL (`http://127.0.0.1:4566/_sandbox/reset`). */
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** Options of {@link signSandboxRequest}. */
export interface SignSandboxOptions {
  /** @default {@link DEFAULT_CREDENTIALS} (test/test) */
  readonly credentials?: SandboxCredentials;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** The signing name in the scope: the service's for API calls; any name for control routes. @default 'sandbox' */
  readonly service?: string;
  /** @default now */
  readonly signingDate?: Date;
}

/**
 * The headers that make a raw request acceptable to the sandbox: the given ones plus `host`, `x-amz-date`,
 * `x-amz-content-sha256` and `authorization`, signed with SigV4 as SDK v3 signs (same signer).
 *
 * @example
 * const url = `${sandbox.endpoint}/_sandbox/reset`;
 * const headers = await signSandboxRequest({ method: 'POST', url }, { credentials: sandbox.credentials });
 * await fetch(url, { method: 'POST', headers });
 */
export async function signSandboxRequest(
  request: SandboxRequestToSign,
  options: SignSandboxOptions = {},
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const region = options.region ?? 'us-east-1';
  const service = options.service ?? 'sandbox';
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const query: Record<string, string | string[]> = queryOf(url.search.replace(/^\?/, ''));
  const signed = await signerFor(credentials, {
    accessKeyId: credentials.accessKeyId,
    date: '',
    region,
    service,
  }).sign(
    new HttpRequest({
      method: request.method ?? 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: {
        ...request.headers,
        host: url.host,
        // S3 requires the payload hash as a signed header; the other services hash the body they read.
        ...(service === 's3' && !request.headers?.['x-amz-content-sha256']
          ? {
              'x-amz-content-sha256': createHash('sha256')
                .update(request.body ?? '')
                .digest('hex'),
            }
          : {}),
      },
      body: request.body ?? '',
    }),
    {
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
      signingRegion: region,
      signingService: service,
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name] = String(value);
  return headers;
}
