/**
 * What SigV4 verification reads of a request, how it refuses one ({@link AuthFailure}), and the checks both forms
 * (`Authorization` header and presigned query) make, with AWS's wording: the key in the scope, the scope's date,
 * the clock skew.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SandboxCredentials } from './credentials.ts';
import { type CredentialScope, parseCredential } from './scope.ts';
import { amzDate, sameSignature } from './sigv4.ts';

/** AWS's allowed clock skew between a signature's timestamp and the server's clock (S3 and STS: 15 min). */
export const MAX_SKEW_MS = 15 * 60_000;

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

/** AWS's message for a signature that does not match (JSON and Query services). */
export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
/** AWS's message for an access key id or session token it does not know. */
export const INVALID_TOKEN = 'The security token included in the request is invalid.';

/** The skew check AWS makes, with its wording (§4.2, observed on JSON and Query services). */
export function skewFailure(signedAt: number, now: number, maxSkewMs: number): AuthFailure | undefined {
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

/** Checks the scope and the key id; AWS answers an unknown key before it looks at the signature. */
export function checkScope(
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

/** The scope's date must be the signature's date (the `yyyymmdd` of its timestamp). */
export function dateInScope(scope: CredentialScope, stamp: string): AuthFailure | undefined {
  if (scope.date === stamp.slice(0, 8)) return undefined;
  return {
    kind: 'mismatch',
    message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${stamp.slice(0, 8)}', from '${stamp}'.`,
  };
}
