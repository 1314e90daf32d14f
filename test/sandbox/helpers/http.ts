/**
 * Raw HTTP against the edge port, for what SDKs cannot send (malformed bodies, odd headers, wrong methods).
 * Signed with the sandbox's default credentials (test/test) unless `unsigned` is set or the request brings its
 * own `authorization` header: the sandbox refuses unsigned calls.
 *
 * @example
 * const r = await rawRequest(endpoint, { method: 'POST', headers: { 'x-amz-target': 'Nope.Op' }, body: '{' });
 * expect(r.status).toBe(400);
 */
import { request } from 'undici';
import { signedHeaders } from './signed.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** @default 10_000 (10 s) */
  timeoutMs?: number;
  /** Send as given, without a signature. @default false */
  unsigned?: boolean;
  /** The signing name in the credential scope (Query services are routed by it). @default 'sandbox' */
  signingService?: string;
}

export async function rawRequest(endpoint: string, req: RawRequest = {}): Promise<RawResponse> {
  const timeout = req.timeoutMs ?? 10_000;
  const method = req.method ?? 'POST';
  const sign =
    !req.unsigned && !Object.keys(req.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
  const headers = sign
    ? await signedHeaders(endpoint, {
        method,
        path: req.path ?? '/',
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.signingService ? { service: req.signingService } : {}),
      })
    : req.headers;
  const res = await request(new URL(req.path ?? '/', endpoint), {
    method: method as 'POST',
    headers,
    body: req.body,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The SigV4 signing name of each JSON target prefix: a request is signed for its own service, as the SDKs do. */
const JSON_SIGNING: Readonly<Record<string, string>> = {
  CodePipeline_20150709: 'codepipeline',
  CodeDeploy_20141006: 'codedeploy',
  CodeCommit_20150413: 'codecommit',
  CodeBuild_20161006: 'codebuild',
  Logs_20140328: 'logs',
  AWSEvents: 'events',
  AmazonSQS: 'sqs',
};

/** The signing name of each Query API version. */
const QUERY_SIGNING: Readonly<Record<string, string>> = {
  '2015-12-01': 'elasticloadbalancing',
  '2011-01-01': 'autoscaling',
  '2010-05-15': 'cloudformation',
};

/** A JSON 1.1 call: `jsonCall(endpoint, 'CodePipeline_20150709.ListPipelines', {})`, signed for its service. */
export function jsonCall(endpoint: string, target: string, body: unknown): Promise<RawResponse> {
  const signing = JSON_SIGNING[target.slice(0, Math.max(0, target.lastIndexOf('.')))];
  return rawRequest(endpoint, {
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signing ? { signingService: signing } : {}),
  });
}

/** A Query call: `queryCall(endpoint, { Action: 'DescribeLoadBalancers', Version: '2015-12-01' })`, signed for the service of its Version unless `signingService` says otherwise. */
export function queryCall(
  endpoint: string,
  params: Record<string, string>,
  signingService?: string,
): Promise<RawResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  const signing = signingService ?? QUERY_SIGNING[params.Version ?? ''];
  return rawRequest(endpoint, {
    headers,
    body: new URLSearchParams(params).toString(),
    ...(signing ? { signingService: signing } : {}),
  });
}
