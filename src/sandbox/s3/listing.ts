/**
 * Listings: ListObjectsV2, ListObjects (v1) and ListObjectVersions (S3 API reference). Keys come in UTF-8
 * binary order; a delimiter rolls keys up into `CommonPrefixes` (each counting once toward `max-keys`); a page
 * ends after `max-keys` entries and says where the next one starts (continuation token; marker; key and
 * version-id markers). `encoding-type=url` (what the AWS CLI asks for) URL-encodes keys and prefixes.
 */
import { bucketOf, xmlAnswer } from './buckets.ts';
import { type S3Answer, type S3Call, type S3Context, isoTime } from './call.ts';
import { invalidArgument } from './errors.ts';
import { isVersionId } from './names.ts';
import { versionSummary } from './versions.ts';
import type { BucketRecord, StoredVersion } from './store.ts';

const MAX_KEYS = 1000;

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function maxKeys(call: S3Call): number {
  const raw = call.query.get('max-keys');
  if (raw === null) return MAX_KEYS;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2 ** 31 - 1) {
    throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', raw);
  }
  return Math.min(Number(raw), MAX_KEYS);
}

function encoder(call: S3Call): (value: string) => string {
  const type = call.query.get('encoding-type');
  if (type === null) return (v) => v;
  if (type !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', type);
  return (v) => encodeURIComponent(v).replaceAll('%2F', '/');
}

type Entry = { kind: 'key'; key: string } | { kind: 'prefix'; prefix: string };

/**
 * Keys (sorted) under `prefix`, after `after` (exclusive, or inclusive of the key itself when `includeAfter`),
 * with keys holding `delimiter` past the prefix rolled up into common prefixes.
 */
function* walk(
  keys: readonly string[],
  prefix: string,
  delimiter: string,
  after: string | undefined,
  includeAfter = false,
): Generator<Entry> {
  let lastPrefix: string | undefined;
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    if (after !== undefined) {
      const order = utf8Compare(key, after);
      if (order < 0 || (order === 0 && !includeAfter)) continue;
    }
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const common = key.slice(0, at + delimiter.length);
        // A marker at (or inside) a common prefix means that prefix was already returned.
        if (after !== undefined && utf8Compare(common, after) <= 0 && !(includeAfter && key === after))
          continue;
        if (common !== lastPrefix) {
          lastPrefix = common;
          yield { kind: 'prefix', prefix: common };
        }
        continue;
      }
    }
    yield { kind: 'key', key };
  }
}

/** Keys whose newest version is an object (what ListObjects shows). */
function liveKeys(bucket: BucketRecord): string[] {
  return [...bucket.objects.entries()]
    .filter(([, versions]) => versions[0] && !versions[0].deleteMarker)
    .map(([key]) => key)
    .sort(utf8Compare);
}

function owner(ctx: S3Context): { ID: string; DisplayName: string } {
  return { ...ctx.owner };
}

interface ObjectsPage {
  contents: Record<string, unknown>[];
  prefixes: { Prefix: string }[];
  truncated: boolean;
  /** The last key or common prefix on the page. */
  last?: string;
}

function objectsPage(
  ctx: S3Context,
  call: S3Call,
  bucket: BucketRecord,
  after: string | undefined,
  withOwner: boolean,
): ObjectsPage {
  const prefix = call.query.get('prefix') ?? '';
  const delimiter = call.query.get('delimiter') ?? '';
  const limit = maxKeys(call);
  const encode = encoder(call);
  const page: ObjectsPage = { contents: [], prefixes: [], truncated: false };
  let count = 0;
  for (const entry of walk(liveKeys(bucket), prefix, delimiter, after)) {
    if (count >= limit) {
      page.truncated = true;
      break;
    }
    count += 1;
    if (entry.kind === 'prefix') {
      page.prefixes.push({ Prefix: encode(entry.prefix) });
      page.last = entry.prefix;
    } else {
      const version = bucket.objects.get(entry.key)![0]!;
      page.contents.push({
        Key: encode(entry.key),
        ...versionSummary(version),
        ...(withOwner ? { Owner: owner(ctx) } : {}),
      });
      page.last = entry.key;
    }
  }
  return page;
}

function commonFields(call: S3Call, bucket: BucketRecord, limit: number): Record<string, unknown> {
  const encode = encoder(call);
  const delimiter = call.query.get('delimiter');
  const encodingType = call.query.get('encoding-type');
  return {
    Name: bucket.name,
    Prefix: encode(call.query.get('prefix') ?? ''),
    ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
    MaxKeys: String(limit),
    ...(encodingType ? { EncodingType: encodingType } : {}),
  };
}

const TOKEN_PREFIX = 'cph1:';

export function listObjectsV2(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  const token = call.query.get('continuation-token');
  let after = call.query.get('start-after') ?? undefined;
  if (token !== null) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (!decoded.startsWith(TOKEN_PREFIX)) {
      throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
    }
    after = decoded.slice(TOKEN_PREFIX.length);
  }
  const page = objectsPage(ctx, call, bucket, after, call.query.get('fetch-owner') === 'true');
  const startAfter = call.query.get('start-after');
  const encode = encoder(call);
  return xmlAnswer('ListBucketResult', {
    ...commonFields(call, bucket, maxKeys(call)),
    KeyCount: String(page.contents.length + page.prefixes.length),
    IsTruncated: String(page.truncated),
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(page.truncated
      ? { NextContinuationToken: Buffer.from(TOKEN_PREFIX + page.last).toString('base64url') }
      : {}),
    ...(startAfter !== null ? { StartAfter: encode(startAfter) } : {}),
    ...(page.contents.length > 0 ? { Contents: page.contents } : {}),
    ...(page.prefixes.length > 0 ? { CommonPrefixes: page.prefixes } : {}),
  });
}

export function listObjectsV1(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  const marker = call.query.get('marker') ?? '';
  const page = objectsPage(ctx, call, bucket, marker || undefined, true);
  const encode = encoder(call);
  return xmlAnswer('ListBucketResult', {
    ...commonFields(call, bucket, maxKeys(call)),
    Marker: encode(marker),
    IsTruncated: String(page.truncated),
    // S3 gives NextMarker only with a delimiter; without one the client continues from the last key.
    ...(page.truncated && call.query.get('delimiter') ? { NextMarker: encode(page.last!) } : {}),
    ...(page.contents.length > 0 ? { Contents: page.contents } : {}),
    ...(page.prefixes.length > 0 ? { CommonPrefixes: page.prefixes } : {}),
  });
}

export function listObjectVersions(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  const prefix = call.query.get('prefix') ?? '';
  const delimiter = call.query.get('delimiter') ?? '';
  const keyMarker = call.query.get('key-marker') ?? '';
  const versionIdMarker = call.query.get('version-id-marker') ?? '';
  if (versionIdMarker && !keyMarker) {
    throw invalidArgument(
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      versionIdMarker,
    );
  }
  if (versionIdMarker && !isVersionId(versionIdMarker)) {
    throw invalidArgument('Invalid version id specified', 'version-id-marker', versionIdMarker);
  }
  const limit = maxKeys(call);
  const encode = encoder(call);
  const keys = [...bucket.objects.keys()].sort(utf8Compare);
  const versions: Record<string, unknown>[] = [];
  const markers: Record<string, unknown>[] = [];
  const prefixes: { Prefix: string }[] = [];
  let count = 0;
  let truncated = false;
  let nextKey: string | undefined;
  let nextVersion: string | undefined;

  const emit = (key: string, version: StoredVersion, isLatest: boolean) => {
    const common = {
      Key: encode(key),
      VersionId: version.versionId,
      IsLatest: String(isLatest),
      LastModified: isoTime(version.lastModified),
      Owner: owner(ctx),
    };
    if (version.deleteMarker) markers.push(common);
    else {
      const { LastModified: _, ...summary } = versionSummary(version);
      versions.push({ ...common, ...summary });
    }
  };

  outer: for (const entry of walk(keys, prefix, delimiter, keyMarker || undefined, versionIdMarker !== '')) {
    if (entry.kind === 'prefix') {
      if (count >= limit) {
        truncated = true;
        break;
      }
      count += 1;
      prefixes.push({ Prefix: encode(entry.prefix) });
      nextKey = entry.prefix;
      nextVersion = undefined;
      continue;
    }
    const list = bucket.objects.get(entry.key)!;
    let start = 0;
    if (versionIdMarker && entry.key === keyMarker) {
      start = list.findIndex((v) => v.versionId === versionIdMarker) + 1;
    }
    for (let i = start; i < list.length; i++) {
      if (count >= limit) {
        truncated = true;
        break outer;
      }
      count += 1;
      emit(entry.key, list[i]!, i === 0);
      nextKey = entry.key;
      nextVersion = list[i]!.versionId;
    }
  }
  return xmlAnswer('ListVersionsResult', {
    Name: bucket.name,
    Prefix: encode(prefix),
    KeyMarker: encode(keyMarker),
    VersionIdMarker: versionIdMarker,
    ...(truncated
      ? { NextKeyMarker: encode(nextKey!), ...(nextVersion ? { NextVersionIdMarker: nextVersion } : {}) }
      : {}),
    MaxKeys: String(limit),
    ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
    IsTruncated: String(truncated),
    ...(call.query.get('encoding-type') ? { EncodingType: call.query.get('encoding-type') } : {}),
    ...(versions.length > 0 ? { Version: versions } : {}),
    ...(markers.length > 0 ? { DeleteMarker: markers } : {}),
    ...(prefixes.length > 0 ? { CommonPrefixes: prefixes } : {}),
  });
}
