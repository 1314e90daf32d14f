/**
 * Bucket names, object keys and version ids as S3 accepts them (S3 user guide, "General purpose bucket naming
 * rules"; "Naming Amazon S3 objects": keys are at most 1024 bytes of UTF-8).
 */
import { randomBytes } from 'node:crypto';
import { BUCKET_NAMING_RULES, S3Error } from './errors.ts';

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why `name` breaks S3's bucket naming rules, or undefined when it follows them. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `it is ${name.length} characters long; names are 3 to 63`;
  if (!/^[a-z0-9.-]+$/.test(name))
    return 'it has characters other than lowercase letters, numbers, dots (.) and hyphens (-)';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return 'it must begin and end with a letter or number';
  if (name.includes('..')) return 'it has two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'it is formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `it starts with the reserved prefix '${prefix}'`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `it ends with the reserved suffix '${suffix}'`;
  return undefined;
}

/** Throws S3's `InvalidBucketName` (400) naming what is wrong with `name`. */
export function assertBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem === undefined) return;
  throw new S3Error(
    'InvalidBucketName',
    `The specified bucket is not valid: '${name.slice(0, 100)}' ${problem} (see ${BUCKET_NAMING_RULES})`,
    { details: { BucketName: name.slice(0, 255) } },
  );
}

/** The longest key S3 takes, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Throws S3's `KeyTooLongError` for a key over 1024 bytes (and `InvalidArgument` for an empty one). */
export function assertKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'An object key must not be empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', `Your key is too long (${bytes} bytes; at most ${MAX_KEY_BYTES})`, {
      details: { MaxSizeAllowed: String(MAX_KEY_BYTES), Size: String(bytes) },
    });
  }
}

/** The version id of an object written while versioning was off or suspended. */
export const NULL_VERSION = 'null';

/** A new version id: 32 URL-safe characters, the length S3's current version ids have. */
export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

/** Whether `id` could be a version id of this S3 (else S3 answers `InvalidArgument: Invalid version id specified`). */
export function isVersionId(id: string): boolean {
  return id === NULL_VERSION || /^[A-Za-z0-9._-]{32}$/.test(id);
}
