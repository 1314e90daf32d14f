/**
 * Git over HTTP (aws-semantics-events-auth-regions §4.3): the Basic credentials git sends, as
 * `aws codecommit credential-helper` makes them (a SigV4 signature as password) or as "HTTPS Git credentials".
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_SKEW_MS, skewFailure } from './checks.ts';
import type { SandboxCredentials } from './credentials.ts';
import { first, parseAmzDate, sameSignature, signerFor } from './sigv4.ts';
import type { VerifyOptions } from './verify.ts';

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
