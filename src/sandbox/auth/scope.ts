/**
 * The credential scope of a SigV4 request (`<access key>/<yyyymmdd>/<region>/<service>/aws4_request`): which
 * region's services a request is for, read before any signature is checked.
 */
import type { IncomingHttpHeaders } from 'node:http';

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
