/**
 * PutObject (S3 API reference): the body streamed to a file under the data dir (aws-chunked decoded, length,
 * `Content-MD5`, checksums and the signed payload hash checked), then made the key's newest version: a fresh
 * version id while versioning is Enabled, the one `null` version otherwise. Conditional writes (`If-None-Match: *`,
 * `If-Match`) as S3 has them.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bucketOf } from './buckets.ts';
import { headerOf, type S3Answer, type S3Call, type S3Context } from './call.ts';
import { PayloadCheck } from './checksums.ts';
import { AwsChunkedDecoder, isAwsChunked, storedContentEncoding } from './chunked.ts';
import { invalidArgument, noSuchBucket, noSuchKey, notImplemented, S3Error } from './errors.ts';
import { assertKey } from './names.ts';
import { type BucketRecord, fileId, type StoredVersion } from './store.ts';
import { latest, nextVersionId } from './versions.ts';

/** S3's limit for a single PUT (5 GiB). */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** S3's limit for user metadata (2 KiB of `x-amz-meta-*` names and values). */
const MAX_METADATA_BYTES = 2048;

/** Representation headers S3 stores with an object and returns on GET/HEAD. */
const STORED_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-language',
  'expires',
];

function userMetadata(call: Pick<S3Call, 'headers'>): Record<string, string> {
  const metadata: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(call.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    metadata[name.slice('x-amz-meta-'.length)] = v;
    size += name.length - 'x-amz-meta-'.length + v.length;
  }
  if (size > MAX_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.', {
      details: { Size: String(size), MaxSizeAllowed: String(MAX_METADATA_BYTES) },
    });
  }
  return metadata;
}

/** If-Match / If-None-Match on a write (S3 conditional writes): 412 PreconditionFailed when they do not hold. */
function checkWriteConditions(
  call: Pick<S3Call, 'headers' | 'key'>,
  current: StoredVersion | undefined,
): void {
  const live = current && !current.deleteMarker ? current : undefined;
  const ifNoneMatch = headerOf(call.headers, 'if-none-match');
  const ifMatch = headerOf(call.headers, 'if-match');
  const failed = (condition: string) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      status: 412,
      details: { Condition: condition },
    });
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*')
      throw notImplemented('If-None-Match on PutObject with a value other than *');
    if (live) throw failed('If-None-Match');
  }
  if (ifMatch !== undefined) {
    if (!live) throw noSuchKey(call.key!);
    if (ifMatch.trim() !== live.etag) throw failed('If-Match');
  }
}

export function putObject(ctx: S3Context, call: S3Call): Promise<S3Answer> {
  return storeObject(ctx, bucketOf(ctx, call), call.key!, call.req, call.headers);
}

/**
 * PutObject's core: streams `body` (decoding aws-chunked, checking length, Content-MD5 and checksums) into a new
 * version of `key`. The wire's PutObject and in-process writers (the pipeline's artifact store) share it.
 */
export async function storeObject(
  ctx: S3Context,
  bucket: BucketRecord,
  key: string,
  body: Readable,
  headers: IncomingHttpHeaders,
): Promise<S3Answer> {
  const call = { headers, key };
  assertKey(key);
  if (call.headers['x-amz-copy-source'] !== undefined) throw notImplemented('CopyObject (x-amz-copy-source)');
  const chunked = isAwsChunked(call.headers);
  const lengthHeader = chunked
    ? headerOf(call.headers, 'x-amz-decoded-content-length')
    : headerOf(call.headers, 'content-length');
  if (lengthHeader === undefined && !chunked) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.', {
      status: 411,
    });
  }
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) {
    throw invalidArgument('The Content-Length you specified is not valid', 'Content-Length', lengthHeader!);
  }
  if (declared !== undefined && declared > MAX_OBJECT_BYTES) {
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      details: { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_OBJECT_BYTES) },
    });
  }
  const metadata = userMetadata(call);
  checkWriteConditions(call, latest(bucket, key));
  const check = new PayloadCheck(call.headers);
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;

  const tmp = ctx.store.tmpPath();
  let size = 0;
  try {
    const count = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > (declared ?? MAX_OBJECT_BYTES)) {
          throw new S3Error('IncompleteBody', 'The request body is longer than its declared Content-Length');
        }
        check.update(chunk);
        yield chunk;
      }
    };
    if (decoder) await pipeline(body, decoder, count, createWriteStream(tmp));
    else await pipeline(body, count, createWriteStream(tmp));
    if (declared !== undefined && size !== declared) {
      throw new S3Error(
        'IncompleteBody',
        `You did not provide the number of bytes specified by the Content-Length HTTP header (${size} of ${declared})`,
      );
    }
    const { md5, checksum } = check.verify(call.headers, decoder?.trailers);
    // The bucket may have gone (or changed versioning) while the body streamed in: decide now.
    const current = ctx.store.get(bucket.name);
    if (current !== bucket) throw noSuchBucket(bucket.name);
    const stored: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const value = headerOf(headers, name);
      if (value !== undefined) stored[name] = value;
    }
    stored['content-type'] ??= 'binary/octet-stream';
    const encoding = storedContentEncoding(headerOf(headers, 'content-encoding'));
    if (encoding !== undefined) stored['content-encoding'] = encoding;
    const version: StoredVersion = {
      key,
      versionId: nextVersionId(bucket),
      seq: ctx.store.nextSeq(),
      lastModified: ctx.runtime.clock.now(),
      deleteMarker: false,
      size,
      etag: `"${md5}"`,
      headers: stored,
      metadata,
      ...(checksum ? { checksum } : {}),
      file: fileId(),
    };
    await rename(tmp, ctx.store.bodyPath(bucket.name, version.file));
    ctx.store.addVersion(bucket, version);
    return {
      status: 200,
      headers: {
        etag: version.etag,
        'x-amz-server-side-encryption': 'AES256',
        ...(bucket.versioning === 'Enabled' ? { 'x-amz-version-id': version.versionId } : {}),
        ...(checksum
          ? {
              [`x-amz-checksum-${checksum.algorithm.toLowerCase()}`]: checksum.value,
              'x-amz-checksum-type': 'FULL_OBJECT',
            }
          : {}),
      },
    };
  } finally {
    await rm(tmp, { force: true });
  }
}
