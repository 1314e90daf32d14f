/**
 * What the object operations and the listings share about versions: the newest one, the id a new one gets, and
 * how a version shows in headers and listings (S3 user guide, "Retaining multiple versions of objects").
 */
import { isoTime } from './call.ts';
import { NULL_VERSION, newVersionId } from './names.ts';
import type { BucketRecord, StoredVersion } from './store.ts';

/** The newest version of a key (object or delete marker). */
export function latest(bucket: BucketRecord, key: string): StoredVersion | undefined {
  return bucket.objects.get(key)?.[0];
}

/** The `x-amz-version-id` header of an answer about `version`. */
export function versionHeader(bucket: BucketRecord, version: StoredVersion): Record<string, string> {
  // S3 names the version on every answer once the bucket has had versioning configured.
  return bucket.versioning ? { 'x-amz-version-id': version.versionId } : {};
}

/** What a new version's id is: a fresh one while versioning is Enabled, `null` otherwise. */
export function nextVersionId(bucket: BucketRecord): string {
  return bucket.versioning === 'Enabled' ? newVersionId() : NULL_VERSION;
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
