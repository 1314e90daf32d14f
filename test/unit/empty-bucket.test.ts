/**
 * emptyBucket: every version and delete marker of a versioned bucket goes, page by page and batch by batch,
 * on the sandbox's S3 through the harness's own S3 client; DeleteObjects' per-key errors are reported (with
 * aws-sdk-client-mock: the sandbox never refuses a key, AWS does, e.g. AccessDenied under a deny policy).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients, type HarnessClients } from '../../src/aws/clients.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { BucketNotEmptiedError, emptyBucket } from '../../src/teardown/empty-bucket.ts';

describe('emptyBucket on the sandbox', () => {
  let sandbox: Sandbox;
  let clients: HarnessClients & { s3: S3Client };
  beforeAll(async () => {
    sandbox = await startSandbox({ faults: [] });
    clients = createClients({ target: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint });
  });
  afterAll(async () => {
    if (clients) destroyClients(clients);
    await sandbox?.stop();
  });

  it('deletes every version and delete marker across pages and batches, so DeleteBucket succeeds', async () => {
    const Bucket = 'cph-run-artifacts';
    const { s3 } = clients;
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    for (let i = 0; i < 8; i++) {
      const Key = `pipeline/SourceArti/${i}.zip`;
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: `v1-${i}` }));
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: `v2-${i}` }));
      if (i % 2 === 0) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    }
    const refused = await s3.send(new DeleteBucketCommand({ Bucket })).catch((e: Error) => e);
    expect((refused as Error).name).toBe('BucketNotEmpty');

    const lines: string[] = [];
    const report = await emptyBucket(s3, Bucket, { pageSize: 5, batchSize: 2, log: (l) => lines.push(l) });
    expect(report).toEqual({ bucket: Bucket, versions: 16, deleteMarkers: 4, passes: 2, missing: false });
    // 20 entries: 4 pages of 5, each deleted in batches of 2 + 2 + 1.
    expect(lines).toHaveLength(12);
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket }))).Versions).toBeUndefined();
    await s3.send(new DeleteBucketCommand({ Bucket }));
    await expect(s3.send(new HeadBucketCommand({ Bucket }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('empties an unversioned bucket the same way', async () => {
    const Bucket = 'cph-unversioned';
    await clients.s3.send(new CreateBucketCommand({ Bucket }));
    for (const Key of ['a', 'b', 'c'])
      await clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const report = await emptyBucket(clients.s3, Bucket);
    expect([report.versions, report.deleteMarkers, report.passes]).toEqual([3, 0, 2]);
    await clients.s3.send(new DeleteBucketCommand({ Bucket }));
  });

  it('says a bucket that does not exist is missing (teardown already done)', async () => {
    expect(await emptyBucket(clients.s3, 'cph-never-created')).toEqual({
      bucket: 'cph-never-created',
      versions: 0,
      deleteMarkers: 0,
      passes: 1,
      missing: true,
    });
  });

  it('stops when its signal is aborted', async () => {
    const Bucket = 'cph-aborted';
    await clients.s3.send(new CreateBucketCommand({ Bucket }));
    await clients.s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'k' }));
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    await expect(emptyBucket(clients.s3, Bucket, { signal: controller.signal })).rejects.toThrow(
      'run cancelled',
    );
    // Nothing was deleted: the object is still there.
    const left = await clients.s3.send(new ListObjectVersionsCommand({ Bucket }));
    expect(left.Versions?.map((v) => v.Key)).toEqual(['k']);
  });

  it('refuses a batch size S3 does not take', async () => {
    await expect(emptyBucket(clients.s3, 'cph-any', { batchSize: 1001 })).rejects.toThrow(
      'batchSize must be an integer 1..1000',
    );
  });
});

describe('emptyBucket when DeleteObjects refuses keys (AWS)', () => {
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const mock = mockClient(s3);
  afterEach(() => mock.reset());
  afterAll(() => s3.destroy());

  const page = {
    IsTruncated: false,
    Versions: [
      { Key: 'locked.zip', VersionId: 'v-locked', IsLatest: true },
      { Key: 'free.zip', VersionId: 'v-free', IsLatest: true },
    ],
  };

  it('reports each refused key with its code and message instead of swallowing them', async () => {
    mock.on(ListObjectVersionsCommand).resolves(page);
    mock.on(DeleteObjectsCommand).resolves({
      Deleted: [{ Key: 'free.zip', VersionId: 'v-free' }],
      Errors: [{ Key: 'locked.zip', VersionId: 'v-locked', Code: 'AccessDenied', Message: 'Access Denied' }],
    });
    const error = await emptyBucket(s3, 'team-artifacts').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketNotEmptiedError);
    expect((error as BucketNotEmptiedError).failures).toEqual([
      { key: 'locked.zip', versionId: 'v-locked', code: 'AccessDenied', message: 'Access Denied' },
    ]);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"bucket team-artifacts could not be emptied: DeleteObjects refused 1 key(s): locked.zip (version v-locked): AccessDenied Access Denied. Fix the cause (permissions, object lock) and run the teardown again"`,
    );
    expect(mock.commandCalls(DeleteObjectsCommand)[0]!.args[0].input.Delete?.Objects).toEqual([
      { Key: 'locked.zip', VersionId: 'v-locked' },
      { Key: 'free.zip', VersionId: 'v-free' },
    ]);
  });

  it('retries keys S3 failed transiently (SlowDown) and then succeeds', async () => {
    mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce(page)
      .resolvesOnce({ IsTruncated: false, Versions: [page.Versions[0]!] })
      .resolves({ IsTruncated: false });
    mock
      .on(DeleteObjectsCommand)
      .resolvesOnce({
        Deleted: [{ Key: 'free.zip', VersionId: 'v-free' }],
        Errors: [
          {
            Key: 'locked.zip',
            VersionId: 'v-locked',
            Code: 'SlowDown',
            Message: 'Please reduce your request rate.',
          },
        ],
      })
      .resolves({ Deleted: [{ Key: 'locked.zip', VersionId: 'v-locked' }] });
    const report = await emptyBucket(s3, 'team-artifacts');
    expect([report.versions, report.deleteMarkers]).toEqual([2, 0]);
    expect(mock.commandCalls(DeleteObjectsCommand)).toHaveLength(2);
  });

  it('splits a page into batches of at most 1000 keys', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ Key: `k${i}`, VersionId: `v${i}` }));
    mock.on(ListObjectVersionsCommand).resolvesOnce({ IsTruncated: false, Versions: many }).resolves({});
    mock.on(DeleteObjectsCommand).resolves({});
    const report = await emptyBucket(s3, 'big-bucket');
    expect(report.versions).toBe(2500);
    expect(
      mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length),
    ).toEqual([1000, 1000, 500]);
  });
});
