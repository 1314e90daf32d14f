/**
 * The sandbox's S3 through the real `@aws-sdk/client-s3` (path-style, as the harness builds it): buckets with
 * their region, versioning with versions and delete markers, DeleteBucket refused until every version is gone,
 * paging, checksums, objects kept under the data dir, and S3's own errors (checked on the wire too).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function s3Client(endpoint: string, region = 'us-east-1'): S3Client {
  return new S3Client({ endpoint, region, credentials, forcePathStyle: true, maxAttempts: 1 });
}

/** The S3 error a call fails with. */
async function s3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof S3ServiceException)) throw new Error(`expected an S3 error, got ${String(error)}`);
  return error;
}

/** A raw request signed for S3 the way SDK v3 signs it (payload unsigned), to see S3's bytes on the wire. */
async function signedS3(
  endpoint: string,
  method: string,
  path: string,
  body?: string,
  payloadHash = 'UNSIGNED-PAYLOAD',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(path, endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers: { host: url.host, 'x-amz-content-sha256': payloadHash },
    ...(body !== undefined ? { body } : {}),
  });
  const res = await request(url, {
    method: method as 'GET',
    headers: signed.headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Every version and delete marker of a bucket, walking ListObjectVersions pages of `pageSize`. */
async function allVersions(s3: S3Client, bucket: string, pageSize: number) {
  const seen: { key: string; versionId: string; marker: boolean; latest: boolean }[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        MaxKeys: pageSize,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionIdMarker !== undefined ? { VersionIdMarker: versionIdMarker } : {}),
      }),
    );
    pages += 1;
    for (const v of page.Versions ?? [])
      seen.push({ key: v.Key!, versionId: v.VersionId!, marker: false, latest: v.IsLatest! });
    for (const m of page.DeleteMarkers ?? [])
      seen.push({ key: m.Key!, versionId: m.VersionId!, marker: true, latest: m.IsLatest! });
    if (!page.IsTruncated) return { seen, pages };
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
    if (pages > 100) throw new Error('ListObjectVersions never stopped paging');
  }
}

describe('sandbox S3 through @aws-sdk/client-s3', () => {
  let sandbox: Sandbox;
  let s3: S3Client;
  beforeAll(async () => {
    sandbox = await startSandbox({ faults: [] });
    s3 = s3Client(sandbox.endpoint);
  });
  afterAll(async () => {
    s3?.destroy();
    await sandbox?.stop();
  });

  it('creates a bucket, heads it and lists it with its region', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-bucket' }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'plain-bucket' }));
    expect(head.BucketRegion).toBe('us-east-1');
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.find((b) => b.Name === 'plain-bucket')).toMatchObject({ BucketRegion: 'us-east-1' });
    expect(list.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    // us-east-1 answers 200 to re-creating a bucket you own there, as S3 does.
    await s3.send(new CreateBucketCommand({ Bucket: 'plain-bucket' }));
    expect(sandbox.services.s3.hasBucket('plain-bucket')).toBe(true);
  });

  it('creates a bucket in the region its LocationConstraint names, and refuses what S3 refuses', async () => {
    const eu = s3Client(sandbox.endpoint, 'eu-west-1');
    try {
      // SDK v3 sends CreateBucketConfiguration/LocationConstraint = the client's region outside us-east-1.
      await eu.send(new CreateBucketCommand({ Bucket: 'eu-bucket' }));
      const location = await eu.send(new GetBucketLocationCommand({ Bucket: 'eu-bucket' }));
      expect(location.LocationConstraint).toBe('eu-west-1');
      expect((await eu.send(new HeadBucketCommand({ Bucket: 'eu-bucket' }))).BucketRegion).toBe('eu-west-1');
      const again = await s3Error(eu.send(new CreateBucketCommand({ Bucket: 'eu-bucket' })));
      expect([again.name, again.$metadata.httpStatusCode]).toEqual(['BucketAlreadyOwnedByYou', 409]);
      const mismatch = await s3Error(
        eu.send(
          new CreateBucketCommand({
            Bucket: 'other-eu-bucket',
            CreateBucketConfiguration: { LocationConstraint: 'eu-central-1' },
          }),
        ),
      );
      expect(mismatch.name).toBe('IllegalLocationConstraintException');
      const named = await s3Error(
        s3.send(
          new CreateBucketCommand({
            Bucket: 'named-us-east-1',
            CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as 'eu-west-1' },
          }),
        ),
      );
      expect(named.name).toBe('InvalidLocationConstraint');
      // A call signed for another region than the bucket's gets the bucket's region back.
      const wrongRegion = await s3Error(s3.send(new GetBucketVersioningCommand({ Bucket: 'eu-bucket' })));
      expect(wrongRegion.name).toBe('AuthorizationHeaderMalformed');
      expect(wrongRegion.message).toContain("expecting 'eu-west-1'");
      await eu.send(new DeleteBucketCommand({ Bucket: 'eu-bucket' }));
    } finally {
      eu.destroy();
    }
  });

  it.each([
    ['My_Bucket', 'characters other than lowercase letters'],
    ['ab', '2 characters long'],
    ['192.168.1.1', 'IP address'],
    ['bad..dots', 'two adjacent periods'],
    ['-leading', 'begin and end with a letter or number'],
    ['xn--punycode', "reserved prefix 'xn--'"],
  ])('refuses the bucket name %s with InvalidBucketName saying why', async (name, why) => {
    const error = await s3Error(s3.send(new CreateBucketCommand({ Bucket: name })));
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['InvalidBucketName', 400]);
    expect(error.message).toContain(why);
  });

  it('keeps every version of a versioned bucket, hides a key behind its delete marker and refuses DeleteBucket until all are gone', async () => {
    const Bucket = 'versioned-bucket';
    await s3.send(new CreateBucketCommand({ Bucket }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');

    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'app/artifact.zip', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket, Key: 'app/artifact.zip', Body: 'two' }));
    expect(v1.VersionId).toMatch(/^[\w.-]{32}$/);
    expect(v2.VersionId).not.toBe(v1.VersionId);
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'app/artifact.zip' }));
    expect(deleted.DeleteMarker).toBe(true);

    const hidden = await s3Error(s3.send(new GetObjectCommand({ Bucket, Key: 'app/artifact.zip' })));
    expect([hidden.name, hidden.$metadata.httpStatusCode]).toEqual(['NoSuchKey', 404]);
    const old = await s3.send(
      new GetObjectCommand({ Bucket, Key: 'app/artifact.zip', VersionId: v1.VersionId }),
    );
    expect(await old.Body?.transformToString()).toBe('one');
    const onMarker = await s3Error(
      s3.send(new HeadObjectCommand({ Bucket, Key: 'app/artifact.zip', VersionId: deleted.VersionId })),
    );
    expect(onMarker.$metadata.httpStatusCode).toBe(405);
    expect((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount).toBe(0);

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([
      [v2.VersionId, false, 3],
      [v1.VersionId, false, 3],
    ]);
    expect(versions.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest])).toEqual([
      ['app/artifact.zip', deleted.VersionId, true],
    ]);

    const refused = await s3Error(s3.send(new DeleteBucketCommand({ Bucket })));
    expect([refused.name, refused.$metadata.httpStatusCode]).toEqual(['BucketNotEmpty', 409]);
    expect(refused.message).toBe(
      'The bucket you tried to delete is not empty. You must delete all versions in the bucket.',
    );

    // Removing the delete marker brings the newest version back.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'app/artifact.zip', VersionId: deleted.VersionId }));
    const back = await s3.send(new GetObjectCommand({ Bucket, Key: 'app/artifact.zip' }));
    expect([await back.Body?.transformToString(), back.VersionId]).toEqual(['two', v2.VersionId]);

    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [v1, v2].map((v) => ({ Key: 'app/artifact.zip', VersionId: v.VersionId! })) },
      }),
    );
    expect(result.Errors ?? []).toEqual([]);
    expect(result.Deleted?.map((d) => d.VersionId).sort()).toEqual([v1.VersionId, v2.VersionId].sort());
    await s3.send(new DeleteBucketCommand({ Bucket }));
    const gone = await s3Error(s3.send(new HeadBucketCommand({ Bucket })));
    expect([gone.name, gone.$metadata.httpStatusCode]).toEqual(['NotFound', 404]);
  });

  it('pages ListObjectVersions with key and version-id markers, every version and marker exactly once', async () => {
    const Bucket = 'paged-versions';
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    for (const key of ['a', 'b/c', 'b/d', 'e']) {
      await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: `${key}-1` }));
      await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: `${key}-2` }));
    }
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'b/c' }));
    const whole = await allVersions(s3, Bucket, 1000);
    expect(whole.pages).toBe(1);
    expect(whole.seen).toHaveLength(9);
    for (const size of [1, 2, 3, 4]) {
      const paged = await allVersions(s3, Bucket, size);
      expect(paged.pages).toBe(Math.ceil(9 / size));
      const ids = (list: typeof paged.seen) => list.map((v) => v.versionId).sort();
      expect(ids(paged.seen)).toEqual(ids(whole.seen));
    }
    const first = await s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys: 3 }));
    expect(first).toMatchObject({ IsTruncated: true, NextKeyMarker: 'b/c' });
    expect(first.NextVersionIdMarker).toMatch(/^[\w.-]{32}$/);
    const withoutKey = await s3Error(
      s3.send(new ListObjectVersionsCommand({ Bucket, VersionIdMarker: first.NextVersionIdMarker })),
    );
    expect(withoutKey.name).toBe('InvalidArgument');
  });

  it('lists objects (v2) by prefix and delimiter, page by page with continuation tokens', async () => {
    const Bucket = 'listed-objects';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const keys = ['logs/2026/a.txt', 'logs/2026/b.txt', 'logs/2027/c.txt', 'logs/top.txt', 'readme.md'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const rolled = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'logs/', Delimiter: '/' }));
    expect(rolled.Contents?.map((o) => o.Key)).toEqual(['logs/top.txt']);
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['logs/2026/', 'logs/2027/']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket, MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }),
      );
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(keys);
    const after = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: 'logs/top.txt' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['readme.md']);
  });

  it('overwrites the one null version in an unversioned bucket and writes null delete markers once suspended', async () => {
    const Bucket = 'null-versions';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'one' }));
    expect(put.VersionId).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'two' }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([['null', true]]);
    const refused = await s3Error(s3.send(new DeleteBucketCommand({ Bucket })));
    expect(refused.message).toBe('The bucket you tried to delete is not empty');

    await s3.send(
      new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }),
    );
    const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
    expect([marker.DeleteMarker, marker.VersionId]).toEqual([true, 'null']);
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    // The null delete marker replaced the null object version.
    expect(after.Versions ?? []).toEqual([]);
    expect(after.DeleteMarkers?.map((m) => m.VersionId)).toEqual(['null']);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', VersionId: 'null' }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
  });

  it('tags a bucket and refuses tags S3 refuses', async () => {
    const Bucket = 'tagged-bucket';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const none = await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket })));
    expect([none.name, none.$metadata.httpStatusCode]).toEqual(['NoSuchTagSet', 404]);
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket,
        Tagging: {
          TagSet: [
            { Key: 'harness:run', Value: 'r-1' },
            { Key: 'team', Value: '' },
          ],
        },
      }),
    );
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet).toEqual([
      { Key: 'harness:run', Value: 'r-1' },
      { Key: 'team', Value: '' },
    ]);
    const duplicate = await s3Error(
      s3.send(
        new PutBucketTaggingCommand({
          Bucket,
          Tagging: {
            TagSet: [
              { Key: 'a', Value: '1' },
              { Key: 'a', Value: '2' },
            ],
          },
        }),
      ),
    );
    expect([duplicate.name, duplicate.message]).toEqual([
      'InvalidTag',
      'Cannot provide multiple Tags with the same key',
    ]);
    const system = await s3Error(
      s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'aws:x', Value: '1' }] } })),
    );
    expect(system.name).toBe('InvalidTag');
  });

  it('round-trips bodies, metadata, ranges and checksums, streamed (aws-chunked) or not, with odd keys', async () => {
    const Bucket = 'object-bodies';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const Key = 'dir/with space/+plus/../ü/%41';
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key,
        Body: 'hello world',
        ContentType: 'text/plain',
        Metadata: { commit: 'abc1234' },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
    expect(await got.Body?.transformToString()).toBe('hello world');
    expect([got.ContentType, got.Metadata, got.ContentLength]).toEqual([
      'text/plain',
      { commit: 'abc1234' },
      11,
    ]);
    expect(got.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(got.ETag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([Key]);

    const range = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=6-' }));
    expect([await range.Body?.transformToString(), range.ContentRange]).toEqual(['world', 'bytes 6-10/11']);

    // A stream of unknown checksum goes aws-chunked with the CRC32 in a trailer.
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(70_000, 2)];
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'streamed.bin',
        Body: Readable.from(chunks),
        ContentLength: 140_000,
      }),
    );
    const streamed = await s3.send(
      new GetObjectCommand({ Bucket, Key: 'streamed.bin', ChecksumMode: 'ENABLED' }),
    );
    expect(Buffer.from(await streamed.Body!.transformToByteArray()).equals(Buffer.concat(chunks))).toBe(true);

    await s3.send(new PutObjectCommand({ Bucket, Key: 'sha.txt', Body: 'x', ChecksumAlgorithm: 'SHA256' }));
    const sha = await s3.send(new HeadObjectCommand({ Bucket, Key: 'sha.txt', ChecksumMode: 'ENABLED' }));
    expect(sha.ChecksumSHA256).toBe(createHash('sha256').update('x').digest('base64'));

    const bad = await s3Error(
      s3.send(
        new PutObjectCommand({ Bucket, Key: 'bad.txt', Body: 'x', ContentMD5: 'AAAAAAAAAAAAAAAAAAAAAA==' }),
      ),
    );
    expect([bad.name, bad.$metadata.httpStatusCode]).toEqual(['BadDigest', 400]);
    const badCrc = await s3Error(
      s3.send(new PutObjectCommand({ Bucket, Key: 'bad.txt', Body: 'x', ChecksumCRC32: 'AAAAAA==' })),
    );
    expect(badCrc.name).toBe('BadDigest');
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket, Key: 'bad.txt' })))).toMatchObject({
      name: 'NotFound',
    });
  });

  it('honours conditional reads and writes, and lists objects the v1 way (marker, delimiter)', async () => {
    const Bucket = 'conditional-bucket';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'v.txt', Body: 'v1' }));
    const notModified = await s3Error(
      s3.send(new GetObjectCommand({ Bucket, Key: 'v.txt', IfNoneMatch: put.ETag })),
    );
    expect(notModified.$metadata.httpStatusCode).toBe(304);
    const wrongTag = await s3Error(
      s3.send(new GetObjectCommand({ Bucket, Key: 'v.txt', IfMatch: '"0000"' })),
    );
    expect([wrongTag.name, wrongTag.$metadata.httpStatusCode]).toEqual(['PreconditionFailed', 412]);
    const exists = await s3Error(
      s3.send(new PutObjectCommand({ Bucket, Key: 'v.txt', Body: 'v2', IfNoneMatch: '*' })),
    );
    expect([exists.name, exists.$metadata.httpStatusCode]).toEqual(['PreconditionFailed', 412]);
    const tooLong = await s3Error(
      s3.send(new PutObjectCommand({ Bucket, Key: 'k'.repeat(1025), Body: 'x' })),
    );
    expect(tooLong.name).toBe('KeyTooLongError');

    for (const Key of ['a/1', 'a/2', 'b', 'c/3'])
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const v1 = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 2 }));
    expect([v1.CommonPrefixes?.map((p) => p.Prefix), v1.Contents?.map((o) => o.Key), v1.IsTruncated]).toEqual(
      [['a/'], ['b'], true],
    );
    const next = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Marker: v1.NextMarker }));
    expect([next.CommonPrefixes?.map((p) => p.Prefix), next.Contents?.map((o) => o.Key)]).toEqual([
      ['c/'],
      ['v.txt'],
    ]);
  });

  it('lets a sandbox service write an object from a file into a versioned bucket (in-process PutObject)', async () => {
    const Bucket = 'in-process-writes';
    sandbox.services.s3.createBucket(Bucket, { versioned: true, tags: {} });
    const dir = await mkdtemp(join(tmpdir(), 'cph-s3-file-'));
    try {
      await writeFile(join(dir, 'source.zip'), 'zip bytes');
      const first = await sandbox.services.s3.putObjectFromFile(
        Bucket,
        'pipe/SourceArti/a1b2c3d',
        join(dir, 'source.zip'),
      );
      const second = await sandbox.services.s3.putObjectFromFile(
        Bucket,
        'pipe/SourceArti/a1b2c3d',
        join(dir, 'source.zip'),
      );
      expect(first.versionId).not.toBe(second.versionId);
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'pipe/SourceArti/a1b2c3d' }));
      expect([await got.Body?.transformToString(), got.ContentType, got.VersionId, got.ETag]).toEqual([
        'zip bytes',
        'application/zip',
        second.versionId,
        second.etag,
      ]);
      await expect(
        sandbox.services.s3.putObjectFromFile('no-such-bucket-here', 'k', join(dir, 'source.zip')),
      ).rejects.toMatchObject({
        code: 'NoSuchBucket',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers S3 errors as S3 writes them: XML with Code, Message, the resource and the request id', async () => {
    const missing = await signedS3(sandbox.endpoint, 'GET', '/no-such-bucket/key');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/xml');
    expect(missing.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(missing.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchBucket<\/Code><Message>The specified bucket does not exist<\/Message><BucketName>no-such-bucket<\/BucketName><RequestId>[0-9A-F]{16}<\/RequestId><HostId>[^<]+<\/HostId><\/Error>$/,
    );
    expect(missing.body).toContain(`<RequestId>${missing.headers['x-amz-request-id']}</RequestId>`);

    await s3.send(new CreateBucketCommand({ Bucket: 'error-bucket' }));
    const noKey = await signedS3(sandbox.endpoint, 'GET', '/error-bucket/nope');
    expect(noKey.body).toContain(
      '<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>nope</Key>',
    );
    const head = await signedS3(sandbox.endpoint, 'HEAD', '/error-bucket/nope');
    expect([head.status, head.body]).toEqual([404, '']);
    const version = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: 'error-bucket', Key: 'k', VersionId: 'nope' })),
    );
    expect([version.name, version.message]).toEqual(['InvalidArgument', 'Invalid version id specified']);
    const unknownVersion = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: 'error-bucket', Key: 'k', VersionId: 'A'.repeat(32) })),
    );
    expect([unknownVersion.name, unknownVersion.$metadata.httpStatusCode]).toEqual(['NoSuchVersion', 404]);
    const multipart = await s3Error(
      s3.send(new CreateMultipartUploadCommand({ Bucket: 'error-bucket', Key: 'big' })),
    );
    expect([multipart.name, multipart.$metadata.httpStatusCode]).toEqual(['NotImplemented', 501]);
    expect(multipart.message).toContain('?uploads');
    // The signed payload hash must be the body's: S3 refuses a body that is not what was signed.
    const otherHash = createHash('sha256').update('what was signed').digest('hex');
    const tampered = await signedS3(sandbox.endpoint, 'PUT', '/error-bucket/k', 'what was sent', otherHash);
    expect(tampered.status).toBe(400);
    expect(tampered.body).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    const honest = createHash('sha256').update('what was sent').digest('hex');
    expect((await signedS3(sandbox.endpoint, 'PUT', '/error-bucket/k', 'what was sent', honest)).status).toBe(
      200,
    );
    const noSuchBucketDelete = await s3Error(s3.send(new DeleteBucketCommand({ Bucket: 'never-made' })));
    expect([noSuchBucketDelete.name, noSuchBucketDelete.$metadata.httpStatusCode]).toEqual([
      'NoSuchBucket',
      404,
    ]);
  });

  it('takes injected faults as S3 answers them: SlowDown (503) for throttling, a lost response after the effect', async () => {
    const Bucket = 'faulty-bucket';
    await s3.send(new CreateBucketCommand({ Bucket }));
    sandbox.faults.resetStats();
    sandbox.faults.set({
      rules: [
        { service: 's3', operation: 'PutObject', type: 'throttle', rate: 1 },
        { service: 's3', operation: 'DeleteBucket', type: 'error', status: 500, rate: 1, phase: 'response' },
      ],
    });
    try {
      const throttled = await s3Error(s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'k' })));
      expect([throttled.name, throttled.$metadata.httpStatusCode]).toEqual(['SlowDown', 503]);
      const lost = await s3Error(s3.send(new DeleteBucketCommand({ Bucket })));
      expect([lost.name, lost.$metadata.httpStatusCode]).toEqual(['InternalError', 500]);
      expect(sandbox.services.s3.hasBucket(Bucket)).toBe(false);
      expect(sandbox.faults.stats().byOperation['s3:PutObject']).toEqual({
        calls: 1,
        throttled: 1,
        errors: 0,
      });
    } finally {
      sandbox.faults.clear();
    }
  });

  it('gives CloudFormation an in-process S3: buckets with versioning and tags, deleteBucket refused while not empty', async () => {
    const inProcess = sandbox.services.s3;
    inProcess.createBucket('stack-artifacts-1a2b', { versioned: true, tags: { 'harness:run': 'r-9' } });
    expect(inProcess.hasBucket('stack-artifacts-1a2b')).toBe(true);
    const Bucket = 'stack-artifacts-1a2b';
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet).toEqual([
      { Key: 'harness:run', Value: 'r-9' },
    ]);
    expect(() => inProcess.createBucket('stack-artifacts-1a2b', { versioned: false, tags: {} })).toThrow(
      expect.objectContaining({ code: 'BucketAlreadyOwnedByYou' }),
    );
    expect(() => inProcess.createBucket('Bad_Name', { versioned: false, tags: {} })).toThrow(
      expect.objectContaining({ code: 'InvalidBucketName' }),
    );
    await s3.send(new PutObjectCommand({ Bucket, Key: 'x', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'x' }));
    expect(() => inProcess.deleteBucket(Bucket)).toThrow(
      expect.objectContaining({ name: 'BucketNotEmpty', code: 'BucketNotEmpty', status: 409 }),
    );
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: {
          Objects: [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => ({
            Key: v.Key!,
            VersionId: v.VersionId!,
          })),
        },
      }),
    );
    inProcess.deleteBucket(Bucket);
    expect(inProcess.hasBucket(Bucket)).toBe(false);
  });
});

describe('sandbox S3 storage', () => {
  it('refuses to start on a data dir whose bucket settings are broken, naming the file and the way out', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cph-s3-broken-'));
    try {
      await mkdir(join(dataDir, 's3', 'buckets', 'broken-bucket'), { recursive: true });
      await writeFile(join(dataDir, 's3', 'buckets', 'broken-bucket', 'bucket.json'), '{ not json');
      await expect(startSandbox({ dataDir, faults: [], watchdog: false })).rejects.toThrow(
        /cannot read .*broken-bucket.bucket\.json .*remove that bucket's directory or start the sandbox on another data dir/,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps objects under the data dir, and a sandbox started on that dir serves them again', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cph-s3-data-'));
    let sandbox: Sandbox | undefined;
    let s3: S3Client | undefined;
    try {
      sandbox = await startSandbox({ dataDir, faults: [], watchdog: false });
      s3 = s3Client(sandbox.endpoint);
      await s3.send(new CreateBucketCommand({ Bucket: 'kept-bucket' }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: 'kept-bucket',
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
      const put = await s3.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'a.txt', Body: 'kept' }));
      const files = await readdir(join(dataDir, 's3', 'buckets', 'kept-bucket', 'versions'));
      expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
      s3.destroy();
      await sandbox.stop();
      expect(existsSync(join(dataDir, 's3', 'buckets', 'kept-bucket', 'bucket.json'))).toBe(true);

      sandbox = await startSandbox({ dataDir, faults: [], watchdog: false });
      s3 = s3Client(sandbox.endpoint);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'kept-bucket', Key: 'a.txt' }));
      expect([await got.Body?.transformToString(), got.VersionId]).toEqual(['kept', put.VersionId]);
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'kept-bucket' }))).Status).toBe(
        'Enabled',
      );
    } finally {
      s3?.destroy();
      await sandbox?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
