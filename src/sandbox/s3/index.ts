/**
 * The sandbox's S3: buckets (create with a location constraint, head, delete, list, versioning, tagging) and
 * objects (put, get, head, delete, delete-objects, list v1/v2, list versions with delete markers) on S3's own
 * REST-XML protocol, path-style on the edge port (`http://127.0.0.1:<port>/<bucket>/<key>`), stored under
 * `<dataDir>/s3/`. Requests are routed here by the `s3` service in their SigV4 credential scope, so the SDK
 * (`forcePathStyle: true`) and the AWS CLI (`--endpoint-url`) reach it like any other sandbox service.
 *
 * Not served (answered `NotImplemented` 501, never a hang): multipart uploads, CopyObject, ACLs, policies,
 * lifecycle, object tagging, encryption configuration and the other bucket sub-resources.
 *
 * @example
 * const s3 = new S3Client({ endpoint: sandbox.endpoint, forcePathStyle: true, region: 'us-east-1', credentials });
 * await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
 * sandbox.services.s3.hasBucket('artifacts'); // true
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Faults } from '../faults.ts';
import type { HttpRoute, SandboxRuntime, SandboxService } from '../types.ts';
import { createBucketRecord, deleteBucketRecord } from './buckets.ts';
import { ownerOf, type S3Context } from './call.ts';
import { noSuchBucket } from './errors.ts';
import { storeObject } from './put-object.ts';
import { S3Route } from './route.ts';
import { S3Store } from './store.ts';

export { S3Error } from './errors.ts';
export { bucketNameProblem } from './names.ts';

/**
 * The in-process S3 of one region: what CloudFormation's `AWS::S3::Bucket` and CodePipeline's artifact store
 * need. Bucket names are global (one namespace across regions, as on AWS); a bucket created here lives in `region`.
 */
export interface RegionalS3 {
  readonly region: string;
  /**
   * Creates a bucket in this region: the name validated as S3 validates it (`InvalidBucketName`), versioning
   * enabled when asked, the tags validated (`InvalidTag`).
   *
   * @throws S3Error `BucketAlreadyOwnedByYou` when the bucket exists.
   * @example
   * sandbox.services.s3.createBucket('cap-artifacts-1a2b', { versioned: true, tags: { 'harness:run': 'r1' } });
   */
  createBucket(name: string, opts?: { versioned?: boolean; tags?: Record<string, string> }): void;
  /**
   * Deletes an empty bucket.
   *
   * @throws S3Error `BucketNotEmpty` (409) while it holds any object version or delete marker; `NoSuchBucket`
   *   (404) when it does not exist.
   * @example
   * if (sandbox.services.s3.hasBucket(name)) sandbox.services.s3.deleteBucket(name);
   */
  deleteBucket(name: string): void;
  /** Whether the bucket exists (in any region). @example sandbox.services.s3.hasBucket('cap-artifacts-1a2b') */
  hasBucket(name: string): boolean;
  /**
   * Stores a file as an object (a new version when the bucket is versioned) through the same code as PutObject,
   * as a service writing into a customer's bucket does (CodePipeline's artifact store).
   *
   * @returns the object's version id (`null` when the bucket is not versioned) and ETag.
   * @example
   * await sandbox.services.s3.putObjectFromFile('artifacts', 'pipe/SourceArti/abc1234', '/tmp/source.zip');
   */
  putObjectFromFile(bucket: string, key: string, file: string): Promise<{ versionId: string; etag: string }>;
}

/** Options of {@link S3Service}. */
export interface S3ServiceOptions {
  /** Unexpected internal failures (the client already got a 500). @default console.error */
  onError?: (error: unknown, where: string) => void;
  /** The sandbox's injected faults (service `s3`; throttling answers S3's `SlowDown`). @default none */
  faults?: Pick<Faults, 'apply' | 'applyAfter'>;
}

/**
 * The sandbox's one S3 (not one per region: bucket names are global). Its route serves the wire; `inRegion()`
 * gives each region's services their in-process view; the service itself is that view for its runtime's region.
 */
export class S3Service implements SandboxService, RegionalS3 {
  readonly name = 's3' as const;
  /** Empty: S3 speaks REST-XML and is served by its route, not by the JSON 1.1 / Query dispatcher. */
  readonly handlers = {};
  readonly routes: readonly HttpRoute[];
  readonly store: S3Store;
  readonly region: string;
  readonly #context: S3Context;
  readonly #views = new Map<string, RegionalS3>();

  /** Opens the store under `<runtime.dataDir>/s3/` (loading what a previous sandbox left there). */
  constructor(runtime: SandboxRuntime, options: S3ServiceOptions = {}) {
    this.store = new S3Store(join(runtime.dataDir, 's3'));
    this.region = runtime.region;
    this.#context = { store: this.store, runtime, owner: ownerOf(runtime.accountId) };
    const onError =
      options.onError ?? ((error: unknown, where: string) => console.error(`[sandbox] ${where}:`, error));
    this.routes = [new S3Route({ context: this.#context, onError, faults: options.faults })];
  }

  /** The in-process S3 of `region` (same buckets; new ones are created in `region`). */
  inRegion(region: string): RegionalS3 {
    if (region === this.region) return this;
    let view = this.#views.get(region);
    if (!view) {
      view = {
        region,
        createBucket: (name, opts) => this.#create(name, region, opts),
        deleteBucket: (name) => this.deleteBucket(name),
        hasBucket: (name) => this.hasBucket(name),
        putObjectFromFile: (bucket, key, file) => this.putObjectFromFile(bucket, key, file),
      };
      this.#views.set(region, view);
    }
    return view;
  }

  createBucket(name: string, opts: { versioned?: boolean; tags?: Record<string, string> } = {}): void {
    this.#create(name, this.region, opts);
  }

  deleteBucket(name: string): void {
    deleteBucketRecord(this.#context, name);
  }

  hasBucket(name: string): boolean {
    return this.store.get(name) !== undefined;
  }

  async putObjectFromFile(
    bucket: string,
    key: string,
    file: string,
  ): Promise<{ versionId: string; etag: string }> {
    const record = this.store.get(bucket);
    if (!record) throw noSuchBucket(bucket);
    const { size } = await stat(file);
    const answer = await storeObject(this.#context, record, key, createReadStream(file), {
      'content-length': String(size),
      'content-type': 'application/zip',
    });
    return { versionId: record.objects.get(key)?.[0]?.versionId ?? 'null', etag: answer.headers?.etag ?? '' };
  }

  #create(
    name: string,
    region: string,
    opts: { versioned?: boolean; tags?: Record<string, string> } = {},
  ): void {
    createBucketRecord(this.#context, name, region, {
      ...(opts.versioned ? { versioning: 'Enabled' as const } : {}),
      ...(opts.tags ? { tags: opts.tags } : {}),
    });
  }

  async reset(): Promise<void> {
    this.store.clear();
  }

  /** Nothing to end: S3 owns no process or timer; uploads in flight end with their connections. */
  async stop(): Promise<void> {}
}
