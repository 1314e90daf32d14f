/**
 * Raw HTTP to the sandbox, signed (SigV4, the SDK's signer) with its credentials, for what SDK clients cannot
 * send: control routes, build logs, hand-made API bodies. The sandbox refuses unsigned requests.
 *
 * @example
 * const reset = await signedRequest(sandbox.endpoint, { method: 'POST', path: '/_sandbox/reset' });
 * const log = await (await signedFetch(action.externalExecutionUrl!)).text();
 */
import { request } from 'undici';
import { type SandboxCredentials, signSandboxRequest } from '../../../src/sandbox/auth/index.ts';

export interface SignedRequest {
  /** @default 'GET' */
  method?: string;
  /** Path and query, e.g. `/_sandbox/events?after=0`. @default '/' */
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** @default test/test (the sandbox's default) */
  credentials?: SandboxCredentials;
  /** The signing name in the credential scope (the service's for API calls). @default 'sandbox' */
  service?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** The signature's timestamp. @default now */
  signingDate?: Date;
  /** @default 10_000 (10 s) */
  timeoutMs?: number;
}

export interface SignedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The signed headers for `req` against `endpoint` (to send yourself, or to tamper with in a test). */
export function signedHeaders(endpoint: string, req: SignedRequest = {}): Promise<Record<string, string>> {
  return signSandboxRequest(
    {
      method: req.method ?? 'GET',
      url: new URL(req.path ?? '/', endpoint),
      ...(req.headers ? { headers: req.headers } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
    },
    {
      ...(req.credentials ? { credentials: req.credentials } : {}),
      ...(req.service ? { service: req.service } : {}),
      ...(req.region ? { region: req.region } : {}),
      ...(req.signingDate ? { signingDate: req.signingDate } : {}),
    },
  );
}

/** Sends `req` signed; resolves status, headers and body text. */
export async function signedRequest(endpoint: string, req: SignedRequest = {}): Promise<SignedResponse> {
  const timeout = req.timeoutMs ?? 10_000;
  const headers = await signedHeaders(endpoint, req);
  const res = await request(new URL(req.path ?? '/', endpoint), {
    method: (req.method ?? 'GET') as 'GET',
    headers,
    body: req.body,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** `fetch` of a sandbox URL (a build log's `externalExecutionUrl`, a control route), signed. */
export async function signedFetch(
  url: string,
  init: { method?: string; body?: string; credentials?: SandboxCredentials } = {},
): Promise<Response> {
  const headers = await signSandboxRequest(
    { method: init.method ?? 'GET', url, ...(init.body !== undefined ? { body: init.body } : {}) },
    init.credentials ? { credentials: init.credentials } : {},
  );
  // fetch sets Host itself (and refuses to be given one).
  const { host: _host, ...rest } = headers;
  return fetch(url, {
    method: init.method ?? 'GET',
    headers: rest,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** The sandbox's HTTPS git credentials (test/test) as the harness's git functions take them (`auth`). */
export const SANDBOX_GIT_AUTH = {
  type: 'https-git-credentials',
  username: 'test',
  password: 'test',
} as const;

/**
 * A sandbox clone URL carrying test/test, for a test's raw `git clone` (git answers the endpoint's 401 with them,
 * and the clone's `origin` keeps them for its pushes).
 *
 * @example
 * await exec('git', ['clone', '-q', withGitCredentials(repo.cloneUrlHttp!), dir]);
 */
export function withGitCredentials(cloneUrl: string): string {
  const url = new URL(cloneUrl);
  url.username = 'test';
  url.password = 'test';
  return url.href;
}
