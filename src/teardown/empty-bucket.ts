/**
 * Empties a bucket so DeleteBucket (or a stack's DeleteStack) can delete it: every object version and every
 * delete marker, not only the current objects (S3 refuses to delete a versioned bucket while any version
 * remains: `BucketNotEmpty`, 409, and CloudFormation then fails the stack's delete with `DELETE_FAILED`).
 *
 * It walks ListObjectVersions page by page (key and version-id markers) and deletes what each page lists with
 * DeleteObjects in batches of at most 1000 (S3's limit per call). DeleteObjects answers 200 even when some keys
 * failed; those per-key `Errors` are collected and reported, never dropped. A pass that deleted something is
 * followed by another until one finds nothing, so the bucket is proven empty when this resolves.
 *
 * @example
 * ```ts
 * const clients = createClients(config);
 * const report = await emptyBucket(clients.s3, 'cph-r7k2q-artifacts', { signal });
 * console.log(`deleted ${report.versions} versions and ${report.deleteMarkers} delete markers`);
 * await clients.s3.send(new DeleteBucketCommand({ Bucket: 'cph-r7k2q-artifacts' }));
 * ```
 */
import {
  DeleteObjectsCommand,
  type ObjectIdentifier,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pRetry from 'p-retry';
import { HarnessError } from '../errors.ts';

/** S3's limit of keys per DeleteObjects call. */
export const MAX_DELETE_BATCH = 1000;

/**
 * Per-key codes S3 documents as worth retrying (S3 API reference, "Error responses": InternalError, SlowDown,
 * ServiceUnavailable); any other per-key failure (AccessDenied, a legal hold's `AccessDenied`, ...) will not heal.
 */
const TRANSIENT_KEY_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
]);

/** Options of {@link emptyBucket}. */
export interface EmptyBucketOptions {
  /** Aborts the listing and deleting (the SDK calls in flight too). */
  signal?: AbortSignal | undefined;
  /** Keys per DeleteObjects call, 1–1000. @default 1000 */
  batchSize?: number | undefined;
  /** Versions per ListObjectVersions page (its `MaxKeys`), 1–1000. @default 1000 */
  pageSize?: number | undefined;
  /**
   * Passes that may each still find something (a writer that had not stopped, transient per-key failures)
   * before giving up. @default 5
   */
  maxPasses?: number | undefined;
  /** One line per DeleteObjects batch. @default none */
  log?: ((line: string) => void) | undefined;
}

/** What {@link emptyBucket} deleted. */
export interface EmptyBucketReport {
  bucket: string;
  /** Object versions deleted (the `null` version of an unversioned object counts as one). */
  versions: number;
  /** Delete markers deleted. */
  deleteMarkers: number;
  /** ListObjectVersions passes over the bucket, the last one finding nothing. */
  passes: number;
  /** True when the bucket did not exist (`NoSuchBucket`): nothing to empty, nothing to delete. */
  missing: boolean;
}

/** One key S3 would not delete, from DeleteObjects' `Errors`. */
export interface KeyFailure {
  key: string;
  versionId?: string | undefined;
  code: string;
  message: string;
}

/**
 * A bucket could not be emptied: DeleteObjects refused some keys (`failures`, with S3's code and message for
 * each), or something kept writing into it for `maxPasses` passes.
 */
export class BucketNotEmptiedError extends HarnessError {
  override readonly code = 'HARNESS_BUCKET_NOT_EMPTIED';
  readonly bucket: string;
  readonly failures: readonly KeyFailure[];
  constructor(message: string, fields: { bucket: string; failures: readonly KeyFailure[] }) {
    super(message, { lastState: fields.failures });
    this.name = 'BucketNotEmptiedError';
    this.bucket = fields.bucket;
    this.failures = fields.failures;
  }
}

/** A pass ended with only transient per-key failures: retried after a backoff. */
class TransientKeyFailures extends Error {
  readonly failures: readonly KeyFailure[];
  constructor(failures: readonly KeyFailure[]) {
    super(`${failures.length} key(s) failed transiently`);
    this.failures = failures;
  }
}

function describeFailures(failures: readonly KeyFailure[]): string {
  const shown = failures
    .slice(0, 5)
    .map((f) => `${f.key}${f.versionId ? ` (version ${f.versionId})` : ''}: ${f.code} ${f.message}`)
    .join('; ');
  return failures.length > 5 ? `${shown}; and ${failures.length - 5} more` : shown;
}

function isNoSuchBucket(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'NoSuchBucket';
}

/**
 * Deletes every object version and delete marker of `bucket`; resolves once a ListObjectVersions pass finds
 * nothing, so DeleteBucket will succeed. A bucket that does not exist resolves with `missing: true`.
 *
 * @throws BucketNotEmptiedError naming the keys DeleteObjects refused (code and message of each), or when
 *   something kept writing into the bucket for `maxPasses` passes.
 * @throws the SDK's error when ListObjectVersions or DeleteObjects itself fails (after the client's retries).
 * @example
 * ```ts
 * await emptyBucket(clients.s3, bucket, { signal: AbortSignal.timeout(5 * 60_000) });
 * ```
 */
export async function emptyBucket(
  s3: S3Client,
  bucket: string,
  options: EmptyBucketOptions = {},
): Promise<EmptyBucketReport> {
  const batchSize = options.batchSize ?? MAX_DELETE_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_DELETE_BATCH) {
    throw new RangeError(
      `batchSize must be an integer 1..${MAX_DELETE_BATCH} (S3's DeleteObjects limit), got ${batchSize}`,
    );
  }
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new RangeError(`pageSize must be an integer 1..1000 (ListObjectVersions' MaxKeys), got ${pageSize}`);
  }
  const maxPasses = options.maxPasses ?? 5;
  if (!Number.isInteger(maxPasses) || maxPasses < 1) {
    throw new RangeError(`maxPasses must be a positive integer, got ${maxPasses}`);
  }
  const send = options.signal ? { abortSignal: options.signal } : {};
  const log = options.log ?? (() => {});
  const report: EmptyBucketReport = { bucket, versions: 0, deleteMarkers: 0, passes: 0, missing: false };

  /** Deletes one batch; returns the keys S3 refused. */
  const deleteBatch = async (batch: { id: ObjectIdentifier; marker: boolean }[]): Promise<KeyFailure[]> => {
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((b) => b.id), Quiet: true } }),
      send,
    );
    const failures: KeyFailure[] = (out.Errors ?? []).map((e) => ({
      key: e.Key ?? '',
      versionId: e.VersionId,
      code: e.Code ?? 'Unknown',
      message: e.Message ?? '',
    }));
    const failed = new Set(failures.map((f) => `${f.key}\u0000${f.versionId ?? ''}`));
    for (const b of batch) {
      if (failed.has(`${b.id.Key}\u0000${b.id.VersionId ?? ''}`)) continue;
      if (b.marker) report.deleteMarkers += 1;
      else report.versions += 1;
    }
    log(`bucket ${bucket}: deleted ${batch.length - failures.length} of ${batch.length} version(s)`);
    return failures;
  };

  /** One walk over the bucket; returns how many versions and markers it found. */
  const pass = async (): Promise<number> => {
    report.passes += 1;
    let found = 0;
    const failures: KeyFailure[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          MaxKeys: pageSize,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(versionIdMarker !== undefined ? { VersionIdMarker: versionIdMarker } : {}),
        }),
        send,
      );
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ id: { Key: v.Key!, VersionId: v.VersionId }, marker: false })),
        ...(page.DeleteMarkers ?? []).map((m) => ({
          id: { Key: m.Key!, VersionId: m.VersionId },
          marker: true,
        })),
      ];
      found += entries.length;
      for (let i = 0; i < entries.length; i += batchSize) {
        failures.push(...(await deleteBatch(entries.slice(i, i + batchSize))));
      }
      if (!page.IsTruncated) break;
      if (page.NextKeyMarker === undefined) {
        throw new HarnessError(
          `bucket ${bucket}: ListObjectVersions said IsTruncated but gave no NextKeyMarker; cannot page on`,
        );
      }
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    const permanent = failures.filter((f) => !TRANSIENT_KEY_CODES.has(f.code));
    if (permanent.length > 0) {
      throw new BucketNotEmptiedError(
        `bucket ${bucket} could not be emptied: DeleteObjects refused ${permanent.length} key(s): ` +
          `${describeFailures(permanent)}. Fix the cause (permissions, object lock) and run the teardown again`,
        { bucket, failures: permanent },
      );
    }
    if (failures.length > 0) throw new TransientKeyFailures(failures);
    return found;
  };

  try {
    await pRetry(
      async () => {
        for (let round = 0; round < maxPasses; round++) {
          if ((await pass()) === 0) return;
        }
        throw new BucketNotEmptiedError(
          `bucket ${bucket} still had objects after ${maxPasses} passes deleting every version: something keeps ` +
            'writing into it (a pipeline execution still running?); stop it and run the teardown again',
          { bucket, failures: [] },
        );
      },
      {
        retries: 4,
        minTimeout: 500, // 0.5 s, doubling: S3 asks for backoff after SlowDown
        maxTimeout: 8_000, // 8 s
        ...(options.signal ? { signal: options.signal } : {}),
        shouldRetry: ({ error }) => error instanceof TransientKeyFailures,
      },
    );
  } catch (error) {
    if (isNoSuchBucket(error) && report.passes === 1 && report.versions + report.deleteMarkers === 0) {
      return { ...report, missing: true };
    }
    if (error instanceof TransientKeyFailures) {
      throw new BucketNotEmptiedError(
        `bucket ${bucket} could not be emptied: DeleteObjects kept failing for ${error.failures.length} key(s) ` +
          `after 5 attempts: ${describeFailures(error.failures)}`,
        { bucket, failures: error.failures },
      );
    }
    throw error;
  }
  return report;
}
