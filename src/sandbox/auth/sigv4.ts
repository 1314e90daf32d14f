/**
 * The SigV4 parts the verifier, the git check and the request signer share: the SDK's own signer
 * (`@smithy/signature-v4`) set up for the sandbox's key, a received request read as the signer takes it, the
 * `x-amz-date` format, and constant-time comparison.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SandboxCredentials } from './credentials.ts';
import type { CredentialScope } from './scope.ts';

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const sha256 = Hash.bind(null, 'sha256');

/** A header's first value (Node gives repeated ones as an array). */
export function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `20261130T101500Z` → Date; undefined when not ISO-8601 basic format. */
export function parseAmzDate(text: string): Date | undefined {
  const m = AMZ_DATE.exec(text);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 19).replace(/[-:]/g, '') !== text.slice(0, 15)
    ? undefined
    : date;
}

/** Epoch ms → `20261130T101500Z`. */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}/, '')
    .replace(/[-:]/g, '');
}

/** Constant-time comparison of two hex signatures (a length difference is not secret). */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** The query of a raw request target as the signer takes it: decoded names and values, repeated ones as arrays. */
export function queryOf(
  search: string,
  drop: ReadonlySet<string> = new Set(),
): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    if (drop.has(key) || key === '__proto__') continue;
    const had = query[key];
    query[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return query;
}

/** A raw request target split into its path (with a leading `/`) and its query (without `?`). */
export function splitTarget(target: string): { path: string; search: string } {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return { path: path.startsWith('/') ? path : `/${path}`, search: q < 0 ? '' : target.slice(q + 1) };
}

/** The headers named in `SignedHeaders`, as received (repeated values joined with `,` as SigV4 does). */
export function signedHeaderValues(
  headers: IncomingHttpHeaders,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value === undefined || name === '__proto__') continue;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/** The SDK's signer for the sandbox's key and a request's scope. */
export function signerFor(credentials: SandboxCredentials, scope: CredentialScope): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region: scope.region,
    service: scope.service,
    sha256,
    // S3 signs the path as sent; every other service double-encodes it (SigV4 spec, "canonical URI").
    uriEscapePath: scope.service !== 's3',
    applyChecksum: false,
  });
}
