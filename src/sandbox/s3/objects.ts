/**
 * Object operations: PutObject, GetObject, HeadObject, DeleteObject and DeleteObjects (S3 API reference, each
 * operation's page; S3 user guide "Working with objects in a versioning-enabled bucket": a delete without a
 * version id adds a delete marker, a delete with one removes that version for good; a suspended bucket writes
 * the `null` version).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bucketOf } from './buckets.ts';
import {
  headerOf,
  httpTime,
  readSmallBody,
  type S3Answer,
  type S3Call,
  type S3Context,
  isoTime,
} from './call.ts';
import { PayloadCheck } from './checksums.ts';
import { AwsChunkedDecoder, isAwsChunked, storedContentEncoding } from './chunked.ts';
import {
  S3Error,
  invalidArgument,
  malformedXml,
  noSuchBucket,
  noSuchKey,
  noSuchVersion,
  notImplemented,
} from './errors.ts';
import { assertKey, isVersionId, newVersionId, NULL_VERSION } from './names.ts';
import { type BucketRecord, fileId, type StoredVersion } from './store.ts';
import { children, child, parseXml, text, xmlDocument } from './xml.ts';

/** S3's limit for a single PUT (5 GiB). */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** S3's limit for user metadata (2 KiB of `x-amz-meta-*` names and values). */
const MAX_METADATA_BYTES = 2048;
/** A DeleteObjects body: 1000 keys of at most 1024 bytes plus their XML. */
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;
const MAX_DELETE_KEYS = 1000;

/** Representation headers S3 stores with an object and returns on GET/HEAD. */
const STORED_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-language',
  'expires',
];

/** The newest version of a key (object or delete marker). */
function latest(bucket: BucketRecord, key: string): StoredVersion | undefined {
  return bucket.objects.get(key)?.[0];
}

function versionHeader(bucket: BucketRecord, version: StoredVersion): Record<string, string> {
  // S3 names the version on every answer once the bucket has had versioning configured.
  return bucket.versioning ? { 'x-amz-version-id': version.versionId } : {};
}

/** What a new version's id is: a fresh one while versioning is Enabled, `null` otherwise. */
function nextVersionId(bucket: BucketRecord): string {
  return bucket.versioning === 'Enabled' ? newVersionId() : NULL_VERSION;
}

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

/**
 * The version a GET/HEAD/DELETE names: `?versionId=` or the newest. S3's answers for what is not there:
 * `NoSuchKey` (a delete marker on top adds `x-amz-delete-marker`), `NoSuchVersion`, 405 for a named delete marker.
 */
function readableVersion(bucket: BucketRecord, call: S3Call): StoredVersion {
  const key = call.key!;
  const versionId = call.query.get('versionId');
  if (versionId !== null) {
    if (!isVersionId(versionId))
      throw invalidArgument('Invalid version id specified', 'versionId', versionId);
    const version = bucket.objects.get(key)?.find((v) => v.versionId === versionId);
    if (!version) throw noSuchVersion(key, versionId);
    if (version.deleteMarker) {
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        status: 405,
        details: { Method: call.method, ResourceType: 'DeleteMarker' },
        headers: {
          'x-amz-delete-marker': 'true',
          'x-amz-version-id': version.versionId,
          'last-modified': httpTime(version.lastModified),
          allow: 'DELETE',
        },
      });
    }
    return version;
  }
  const version = latest(bucket, key);
  if (!version) throw noSuchKey(key);
  if (version.deleteMarker) {
    throw noSuchKey(key, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': version.versionId });
  }
  return version;
}

/** The answer to If-Match / If-None-Match / If-(Un)Modified-Since on a read (RFC 7232 order, as S3 applies it). */
function readConditions(call: S3Call, version: StoredVersion): number | undefined {
  const ifMatch = headerOf(call.headers, 'if-match');
  const ifNoneMatch = headerOf(call.headers, 'if-none-match');
  const since = headerOf(call.headers, 'if-modified-since');
  const unmodifiedSince = headerOf(call.headers, 'if-unmodified-since');
  const modified = Math.floor(version.lastModified.getTime() / 1000) * 1000;
  const matches = (list: string) =>
    list.split(',').some((t) => t.trim() === '*' || t.trim() === version.etag);
  if (ifMatch !== undefined && !matches(ifMatch)) return 412;
  if (ifMatch === undefined && unmodifiedSince !== undefined) {
    const at = Date.parse(unmodifiedSince);
    if (Number.isFinite(at) && modified > at) return 412;
  }
  if (ifNoneMatch !== undefined && matches(ifNoneMatch)) return 304;
  if (ifNoneMatch === undefined && since !== undefined) {
    const at = Date.parse(since);
    if (Number.isFinite(at) && modified <= at) return 304;
  }
  return undefined;
}

/** A single `bytes=` range, resolved against `size`; undefined when absent or not one S3 reads. */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** Query parameters that override a GET's response headers (`response-content-type`, ...). */
const RESPONSE_OVERRIDES = [
  'content-type',
  'content-language',
  'expires',
  'cache-control',
  'content-disposition',
  'content-encoding',
];

/** GetObject and HeadObject (HEAD answers the same headers without the body). */
export function getObject(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  if (call.query.has('partNumber')) throw notImplemented('GetObject by partNumber');
  const version = readableVersion(bucket, call);
  const headers: Record<string, string> = {
    ...version.headers,
    etag: version.etag,
    'last-modified': httpTime(version.lastModified),
    'accept-ranges': 'bytes',
    'x-amz-server-side-encryption': 'AES256',
    ...versionHeader(bucket, version),
  };
  for (const [name, value] of Object.entries(version.metadata)) headers[`x-amz-meta-${name}`] = value;
  const condition = readConditions(call, version);
  if (condition === 412) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      status: 412,
      details: {
        Condition: headerOf(call.headers, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since',
      },
    });
  }
  if (condition === 304)
    return { status: 304, headers: { etag: version.etag, 'last-modified': headers['last-modified']! } };
  if (call.method === 'GET') {
    for (const name of RESPONSE_OVERRIDES) {
      const value = call.query.get(`response-${name}`);
      if (value !== null) headers[name] = value;
    }
  }
  const range = byteRange(headerOf(call.headers, 'range'), version.size);
  if (range === 'unsatisfiable') {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      status: 416,
      details: {
        RangeRequested: headerOf(call.headers, 'range') ?? '',
        ActualObjectSize: String(version.size),
      },
      headers: { 'content-range': `bytes */${version.size}` },
    });
  }
  const checksumWanted = headerOf(call.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
  if (checksumWanted && version.checksum && !range) {
    headers[`x-amz-checksum-${version.checksum.algorithm.toLowerCase()}`] = version.checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  const path = ctx.store.bodyPath(bucket.name, version.file);
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${version.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
    const body: Readable | undefined =
      call.method === 'GET' ? createReadStream(path, { start: range.start, end: range.end }) : undefined;
    return { status: 206, headers, ...(body ? { body } : {}) };
  }
  headers['content-length'] = String(version.size);
  return {
    status: 200,
    headers,
    ...(call.method === 'GET' && version.size > 0 ? { body: createReadStream(path) } : {}),
  };
}

/** What one delete did, as DeleteObject's headers and DeleteObjects' `<Deleted>` say it. */
interface DeleteOutcome {
  /** The version removed, or the delete marker created. */
  versionId?: string;
  /** True when a delete marker was created or removed. */
  deleteMarker?: boolean;
}

/** Deletes one key or version the way S3 does for the bucket's versioning state. */
function deleteOne(
  ctx: S3Context,
  bucket: BucketRecord,
  key: string,
  versionId: string | undefined,
): DeleteOutcome {
  if (versionId !== undefined) {
    const removed = ctx.store.removeVersion(bucket, key, versionId);
    return { versionId, ...(removed?.deleteMarker ? { deleteMarker: true } : {}) };
  }
  if (!bucket.versioning) {
    ctx.store.removeVersion(bucket, key, NULL_VERSION);
    return {};
  }
  // Versioned (or suspended): a delete marker becomes the newest version; suspended writes it as `null`.
  const marker: StoredVersion = {
    key,
    versionId: nextVersionId(bucket),
    seq: ctx.store.nextSeq(),
    lastModified: ctx.runtime.clock.now(),
    deleteMarker: true,
    size: 0,
    etag: '',
    headers: {},
    metadata: {},
    file: fileId(),
  };
  ctx.store.addVersion(bucket, marker);
  return { versionId: marker.versionId, deleteMarker: true };
}

export function deleteObject(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  const key = call.key!;
  const versionId = call.query.get('versionId') ?? undefined;
  if (versionId !== undefined && !isVersionId(versionId)) {
    throw invalidArgument('Invalid version id specified', 'versionId', versionId);
  }
  const outcome = deleteOne(ctx, bucket, key, versionId);
  return {
    status: 204,
    headers: {
      ...(outcome.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
      ...(outcome.versionId !== undefined ? { 'x-amz-version-id': outcome.versionId } : {}),
    },
  };
}

/** `POST /<bucket>?delete`: up to 1000 keys/versions; per-key failures are `<Error>` entries, not a failed call. */
export async function deleteObjects(ctx: S3Context, call: S3Call): Promise<S3Answer> {
  const bucket = bucketOf(ctx, call);
  const hasChecksum =
    call.headers['content-md5'] !== undefined ||
    Object.keys(call.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-mode');
  if (!hasChecksum) {
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 OR x-amz-checksum-*',
    );
  }
  const check = new PayloadCheck(call.headers);
  const body = await readSmallBody(call.req, MAX_DELETE_BODY_BYTES);
  check.update(body);
  check.verify(call.headers);
  const request = parseXml(body, 'Delete');
  const objects = children(request.Object);
  if (objects.length === 0) throw malformedXml('<Delete> needs at least one <Object>');
  if (objects.length > MAX_DELETE_KEYS) {
    throw malformedXml(`<Delete> has ${objects.length} <Object> elements; at most ${MAX_DELETE_KEYS}`);
  }
  const quiet = text(request.Quiet)?.trim() === 'true';
  const deleted: Record<string, string>[] = [];
  const errors: Record<string, string>[] = [];
  for (const object of objects) {
    const key = text(child(object, 'Key'));
    if (key === undefined) throw malformedXml('every <Object> needs a <Key>');
    const versionId = text(child(object, 'VersionId'));
    if (versionId !== undefined && !isVersionId(versionId)) {
      errors.push({
        Key: key,
        VersionId: versionId,
        Code: 'NoSuchVersion',
        Message: 'The specified version does not exist.',
      });
      continue;
    }
    if (Buffer.byteLength(key) > 1024 || key === '') {
      errors.push({
        Key: key,
        Code: 'InvalidArgument',
        Message: 'Invalid key: empty or longer than 1024 bytes',
      });
      continue;
    }
    const outcome = deleteOne(ctx, bucket, key, versionId);
    if (quiet) continue;
    deleted.push({
      Key: key,
      ...(versionId !== undefined ? { VersionId: versionId } : {}),
      ...(outcome.deleteMarker ? { DeleteMarker: 'true', DeleteMarkerVersionId: outcome.versionId! } : {}),
    });
  }
  const document = xmlDocument('DeleteResult', {
    ...(deleted.length > 0 ? { Deleted: deleted } : {}),
    ...(errors.length > 0 ? { Error: errors } : {}),
  });
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: document };
}

/** For listings: the parts of a version S3 shows. */
export function versionSummary(version: StoredVersion): Record<string, string> {
  return {
    LastModified: isoTime(version.lastModified),
    ETag: version.etag,
    ...(version.checksum
      ? { ChecksumAlgorithm: version.checksum.algorithm, ChecksumType: 'FULL_OBJECT' }
      : {}),
    Size: String(version.size),
    StorageClass: 'STANDARD',
  };
}
