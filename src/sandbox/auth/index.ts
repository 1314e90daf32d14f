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
 *
 * One module per concept: host.ts (the Host allow-list), scope.ts (the credential scope), credentials.ts (the
 * sandbox's key: default, random, from env), verify.ts and presigned.ts (SigV4 by header and by query), checks.ts
 * (what both check and how they refuse), sigv4.ts (the signer parts they share), git.ts (git's Basic auth),
 * errors.ts (refusals as AWS errors per protocol), sign.ts (signing raw requests to the sandbox).
 */
export {
  type AuthFailure,
  type AuthFailureKind,
  MAX_SKEW_MS,
  type SignedRequest,
} from './checks.ts';
export {
  assertCredentials,
  CREDENTIALS_ENV,
  credentialsFromEnv,
  DEFAULT_CREDENTIALS,
  randomCredentials,
  type SandboxCredentials,
} from './credentials.ts';
export { type AuthProtocol, authErrorResponse } from './errors.ts';
export { type GitAuthFailure, verifyGitCredentials } from './git.ts';
export { checkHost, type HostVerdict } from './host.ts';
export { type CredentialScope, credentialScope, parseCredential } from './scope.ts';
export { type SandboxRequestToSign, type SignSandboxOptions, signSandboxRequest } from './sign.ts';
export { type VerifyOptions, verifySignature } from './verify.ts';
