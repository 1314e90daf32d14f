/**
 * The sandbox's S3 through the AWS CLI installed on the machine (`--endpoint-url`): s3api calls, the
 * high-level `aws s3` commands, and `aws s3 rb --force` refusing a versioned bucket as it does on AWS.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { awsCli } from './helpers/aws-cli.ts';

describe('sandbox S3 through the AWS CLI', () => {
  let sandbox: Sandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ faults: [] });
    dir = await mkdtemp(join(tmpdir(), 'cph-s3-cli-'));
    await writeFile(join(dir, 'artifact.zip'), 'build output v1');
    await writeFile(join(dir, 'artifact-v2.zip'), 'build output v2');
  });
  afterAll(async () => {
    await sandbox?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const aws = (args: string[], region?: string) =>
    awsCli(sandbox.endpoint, args, { cwd: dir, ...(region ? { region } : {}) });

  it('creates a versioned bucket, puts versions, lists them and deletes the bucket once every version is gone', async () => {
    const bucket = ['--bucket', 'cli-artifacts'];
    expect((await aws(['s3api', 'create-bucket', ...bucket])).code).toBe(0);
    expect(
      (
        await aws([
          's3api',
          'put-bucket-versioning',
          ...bucket,
          '--versioning-configuration',
          'Status=Enabled',
        ])
      ).code,
    ).toBe(0);
    const v1 = await aws(['s3api', 'put-object', ...bucket, '--key', 'app.zip', '--body', 'artifact.zip']);
    const v2 = await aws(['s3api', 'put-object', ...bucket, '--key', 'app.zip', '--body', 'artifact-v2.zip']);
    expect([v1.code, v2.code]).toEqual([0, 0]);
    expect(v1.json.VersionId).not.toBe(v2.json.VersionId);
    const marker = await aws(['s3api', 'delete-object', ...bucket, '--key', 'app.zip']);
    expect(marker.json.DeleteMarker).toBe(true);

    const got = await aws([
      's3api',
      'get-object',
      ...bucket,
      '--key',
      'app.zip',
      '--version-id',
      v1.json.VersionId,
      'out.zip',
    ]);
    expect(got.code).toBe(0);
    expect(await readFile(join(dir, 'out.zip'), 'utf8')).toBe('build output v1');

    const listed = await aws(['s3api', 'list-object-versions', ...bucket]);
    expect(listed.code).toBe(0);
    expect(listed.json.Versions.map((v: { VersionId: string }) => v.VersionId)).toEqual([
      v2.json.VersionId,
      v1.json.VersionId,
    ]);
    expect(listed.json.DeleteMarkers).toMatchObject([{ Key: 'app.zip', IsLatest: true }]);

    const refused = await aws(['s3api', 'delete-bucket', ...bucket]);
    expect(refused.code).not.toBe(0);
    expect(refused.errorCode).toBe('BucketNotEmpty');
    expect(refused.stderr).toContain('You must delete all versions in the bucket');

    // `aws s3 rb --force` deletes current objects only: a versioned bucket stays non-empty, as on AWS.
    const rb = await aws(['s3', 'rb', 's3://cli-artifacts', '--force']);
    expect(rb.code).not.toBe(0);
    expect(rb.stderr).toContain('BucketNotEmpty');

    for (const v of [...listed.json.Versions, ...listed.json.DeleteMarkers]) {
      const deleted = await aws([
        's3api',
        'delete-object',
        ...bucket,
        '--key',
        v.Key,
        '--version-id',
        v.VersionId,
      ]);
      expect(deleted.code).toBe(0);
    }
    expect((await aws(['s3api', 'delete-bucket', ...bucket])).code).toBe(0);
    const gone = await aws(['s3api', 'head-bucket', ...bucket]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('404');
  });

  it('copies files with aws s3 cp / ls, lists keys with odd characters (encoding-type=url), and rb --force empties an unversioned bucket', async () => {
    expect((await aws(['s3', 'mb', 's3://cli-plain'])).code).toBe(0);
    for (const key of ['a b/one.zip', 'a b/two+2.zip', 'top.zip']) {
      const cp = await aws(['s3', 'cp', 'artifact.zip', `s3://cli-plain/${key}`]);
      expect(cp.code, cp.stderr).toBe(0);
    }
    const ls = await aws(['s3', 'ls', 's3://cli-plain/a b/'], undefined);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('one.zip');
    expect(ls.stdout).toContain('two+2.zip');
    const keys = await aws([
      's3api',
      'list-objects-v2',
      '--bucket',
      'cli-plain',
      '--query',
      'Contents[].Key',
    ]);
    expect(keys.json).toEqual(['a b/one.zip', 'a b/two+2.zip', 'top.zip']);
    const down = await aws(['s3', 'cp', 's3://cli-plain/a b/two+2.zip', 'down.zip']);
    expect(down.code, down.stderr).toBe(0);
    expect(await readFile(join(dir, 'down.zip'), 'utf8')).toBe('build output v1');

    const rb = await aws(['s3', 'rb', 's3://cli-plain', '--force']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(sandbox.services.s3.hasBucket('cli-plain')).toBe(false);
  });

  it('creates a bucket in another region with its location constraint and answers S3 errors the CLI names', async () => {
    const created = await aws(
      [
        's3api',
        'create-bucket',
        '--bucket',
        'cli-eu-bucket',
        '--create-bucket-configuration',
        'LocationConstraint=eu-west-1',
      ],
      'eu-west-1',
    );
    expect(created.code, created.stderr).toBe(0);
    const location = await aws(['s3api', 'get-bucket-location', '--bucket', 'cli-eu-bucket'], 'eu-west-1');
    expect(location.json.LocationConstraint).toBe('eu-west-1');
    const noConstraint = await aws(['s3api', 'create-bucket', '--bucket', 'cli-eu-two'], 'eu-west-1');
    expect(noConstraint.errorCode).toBe('IllegalLocationConstraintException');
    expect((await aws(['s3api', 'delete-bucket', '--bucket', 'cli-eu-bucket'], 'eu-west-1')).code).toBe(0);

    const invalid = await aws(['s3api', 'create-bucket', '--bucket', 'Not_Valid']);
    expect(invalid.errorCode).toBe('InvalidBucketName');
    const missing = await aws(['s3api', 'get-object', '--bucket', 'cli-missing', '--key', 'k', 'x.out']);
    expect(missing.errorCode).toBe('NoSuchBucket');
  });
});
