/**
 * What an S3 operation sees of its HTTP exchange (the request, its bucket and key decoded from the path-style
 * URL) and what it answers. The route turns answers and errors into HTTP; operations never write to the socket.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { SandboxRuntime } from '../types.ts';
import { PayloadCheck } from './checksums.ts';
import { S3Error } from './errors.ts';
import type { S3Store } from './store.ts';

export interface S3Call {
  readonly req: IncomingMessage;
  readonly method: string;
  /** Decoded from the first path segment; undefined for `/` (ListBuckets). */
  readonly bucket?: string;
  /** Decoded from the rest of the path; undefined for bucket operations. */
  readonly key?: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The region of the request's SigV4 credential scope. */
  readonly region: string;
  readonly requestId: string;
}

export interface S3Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** An XML document, or an object's bytes. */
  readonly body?: string | Readable;
}

/** The bucket owner as S3 shows it in listings. */
export interface Owner {
  readonly ID: string;
  readonly DisplayName: string;
}

/** What every operation shares. */
export interface S3Context {
  readonly store: S3Store;
  readonly runtime: SandboxRuntime;
  readonly owner: Owner;
}

/** The sandbox account's canonical user id (64 hex characters, as S3's are). */
export function ownerOf(accountId: string): Owner {
  return { ID: createHash('sha256').update(`sandbox:${accountId}`).digest('hex'), DisplayName: 'sandbox' };
}

/** One header as a string (the first of a repeated one). */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a small request body (bucket configuration, DeleteObjects) up to `limit` bytes. */
export function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooBig = () =>
      new S3Error(
        'MaxMessageLengthExceeded',
        `Your request was too big (this request takes at most ${limit} bytes)`,
      );
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooBig());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooBig());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Reads a small body and checks it as S3 does: `Content-MD5`, an `x-amz-checksum-*` header and the signed
 * `x-amz-content-sha256` must match what arrived.
 */
export async function readCheckedBody(call: S3Call, limit: number): Promise<Buffer> {
  const check = new PayloadCheck(call.headers);
  const body = await readSmallBody(call.req, limit);
  check.update(body);
  check.verify(call.headers);
  return body;
}

/** S3's listing timestamps: ISO 8601 with milliseconds. */
export function isoTime(date: Date): string {
  return date.toISOString();
}

/** S3's header timestamps: RFC 7231 (`Mon, 30 Nov 2026 03:04:58 GMT`). */
export function httpTime(date: Date): string {
  return date.toUTCString();
}
