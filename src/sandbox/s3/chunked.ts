/**
 * The `aws-chunked` content encoding SDKs use to stream a payload whose checksum goes in a trailer
 * (S3 API reference, "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
 * Chunks"): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailer lines>\r\n\r\n`.
 * The decoder yields the payload and collects the trailers; malformed framing is S3's `IncompleteBody` /
 * `InvalidRequest`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors.ts';

const MAX_LINE_BYTES = 4096;
const MAX_TRAILERS = 32;

/** Whether a request's body is `aws-chunked` (by `Content-Encoding` or a `STREAMING-*` payload hash). */
export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

/** The stored `Content-Encoding` of an aws-chunked upload: the header without `aws-chunked` (S3 strips it). */
export function storedContentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const rest = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e.toLowerCase() !== 'aws-chunked');
  return rest.length > 0 ? rest.join(', ') : undefined;
}

function framing(what: string): S3Error {
  return new S3Error('InvalidRequest', `The aws-chunked request body is malformed: ${what}`);
}

/** Decodes an aws-chunked body; `trailers` (lower-cased names) is complete once the stream ends. */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  #buffer: Buffer = Buffer.alloc(0);
  #state: 'size' | 'data' | 'crlf' | 'trailer' | 'done' = 'size';
  #remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#buffer = this.#buffer.length > 0 ? Buffer.concat([this.#buffer, chunk]) : chunk;
    try {
      this.#drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state === 'done' || (this.#state === 'trailer' && this.#buffer.length === 0)) callback();
    else
      callback(
        new S3Error(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header (the aws-chunked body ended inside a chunk)',
        ),
      );
  }

  #drain(): void {
    for (;;) {
      if (this.#state === 'done') {
        this.#buffer = Buffer.alloc(0);
        return;
      }
      if (this.#state === 'data') {
        if (this.#buffer.length === 0) return;
        const n = Math.min(this.#remaining, this.#buffer.length);
        this.push(this.#buffer.subarray(0, n));
        this.#buffer = this.#buffer.subarray(n);
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = 'crlf';
        continue;
      }
      if (this.#state === 'crlf') {
        if (this.#buffer.length < 2) return;
        if (this.#buffer[0] !== 0x0d || this.#buffer[1] !== 0x0a)
          throw framing('a chunk is not followed by CRLF');
        this.#buffer = this.#buffer.subarray(2);
        this.#state = 'size';
        continue;
      }
      const eol = this.#buffer.indexOf('\r\n');
      if (eol < 0) {
        if (this.#buffer.length > MAX_LINE_BYTES) throw framing('a chunk header or trailer line is too long');
        return;
      }
      const line = this.#buffer.subarray(0, eol).toString('latin1');
      this.#buffer = this.#buffer.subarray(eol + 2);
      if (this.#state === 'size') {
        const hex = line.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw framing(`'${line.slice(0, 40)}' is not a chunk size`);
        const size = Number.parseInt(hex, 16);
        if (size === 0) this.#state = 'trailer';
        else {
          this.#remaining = size;
          this.#state = 'data';
        }
        continue;
      }
      // Trailer lines until the empty line that ends the body.
      if (line === '') {
        this.#state = 'done';
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw framing(`trailer line '${line.slice(0, 40)}' has no name`);
      if (this.trailers.size >= MAX_TRAILERS) throw framing('too many trailers');
      this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
}
