/**
 * GetObject and HeadObject (S3 API reference): the newest version or `?versionId=`, S3's answers for a delete
 * marker (404 `NoSuchKey` with `x-amz-delete-marker`, 405 when named), conditional reads (304 / 412), one byte
 * range (206 / 416), `response-*` header overrides and the stored checksum with `x-amz-checksum-mode: ENABLED`.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { bucketOf } from './buckets.ts';
import { headerOf, httpTime, type S3Answer, type S3Call, type S3Context } from './call.ts';
import { invalidArgument, noSuchKey, noSuchVersion, notImplemented, S3Error } from './errors.ts';
import { isVersionId } from './names.ts';
import type { BucketRecord, StoredVersion } from './store.ts';
import { latest, versionHeader } from './versions.ts';

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
