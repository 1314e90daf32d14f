/**
 * SigV4 verification for the API and the control routes: the signature is recomputed with `@smithy/signature-v4`
 * (the SDK's own signer) over what was received: the method, the raw path, the query, exactly the headers the
 * client named in `SignedHeaders`, and the payload hash (`x-amz-content-sha256` when the client signed one, S3's
 * `UNSIGNED-PAYLOAD` included; else the body's SHA-256), with the request's own date and scope, and compared in
 * constant time. A presigned URL is checked by presigned.ts.
 */
import { createHash } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import {
  type AuthFailure,
  checkScope,
  dateInScope,
  INVALID_TOKEN,
  MAX_SKEW_MS,
  SIGNATURE_MISMATCH,
  type SignedRequest,
  skewFailure,
} from './checks.ts';
import type { SandboxCredentials } from './credentials.ts';
import { verifyPresigned } from './presigned.ts';
import {
  first,
  parseAmzDate,
  queryOf,
  sameSignature,
  signedHeaderValues,
  signerFor,
  splitTarget,
} from './sigv4.ts';

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
