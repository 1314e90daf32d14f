/**
 * Auth errors by protocol (aws-semantics-events-auth-regions §4.2): a refused request gets AWS's own code, message
 * and status, in the shape of the protocol it speaks (JSON `__type`, Query `<ErrorResponse>`, S3 `<Error>`).
 */
import { XMLBuilder } from 'fast-xml-parser';
import { ServiceError } from '../protocol/errors.ts';
import { jsonError } from '../protocol/json.ts';
import { queryError } from '../protocol/query.ts';
import type { ApiResponse } from '../protocol/wire.ts';
import { type AuthFailure, type AuthFailureKind, SIGNATURE_MISMATCH } from './checks.ts';

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
