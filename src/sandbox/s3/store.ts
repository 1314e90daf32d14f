/**
 * The S3 store: buckets and their object versions, kept in memory for lookups and on disk under
 * `<dataDir>/s3/` so objects never live in memory only:
 *
 *     s3/buckets/<bucket>/bucket.json            name, region, creation date, versioning, tags
 *     s3/buckets/<bucket>/versions/<file>.json   one object version or delete marker (key, version id, headers, ...)
 *     s3/buckets/<bucket>/versions/<file>.bin    its bytes
 *     s3/tmp/                                    uploads in flight
 *
 * File names are random ids, never keys, so no key can reach outside the bucket's directory. A store opened
 * on a data dir that already holds buckets (a sandbox restarted with the same `dataDir`) loads them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredChecksum } from './checksums.ts';
import { NULL_VERSION } from './names.ts';

/** One version of a key: an object or a delete marker. */
export interface StoredVersion {
  readonly key: string;
  /** A generated id, or `null` for what was written while versioning was off or suspended. */
  readonly versionId: string;
  /** Write order across the store (newest is highest). */
  readonly seq: number;
  readonly lastModified: Date;
  readonly deleteMarker: boolean;
  /** Bytes (0 for a delete marker). */
  readonly size: number;
  /** Quoted MD5 hex, as S3's ETag of a single-part upload ('' for a delete marker). */
  readonly etag: string;
  /** Representation headers given at upload (`content-type`, `cache-control`, ...), lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** `x-amz-meta-*` user metadata, names without the prefix, lower-cased. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksum?: StoredChecksum;
  /** The id of its files under `versions/`. */
  readonly file: string;
}

export type VersioningStatus = 'Enabled' | 'Suspended';

export interface BucketRecord {
  readonly name: string;
  readonly region: string;
  readonly creationDate: Date;
  /** Undefined until versioning is first configured (S3 then never returns to "unversioned"). */
  versioning?: VersioningStatus;
  /** Undefined when the bucket has no tag set. */
  tags?: Record<string, string>;
  /** Key → its versions, newest first. */
  readonly objects: Map<string, StoredVersion[]>;
}

interface BucketFile {
  name: string;
  region: string;
  creationDate: string;
  versioning?: VersioningStatus;
  tags?: Record<string, string>;
}

type VersionFile = Omit<StoredVersion, 'lastModified'> & { lastModified: string };

/** A fresh id for a file name. */
export function fileId(): string {
  return randomBytes(12).toString('hex');
}

/** Writes a small file so a crash never leaves half of it: a temp file renamed into place. */
function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${fileId()}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Reads a JSON file the store wrote; a broken one names itself and the way out. */
function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(
      `the sandbox's S3 cannot read ${path} (${(error as Error).message}): remove that bucket's directory or ` +
        'start the sandbox on another data dir',
      { cause: error },
    );
  }
}

export class S3Store {
  readonly root: string;
  readonly #buckets = new Map<string, BucketRecord>();
  #seq = 0;

  /** Opens (and creates) the store under `root`, loading the buckets a previous sandbox left there. */
  constructor(root: string) {
    this.root = root;
    mkdirSync(join(root, 'buckets'), { recursive: true });
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
    this.#load();
  }

  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /** A fresh path for an upload in flight. */
  tmpPath(): string {
    return join(this.tmpDir, fileId());
  }

  bucketDir(name: string): string {
    return join(this.root, 'buckets', name);
  }

  /** Where the bytes of a version live. */
  bodyPath(bucket: string, file: string): string {
    return join(this.bucketDir(bucket), 'versions', `${file}.bin`);
  }

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  get(name: string): BucketRecord | undefined {
    return this.#buckets.get(name);
  }

  /** Every bucket, by name. */
  all(): BucketRecord[] {
    return [...this.#buckets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  add(record: BucketRecord): void {
    mkdirSync(join(this.bucketDir(record.name), 'versions'), { recursive: true });
    this.#buckets.set(record.name, record);
    this.saveBucket(record);
  }

  /** Persists a bucket's own settings (versioning, tags). */
  saveBucket(record: BucketRecord): void {
    const file: BucketFile = {
      name: record.name,
      region: record.region,
      creationDate: record.creationDate.toISOString(),
      ...(record.versioning ? { versioning: record.versioning } : {}),
      ...(record.tags ? { tags: record.tags } : {}),
    };
    writeAtomic(join(this.bucketDir(record.name), 'bucket.json'), JSON.stringify(file));
  }

  /** Forgets a bucket and removes its directory (the caller checked it is empty). */
  remove(name: string): void {
    this.#buckets.delete(name);
    rmSync(this.bucketDir(name), { recursive: true, force: true });
  }

  /**
   * Makes `version` the newest of its key. A `null` version replaces the key's previous `null` version (S3 keeps
   * one per key), whose files are removed.
   */
  addVersion(bucket: BucketRecord, version: StoredVersion): void {
    const file: VersionFile = { ...version, lastModified: version.lastModified.toISOString() };
    writeAtomic(join(this.bucketDir(bucket.name), 'versions', `${version.file}.json`), JSON.stringify(file));
    const list = bucket.objects.get(version.key) ?? [];
    if (version.versionId === NULL_VERSION) {
      const old = list.findIndex((v) => v.versionId === NULL_VERSION);
      if (old >= 0) {
        const [replaced] = list.splice(old, 1);
        this.#removeFiles(bucket.name, replaced!);
      }
    }
    list.unshift(version);
    bucket.objects.set(version.key, list);
  }

  /** Removes one version for good; returns it (undefined when the key has no such version). */
  removeVersion(bucket: BucketRecord, key: string, versionId: string): StoredVersion | undefined {
    const list = bucket.objects.get(key);
    const index = list?.findIndex((v) => v.versionId === versionId) ?? -1;
    if (!list || index < 0) return undefined;
    const [removed] = list.splice(index, 1);
    if (list.length === 0) bucket.objects.delete(key);
    this.#removeFiles(bucket.name, removed!);
    return removed;
  }

  /** Forgets every bucket and removes every file. */
  clear(): void {
    this.#buckets.clear();
    rmSync(join(this.root, 'buckets'), { recursive: true, force: true });
    mkdirSync(join(this.root, 'buckets'), { recursive: true });
  }

  #removeFiles(bucket: string, version: StoredVersion): void {
    const dir = join(this.bucketDir(bucket), 'versions');
    rmSync(join(dir, `${version.file}.json`), { force: true });
    rmSync(join(dir, `${version.file}.bin`), { force: true });
  }

  #load(): void {
    for (const name of readdirSync(join(this.root, 'buckets'))) {
      const dir = this.bucketDir(name);
      const settings = join(dir, 'bucket.json');
      if (!existsSync(settings)) continue;
      const file = readJson<BucketFile>(settings);
      const record: BucketRecord = {
        name: file.name,
        region: file.region,
        creationDate: new Date(file.creationDate),
        ...(file.versioning ? { versioning: file.versioning } : {}),
        ...(file.tags ? { tags: file.tags } : {}),
        objects: new Map(),
      };
      const versions: StoredVersion[] = [];
      const versionDir = join(dir, 'versions');
      if (existsSync(versionDir)) {
        for (const entry of readdirSync(versionDir)) {
          if (!entry.endsWith('.json')) continue;
          const v = readJson<VersionFile>(join(versionDir, entry));
          versions.push({ ...v, lastModified: new Date(v.lastModified) });
          this.#seq = Math.max(this.#seq, v.seq);
        }
      }
      versions.sort((a, b) => b.seq - a.seq);
      for (const v of versions) {
        const list = record.objects.get(v.key) ?? [];
        list.push(v);
        record.objects.set(v.key, list);
      }
      this.#buckets.set(record.name, record);
    }
  }
}
