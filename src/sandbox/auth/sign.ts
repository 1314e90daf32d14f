/**
 * Signing raw requests to the sandbox (control routes, hand-made API calls) with SigV4, as SDK v3 signs (same
 * signer).
 */
import { createHash } from 'node:crypto';
import { HttpRequest } from '@smithy/core/protocols';
import { DEFAULT_CREDENTIALS, type SandboxCredentials } from './credentials.ts';
import { queryOf, signerFor } from './sigv4.ts';

/** A request to sign with {@link signSandboxRequest}. */
export interface SandboxRequestToSign {
  /** @default 'GET' */
  readonly method?: string;
  /** The full URL (`http://127.0.0.1:4566/_sandbox/reset`). */
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** Options of {@link signSandboxRequest}. */
export interface SignSandboxOptions {
  /** @default {@link DEFAULT_CREDENTIALS} (test/test) */
  readonly credentials?: SandboxCredentials;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** The signing name in the scope: the service's for API calls; any name for control routes. @default 'sandbox' */
  readonly service?: string;
  /** @default now */
  readonly signingDate?: Date;
}

/**
 * The headers that make a raw request acceptable to the sandbox: the given ones plus `host`, `x-amz-date`,
 * `x-amz-content-sha256` and `authorization`, signed with SigV4 as SDK v3 signs (same signer).
 *
 * @example
 * const url = `${sandbox.endpoint}/_sandbox/reset`;
 * const headers = await signSandboxRequest({ method: 'POST', url }, { credentials: sandbox.credentials });
 * await fetch(url, { method: 'POST', headers });
 */
export async function signSandboxRequest(
  request: SandboxRequestToSign,
  options: SignSandboxOptions = {},
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const region = options.region ?? 'us-east-1';
  const service = options.service ?? 'sandbox';
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const query: Record<string, string | string[]> = queryOf(url.search.replace(/^\?/, ''));
  const signed = await signerFor(credentials, {
    accessKeyId: credentials.accessKeyId,
    date: '',
    region,
    service,
  }).sign(
    new HttpRequest({
      method: request.method ?? 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: {
        ...request.headers,
        host: url.host,
        // S3 requires the payload hash as a signed header; the other services hash the body they read.
        ...(service === 's3' && !request.headers?.['x-amz-content-sha256']
          ? {
              'x-amz-content-sha256': createHash('sha256')
                .update(request.body ?? '')
                .digest('hex'),
            }
          : {}),
      },
      body: request.body ?? '',
    }),
    {
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
      signingRegion: region,
      signingService: service,
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name] = String(value);
  return headers;
}
