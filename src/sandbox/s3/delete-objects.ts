/**
 * DeleteObject and DeleteObjects (S3 API reference; S3 user guide "Deleting object versions"): without a version
 * id an unversioned key is removed and a versioned one gets a delete marker (`null` while suspended); with one,
 * that version or marker goes for good. DeleteObjects takes up to 1000 keys and reports per-key failures as
 * `<Error>` entries of a 200 answer.
 */
import { bucketOf } from './buckets.ts';
import { readSmallBody, type S3Answer, type S3Call, type S3Context } from './call.ts';
import { PayloadCheck } from './checksums.ts';
import { invalidArgument, malformedXml, S3Error } from './errors.ts';
import { isVersionId, NULL_VERSION } from './names.ts';
import { type BucketRecord, fileId, type StoredVersion } from './store.ts';
import { nextVersionId } from './versions.ts';
import { children, child, parseXml, text, xmlDocument } from './xml.ts';

/** A DeleteObjects body: 1000 keys of at most 1024 bytes plus their XML. */
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;
const MAX_DELETE_KEYS = 1000;

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
