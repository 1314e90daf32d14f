/**
 * SigV4 verification of a presigned URL (the `X-Amz-*` query parameters): form, key, date, expiry, then the
 * signature recomputed by the SDK's own signer and compared in constant time.
 */
import { HttpRequest } from '@smithy/core/protocols';
import {
  type AuthFailure,
  checkScope,
  dateInScope,
  INVALID_TOKEN,
  SIGNATURE_MISMATCH,
  type SignedRequest,
  skewFailure,
} from './checks.ts';
import type { SandboxCredentials } from './credentials.ts';
import { amzDate, parseAmzDate, queryOf, sameSignature, signedHeaderValues, signerFor } from './sigv4.ts';

/** The longest a presigned URL may live (SigV4 query auth): 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Verifies a presigned request's `X-Amz-*` query; {@link verifySignature} calls it when the query has them. */
export async function verifyPresigned(
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
