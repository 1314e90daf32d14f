/**
 * Integrity checks S3 makes on what it receives: `Content-MD5` (RFC 1864) and the flexible checksums
 * (`x-amz-checksum-<algorithm>` header, or an `aws-chunked` trailer named by `x-amz-trailer`), S3 user guide
 * "Checking object integrity". A mismatch is `BadDigest`; a malformed value `InvalidDigest` / `InvalidRequest`.
 *
 * The sandbox computes CRC32, CRC32C, SHA-1, SHA-256, SHA-512 and MD5; for CRC64NVME and the XXHASH family
 * (no implementation in Node) it stores the client's value unverified. An object uploaded without any checksum
 * gets none (S3 adds a CRC64NVME of its own).
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { S3Error } from './errors.ts';

/** The algorithms S3 knows (model `ChecksumAlgorithm`), lower-cased as in their header names. */
const ALGORITHMS = [
  'crc32',
  'crc32c',
  'crc64nvme',
  'sha1',
  'sha256',
  'sha512',
  'md5',
  'xxhash64',
  'xxhash3',
  'xxhash128',
] as const;
export type ChecksumName = (typeof ALGORITHMS)[number];

/** A checksum as stored with an object version and returned with `x-amz-checksum-mode: ENABLED`. */
export interface StoredChecksum {
  /** As S3 names it in listings (`CRC32`, `SHA256`, ...). */
  readonly algorithm: string;
  /** Base64, as on the wire. */
  readonly value: string;
}

let crc32cTable: Uint32Array | undefined;

function crc32cUpdate(crc: number, data: Buffer): number {
  if (!crc32cTable) {
    crc32cTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (const byte of data) c = crc32cTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function uint32Base64(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
}

/** A running digest of one algorithm; `digest()` is undefined when the sandbox cannot compute it. */
interface Running {
  update(data: Buffer): void;
  digest(): string | undefined;
}

function running(name: ChecksumName): Running {
  let crc = 0;
  let hash: Hash | undefined;
  switch (name) {
    case 'crc32':
      return {
        update: (d) => {
          crc = crc32(d, crc);
        },
        digest: () => uint32Base64(crc),
      };
    case 'crc32c':
      return {
        update: (d) => {
          crc = crc32cUpdate(crc, d);
        },
        digest: () => uint32Base64(crc),
      };
    case 'sha1':
    case 'sha256':
    case 'sha512':
    case 'md5':
      hash = createHash(name);
      return { update: (d) => void hash!.update(d), digest: () => hash!.digest('base64') };
    default:
      return { update: () => {}, digest: () => undefined };
  }
}

function one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Everything a request asks S3 to check about its payload, fed the payload as it streams in; `verify()` at the
 * end throws S3's error for a mismatch and returns the checksum to store.
 */
export class PayloadCheck {
  readonly #md5 = createHash('md5');
  /** The signed payload hash (`x-amz-content-sha256` as hex), checked against what arrived. */
  readonly #payloadSha256: string | undefined;
  readonly #sha256: Hash | undefined;
  readonly #contentMd5: string | undefined;
  readonly #algorithm: ChecksumName | undefined;
  readonly #running: Running | undefined;
  /** The header carrying the value (`x-amz-checksum-crc32`); undefined when only the algorithm was named. */
  readonly #valueHeader: string | undefined;
  readonly #trailer: boolean;

  /** Reads `Content-MD5`, `x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm` and `x-amz-trailer`. */
  constructor(headers: IncomingHttpHeaders) {
    const payloadHash = one(headers, 'x-amz-content-sha256')?.toLowerCase();
    this.#payloadSha256 = payloadHash && /^[0-9a-f]{64}$/.test(payloadHash) ? payloadHash : undefined;
    this.#sha256 = this.#payloadSha256 ? createHash('sha256') : undefined;
    this.#contentMd5 = one(headers, 'content-md5');
    if (this.#contentMd5 !== undefined && Buffer.from(this.#contentMd5, 'base64').length !== 16) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', {
        details: { 'Content-MD5': this.#contentMd5.slice(0, 64) },
      });
    }
    const trailer = one(headers, 'x-amz-trailer')?.toLowerCase();
    const named = ALGORITHMS.filter((a) => one(headers, `x-amz-checksum-${a}`) !== undefined);
    if (named.length > 1) {
      throw new S3Error(
        'InvalidRequest',
        'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
      );
    }
    const sdk = one(headers, 'x-amz-sdk-checksum-algorithm')?.toLowerCase();
    let algorithm: ChecksumName | undefined;
    if (trailer?.startsWith('x-amz-checksum-')) {
      algorithm = ALGORITHMS.find((a) => `x-amz-checksum-${a}` === trailer);
      if (!algorithm)
        throw new S3Error(
          'InvalidRequest',
          `The value specified in the x-amz-trailer header is not supported: ${trailer.slice(0, 64)}`,
        );
      this.#valueHeader = trailer;
    } else if (named[0]) {
      algorithm = named[0];
      this.#valueHeader = `x-amz-checksum-${algorithm}`;
    } else if (sdk) {
      algorithm = ALGORITHMS.find((a) => a === sdk);
      if (!algorithm) {
        throw new S3Error(
          'InvalidRequest',
          `Checksum algorithm provided is unsupported: ${sdk.slice(0, 32)}. Please try again with any of the valid types: ${ALGORITHMS.join(', ')}`,
        );
      }
    }
    this.#trailer = trailer?.startsWith('x-amz-checksum-') === true;
    this.#algorithm = algorithm;
    this.#running = algorithm ? running(algorithm) : undefined;
  }

  update(data: Buffer): void {
    this.#sha256?.update(data);
    this.#md5.update(data);
    this.#running?.update(data);
  }

  /**
   * Checks the payload against what was declared (headers, and the `aws-chunked` trailers when given) and returns
   * its MD5 (hex, the ETag) and the checksum to store.
   */
  verify(
    headers: IncomingHttpHeaders,
    trailers?: ReadonlyMap<string, string>,
  ): { md5: string; checksum?: StoredChecksum } {
    const md5 = this.#md5.digest();
    if (this.#sha256 && this.#sha256.digest('hex') !== this.#payloadSha256) {
      // The signature covered this header, so a body that does not match it is not what was signed.
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { details: { ClientComputedContentSHA256: this.#payloadSha256! } },
      );
    }
    if (this.#contentMd5 !== undefined && md5.toString('base64') !== this.#contentMd5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        details: { ExpectedDigest: this.#contentMd5, CalculatedDigest: md5.toString('base64') },
      });
    }
    if (!this.#algorithm) return { md5: md5.toString('hex') };
    const label = this.#algorithm.toUpperCase();
    const declared = this.#valueHeader
      ? this.#trailer
        ? trailers?.get(this.#valueHeader)
        : one(headers, this.#valueHeader)
      : undefined;
    if (this.#trailer && declared === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `The x-amz-trailer header named ${this.#valueHeader} but the body had no such trailer`,
      );
    }
    const computed = this.#running?.digest();
    if (declared !== undefined && computed !== undefined && declared !== computed) {
      throw new S3Error('BadDigest', `The ${label} you specified did not match the calculated checksum.`);
    }
    const value = declared ?? computed;
    return { md5: md5.toString('hex'), ...(value ? { checksum: { algorithm: label, value } } : {}) };
  }
}
