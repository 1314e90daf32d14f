/**
 * Bucket operations: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation,
 * Put/GetBucketVersioning, Put/Get/DeleteBucketTagging (S3 API reference, each operation's page).
 */
import { type Owner, readCheckedBody, type S3Answer, type S3Call, type S3Context, isoTime } from './call.ts';
import {
  S3Error,
  bucketNotEmpty,
  invalidArgument,
  malformedXml,
  noSuchBucket,
  notImplemented,
} from './errors.ts';
import { assertBucketName } from './names.ts';
import type { BucketRecord, VersioningStatus } from './store.ts';
import { children, child, parseXml, text, xmlDocument } from './xml.ts';

/** Bucket configuration documents are small; S3 refuses far smaller bodies than this for them. */
const MAX_CONFIG_BYTES = 64 * 1024;
const US_EAST_1 = 'us-east-1';

/** The bucket a call names, or `NoSuchBucket`; a call signed for another region gets S3's region error. */
export function bucketOf(ctx: S3Context, call: S3Call): BucketRecord {
  const name = call.bucket!;
  const bucket = ctx.store.get(name);
  if (!bucket) throw noSuchBucket(name);
  if (bucket.region !== call.region) {
    // S3 answers a request signed for the wrong region with the bucket's region, so SDKs can redirect.
    throw new S3Error(
      call.method === 'HEAD' ? 'PermanentRedirect' : 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${call.region}' is wrong; expecting '${bucket.region}'`,
      {
        status: call.method === 'HEAD' ? 301 : 400,
        details: { Region: bucket.region, BucketName: name },
        headers: { 'x-amz-bucket-region': bucket.region },
      },
    );
  }
  return bucket;
}

/** Whether a bucket still holds anything S3 counts: any object version or delete marker. */
export function isEmpty(bucket: BucketRecord): boolean {
  return bucket.objects.size === 0;
}

/**
 * Tags as S3 takes them for a bucket: at most 50, keys 1–128 and values 0–256 characters of letters, numbers,
 * spaces and `+ - = . _ : / @`, no `aws:` prefix, no key twice (`InvalidTag` otherwise).
 */
export function validateTags(tags: ReadonlyArray<{ key: string; value: string }>): Record<string, string> {
  const invalid = (message: string, key?: string) =>
    new S3Error('InvalidTag', message, key !== undefined ? { details: { TagKey: key.slice(0, 128) } } : {});
  if (tags.length > 50) throw invalid(`Bucket tag count cannot be greater than 50 (got ${tags.length})`);
  const out: Record<string, string> = {};
  const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  for (const { key, value } of tags) {
    if (key.length < 1 || key.length > 128)
      throw invalid('The TagKey you have provided is too long or empty, max 128', key);
    if (value.length > 256) throw invalid('The TagValue you have provided is too long, max 256', key);
    if (!allowed.test(key) || !allowed.test(value))
      throw invalid('The TagKey or TagValue you have provided is invalid', key);
    if (key.toLowerCase().startsWith('aws:'))
      throw invalid('System tags cannot be added/updated by requester', key);
    if (Object.hasOwn(out, key)) throw invalid('Cannot provide multiple Tags with the same key', key);
    out[key] = value;
  }
  return out;
}

/** Creates a bucket record (validated, persisted); throws `BucketAlreadyOwnedByYou` when it exists. */
export function createBucketRecord(
  ctx: S3Context,
  name: string,
  region: string,
  options: { versioning?: VersioningStatus; tags?: Record<string, string> } = {},
): BucketRecord {
  assertBucketName(name);
  if (ctx.store.get(name)) {
    throw new S3Error(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      { status: 409, details: { BucketName: name } },
    );
  }
  const tags = options.tags
    ? validateTags(Object.entries(options.tags).map(([key, value]) => ({ key, value })))
    : undefined;
  const record: BucketRecord = {
    name,
    region,
    creationDate: ctx.runtime.clock.now(),
    ...(options.versioning ? { versioning: options.versioning } : {}),
    ...(tags && Object.keys(tags).length > 0 ? { tags } : {}),
    objects: new Map(),
  };
  ctx.store.add(record);
  return record;
}

/** Deletes an empty bucket; `NoSuchBucket` / `BucketNotEmpty` (409) otherwise. */
export function deleteBucketRecord(ctx: S3Context, name: string): void {
  const bucket = ctx.store.get(name);
  if (!bucket) throw noSuchBucket(name);
  if (!isEmpty(bucket)) throw bucketNotEmpty(name, bucket.versioning !== undefined);
  ctx.store.remove(name);
}

function locationConstraint(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  const config = parseXml(body, 'CreateBucketConfiguration');
  const value = text(config.LocationConstraint)?.trim();
  return value ? value : undefined;
}

export async function createBucket(ctx: S3Context, call: S3Call): Promise<S3Answer> {
  const name = call.bucket!;
  const body = await readCheckedBody(call, MAX_CONFIG_BYTES);
  assertBucketName(name);
  const constraint = locationConstraint(body);
  // S3: us-east-1 is the default and is never named; a regional endpoint takes only its own region.
  if (
    constraint === US_EAST_1 ||
    (constraint !== undefined && !/^([a-z]{2}(-[a-z]+)+-\d+|EU)$/.test(constraint))
  ) {
    throw new S3Error('InvalidLocationConstraint', 'The specified location-constraint is not valid', {
      details: { LocationConstraint: constraint.slice(0, 64) },
    });
  }
  if (call.region !== US_EAST_1 && constraint !== call.region) {
    throw new S3Error(
      'IllegalLocationConstraintException',
      constraint === undefined
        ? `The unspecified location constraint is incompatible for the region specific endpoint this request was sent to (${call.region}); send <LocationConstraint>${call.region}</LocationConstraint>`
        : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to (${call.region}).`,
    );
  }
  const region = constraint === 'EU' ? 'eu-west-1' : (constraint ?? US_EAST_1);
  const existing = ctx.store.get(name);
  // In us-east-1 S3 answers 200 to re-creating a bucket you own there (legacy behaviour); elsewhere 409.
  if (!(existing && existing.region === US_EAST_1 && region === US_EAST_1))
    createBucketRecord(ctx, name, region);
  return { status: 200, headers: { location: `/${name}` } };
}

export function headBucket(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  return {
    status: 200,
    headers: { 'x-amz-bucket-region': bucket.region, 'x-amz-access-point-alias': 'false' },
  };
}

export function deleteBucket(ctx: S3Context, call: S3Call): S3Answer {
  bucketOf(ctx, call);
  deleteBucketRecord(ctx, call.bucket!);
  return { status: 204 };
}

function bucketEntry(bucket: BucketRecord): Record<string, string> {
  return {
    Name: bucket.name,
    CreationDate: isoTime(bucket.creationDate),
    BucketRegion: bucket.region,
    BucketArn: `arn:aws:s3:::${bucket.name}`,
  };
}

/** ListBuckets with its optional paging (`max-buckets`, `continuation-token`), `prefix` and `bucket-region`. */
export function listBuckets(ctx: S3Context, call: S3Call, owner: Owner): S3Answer {
  const prefix = call.query.get('prefix') ?? '';
  const region = call.query.get('bucket-region');
  const maxRaw = call.query.get('max-buckets');
  let max = 10_000;
  if (maxRaw !== null) {
    max = Number(maxRaw);
    if (!/^\d+$/.test(maxRaw) || max < 1 || max > 10_000) {
      throw invalidArgument(
        'Argument max-buckets must be an integer between 1 and 10000',
        'max-buckets',
        maxRaw,
      );
    }
  }
  const token = call.query.get('continuation-token');
  let after = '';
  if (token !== null) {
    after = Buffer.from(token, 'base64url').toString('utf8');
    if (!after)
      throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  const matching = ctx.store
    .all()
    .filter((b) => b.name.startsWith(prefix) && (region === null || b.region === region) && b.name > after);
  const page = matching.slice(0, max);
  const more = matching.length > page.length;
  return xmlAnswer('ListAllMyBucketsResult', {
    Owner: owner,
    Buckets: { Bucket: page.map(bucketEntry) },
    ...(more ? { ContinuationToken: Buffer.from(page.at(-1)!.name).toString('base64url') } : {}),
    ...(call.query.has('prefix') ? { Prefix: prefix } : {}),
  });
}

export function getBucketLocation(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = ctx.store.get(call.bucket!);
  if (!bucket) throw noSuchBucket(call.bucket!);
  // GetBucketLocation answers from any region; us-east-1 is the empty constraint.
  return xmlAnswer('LocationConstraint', bucket.region === US_EAST_1 ? {} : { '#text': bucket.region });
}

export async function putBucketVersioning(ctx: S3Context, call: S3Call): Promise<S3Answer> {
  const bucket = bucketOf(ctx, call);
  const config = parseXml(await readCheckedBody(call, MAX_CONFIG_BYTES), 'VersioningConfiguration');
  const status = text(config.Status);
  if (text(config.MfaDelete) === 'Enabled') throw notImplemented('MFA delete (MfaDelete Enabled)');
  if (status === undefined) return { status: 200 };
  if (status !== 'Enabled' && status !== 'Suspended') {
    throw malformedXml(`<Status> must be Enabled or Suspended, got '${status.slice(0, 40)}'`);
  }
  bucket.versioning = status;
  ctx.store.saveBucket(bucket);
  return { status: 200 };
}

export function getBucketVersioning(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  return xmlAnswer('VersioningConfiguration', bucket.versioning ? { Status: bucket.versioning } : {});
}

export async function putBucketTagging(ctx: S3Context, call: S3Call): Promise<S3Answer> {
  const bucket = bucketOf(ctx, call);
  const tagging = parseXml(await readCheckedBody(call, MAX_CONFIG_BYTES), 'Tagging');
  const tagSet = tagging.TagSet;
  if (tagSet === undefined) throw malformedXml('<Tagging> needs a <TagSet>');
  const tags = children(child(children(tagSet)[0] ?? '', 'Tag')).map((tag) => {
    const key = text(child(tag, 'Key'));
    if (key === undefined) throw malformedXml('every <Tag> needs a <Key>');
    return { key, value: text(child(tag, 'Value')) ?? '' };
  });
  bucket.tags = validateTags(tags);
  ctx.store.saveBucket(bucket);
  return { status: 204 };
}

export function getBucketTagging(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  if (!bucket.tags || Object.keys(bucket.tags).length === 0) {
    throw new S3Error('NoSuchTagSet', 'The TagSet does not exist', {
      status: 404,
      details: { BucketName: bucket.name },
    });
  }
  return xmlAnswer('Tagging', {
    TagSet: { Tag: Object.entries(bucket.tags).map(([Key, Value]) => ({ Key, Value })) },
  });
}

export function deleteBucketTagging(ctx: S3Context, call: S3Call): S3Answer {
  const bucket = bucketOf(ctx, call);
  delete bucket.tags;
  ctx.store.saveBucket(bucket);
  return { status: 204 };
}

/** A 200 with an XML document in S3's namespace. */
export function xmlAnswer(root: string, content: Record<string, unknown>): S3Answer {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDocument(root, content) };
}
