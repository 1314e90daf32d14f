/**
 * What an AWS error means for the person at the keyboard, in one line each: no credentials, expired credentials,
 * credentials AWS does not accept, a denied IAM action (named), an endpoint nobody answers at, a deadline. The
 * doctor's checks use it for every call they make, so the same cause gets the same fix wherever it shows up.
 */
import { WaitTimeoutError } from '../errors.ts';
import { errorLine } from '../poll.ts';

/** What went wrong (`detail`) and what to do about it (`fix`), each one line. */
export interface Explained {
  detail: string;
  fix: string;
  /**
   * `credentials` (none, expired, not accepted) and `unreachable` (network, deadline) fail every later call the
   * same way; `denied` is about one IAM action.
   */
  kind: 'credentials' | 'unreachable' | 'denied';
}

/** Where the call went and what it needed, for the fix. */
export interface ExplainContext {
  /** The IAM action the call needs, e.g. `codepipeline:GetPipeline` (named when AWS denies it). */
  iamAction: string;
  /** The resource it was called on, in words: `pipeline team-pipeline`. */
  resource: string;
  region: string;
  /** The endpoint override, when there is one (sandbox or HARNESS_ENDPOINT). */
  endpoint?: string | undefined;
  /** For the profile name in a fix (`AWS_PROFILE`). */
  env: Record<string, string | undefined>;
}

type AwsLike = { name?: string; code?: string; message?: string; cause?: unknown };

const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const EXPIRED = /^(ExpiredToken.*|RequestExpired|TokenRefreshRequired|ExpiredTokenException)$/;
const REJECTED =
  /^(UnrecognizedClientException|InvalidClientTokenId|InvalidSignatureException|SignatureDoesNotMatch|IncompleteSignature(Exception)?|MissingAuthenticationToken.*|InvalidAccessKeyId)$/;
const DENIED = /^(AccessDenied.*|UnauthorizedOperation|NotAuthorized.*|AuthorizationError|Forbidden)$/;
const NETWORK = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/;

function networkCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 3) return undefined;
  const e = error as AwsLike;
  if (e.code && NETWORK.test(e.code)) return e.code;
  const inMessage =
    /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(
      e.message ?? '',
    );
  if (inMessage) return inMessage[1];
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = networkCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return networkCode(e.cause, depth + 1);
}

/** The profile part of a fix: `aws sso login --profile team` when AWS_PROFILE is set. */
function ssoLogin(env: Record<string, string | undefined>): string {
  const profile = env.AWS_PROFILE;
  return profile ? `aws sso login --profile ${profile}` : 'aws sso login';
}

/** The fix for "no credentials at all", naming the profile when one is set. */
export function noCredentialsFix(env: Record<string, string | undefined>): string {
  const profile = env.AWS_PROFILE;
  if (profile) {
    return (
      `no credentials from AWS_PROFILE=${profile}: run \`${ssoLogin(env)}\` if it is an SSO profile, or check ` +
      `[profile ${profile}] in ~/.aws/config`
    );
  }
  return (
    'no credentials: set AWS_PROFILE or run `aws sso login` (or export AWS_ACCESS_KEY_ID and ' +
    'AWS_SECRET_ACCESS_KEY; on CI give the job a role)'
  );
}

/** The fix for credentials that were good once. */
export function expiredFix(env: Record<string, string | undefined>): string {
  return (
    `credentials expired: run \`${ssoLogin(env)}\` (or renew the session behind AWS_SESSION_TOKEN / your ` +
    'role), then run the doctor again'
  );
}

/**
 * Explains an error of an AWS call (or of resolving credentials), or returns undefined when it is none of the
 * causes above (the check then says what it knows: not found, wrong name...).
 *
 * @example
 * ```ts
 * explainAwsError(error, { iamAction: 'codepipeline:GetPipeline', resource: 'pipeline p', region, env })?.fix;
 * // 'allow codepipeline:GetPipeline on pipeline p to the caller (the IAM policy of its role or user)'
 * ```
 */
export function explainAwsError(error: unknown, context: ExplainContext): Explained | undefined {
  const e = (error ?? {}) as AwsLike;
  const name = e.name ?? '';
  const line = errorLine(error);
  if (error instanceof WaitTimeoutError) {
    return {
      kind: 'unreachable',
      detail: error.message,
      fix: context.endpoint
        ? `nothing answered in time at ${context.endpoint}: check HARNESS_ENDPOINT and that it is up`
        : `AWS did not answer in time: check the network (proxy, VPN) and HARNESS_REGION (${context.region})`,
    };
  }
  if (NO_CREDENTIALS.has(name)) {
    // SSO sessions that ran out surface as a provider error too, not as ExpiredToken.
    const expired = /expired|refresh/i.test(e.message ?? '');
    return {
      kind: 'credentials',
      detail: `${expired ? 'credentials expired' : 'no AWS credentials'} (${line})`,
      fix: expired ? expiredFix(context.env) : noCredentialsFix(context.env),
    };
  }
  if (EXPIRED.test(name)) {
    return {
      kind: 'credentials',
      detail: `AWS refused the credentials (${line})`,
      fix: expiredFix(context.env),
    };
  }
  if (REJECTED.test(name)) {
    return {
      kind: 'credentials',
      detail: `AWS does not accept these credentials (${line})`,
      fix:
        'the access key is unknown or its secret does not match: check AWS_PROFILE / AWS_ACCESS_KEY_ID are for ' +
        `this account and partition, and HARNESS_REGION (${context.region})`,
    };
  }
  if (DENIED.test(name)) {
    // AWS names the action it denied ("... is not authorized to perform: codepipeline:GetPipeline on ...").
    const action = /perform: ([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(e.message ?? '')?.[1] ?? context.iamAction;
    return {
      kind: 'denied',
      detail: `AWS denied ${action} on ${context.resource} (${line})`,
      fix: `allow ${action} on ${context.resource} to the caller (the IAM policy of its role or user)`,
    };
  }
  const network = networkCode(error);
  if (network) {
    return {
      kind: 'unreachable',
      detail: `cannot reach ${context.endpoint ?? `AWS in ${context.region}`} (${network}: ${e.message ?? ''})`,
      fix: context.endpoint
        ? `nothing answers at ${context.endpoint}: check HARNESS_ENDPOINT`
        : `check the network (proxy, VPN, firewall) and HARNESS_REGION (${context.region})`,
    };
  }
  return undefined;
}
