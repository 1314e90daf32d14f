/**
 * S3's errors as S3 writes them: `<Error><Code>NoSuchBucket</Code><Message>…</Message><BucketName>…</BucketName>
 * <RequestId>…</RequestId><HostId>…</HostId></Error>` with the HTTP status S3 uses (S3 API reference, "Error
 * responses" and "List of error codes"). Codes and messages are S3's own wording; where the sandbox knows more
 * than S3 says (why a bucket name is invalid), it says so after S3's sentence.
 */
import { ServiceError } from '../protocol/errors.ts';

/** The bucket naming rules a name is checked against (cited in InvalidBucketName messages). */
export const BUCKET_NAMING_RULES =
  'https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html';

/**
 * An S3 error: a {@link ServiceError} with the extra elements S3 puts in its `<Error>` body (`BucketName`,
 * `Key`, `VersionId`, ...) and the headers it adds (`x-amz-delete-marker`, `x-amz-bucket-region`, ...).
 *
 * @example
 * throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { status: 404, details: { BucketName: 'b' } });
 */
export class S3Error extends ServiceError {
  /** Extra `<Error>` elements, in order. */
  readonly details: Readonly<Record<string, string>>;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    message: string,
    options: { status?: number; details?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(code, message, { status: options.status ?? 400 });
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

export function noSuchBucket(bucket: string): S3Error {
  return new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
    status: 404,
    details: { BucketName: bucket },
  });
}

export function noSuchKey(key: string, headers: Record<string, string> = {}): S3Error {
  return new S3Error('NoSuchKey', 'The specified key does not exist.', {
    status: 404,
    details: { Key: key },
    headers,
  });
}

export function noSuchVersion(key: string, versionId: string): S3Error {
  return new S3Error('NoSuchVersion', 'The specified version does not exist.', {
    status: 404,
    details: { Key: key, VersionId: versionId },
  });
}

export function bucketNotEmpty(bucket: string, versioned: boolean): S3Error {
  return new S3Error(
    'BucketNotEmpty',
    versioned
      ? 'The bucket you tried to delete is not empty. You must delete all versions in the bucket.'
      : 'The bucket you tried to delete is not empty',
    { status: 409, details: { BucketName: bucket } },
  );
}

export function malformedXml(why: string): S3Error {
  return new S3Error(
    'MalformedXML',
    `The XML you provided was not well-formed or did not validate against our published schema (${why})`,
  );
}

export function invalidArgument(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, {
    details: { ArgumentName: name, ArgumentValue: value.slice(0, 1024) },
  });
}

/** A request the sandbox's S3 does not serve (S3 answers `NotImplemented` 501 for functionality it lacks). */
export function notImplemented(what: string): S3Error {
  return new S3Error(
    'NotImplemented',
    `A header you provided implies functionality that is not implemented: the sandbox's S3 does not serve ${what}; ` +
      'it serves buckets (create, head, delete, list, versioning, tagging) and objects (put, get, head, delete, ' +
      'delete-objects, list v1/v2, list versions)',
    { status: 501 },
  );
}
