import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BatchGetRepositoriesCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetBranchCommand,
  GetRepositoryCommand,
  ListRepositoriesCommand,
} from '@aws-sdk/client-codecommit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEvent } from '../../src/sandbox/codecommit/index.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { commitFile, gitRun } from './helpers/git.ts';
import { rawRequest } from './helpers/http.ts';
import { useSandbox } from './helpers/sandbox.ts';
import { signedFetch } from './helpers/signed.ts';

/** The sandbox's HTTPS git credentials (test/test) as git sends them. */
const GIT_BASIC = `Basic ${Buffer.from('test:test').toString('base64')}`;

describe('CodeCommit repositories', () => {
  const sb = useSandbox({}, { maxAttempts: 1 });

  it('creates, reads, lists and deletes a repository with AWS ids, ARN and clone URLs', async () => {
    const { codecommit } = sb.clients;
    const created = await codecommit.send(
      new CreateRepositoryCommand({ repositoryName: 'web-app', repositoryDescription: 'the app' }),
    );
    const meta = created.repositoryMetadata!;
    expect(meta.repositoryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(meta.Arn).toBe('arn:aws:codecommit:us-east-1:000000000000:web-app');
    expect(meta.cloneUrlHttp).toBe(`${sb.sandbox.endpoint}/us-east-1/v1/repos/web-app`);
    expect(meta.cloneUrlSsh).toMatch(/^ssh:\/\/.+\/v1\/repos\/web-app$/);
    expect(meta.creationDate).toBeInstanceOf(Date);
    expect(meta.accountId).toBe('000000000000');

    const got = await codecommit.send(new GetRepositoryCommand({ repositoryName: 'web-app' }));
    expect(got.repositoryMetadata).toEqual(meta);

    const listed = await codecommit.send(new ListRepositoriesCommand({}));
    expect(listed.repositories).toContainEqual({
      repositoryName: 'web-app',
      repositoryId: meta.repositoryId,
    });

    const batch = await codecommit.send(
      new BatchGetRepositoriesCommand({ repositoryNames: ['web-app', 'nope'] }),
    );
    expect(batch.repositories?.map((r) => r.repositoryName)).toEqual(['web-app']);
    expect(batch.repositoriesNotFound).toEqual(['nope']);

    const deleted = await codecommit.send(new DeleteRepositoryCommand({ repositoryName: 'web-app' }));
    expect(deleted.repositoryId).toBe(meta.repositoryId);
    // AWS: deleting again succeeds without an id.
    const again = await codecommit.send(new DeleteRepositoryCommand({ repositoryName: 'web-app' }));
    expect(again.repositoryId).toBeUndefined();
  });

  it('answers the CodeCommit exceptions for a taken, unknown or invalid name', async () => {
    const { codecommit } = sb.clients;
    await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'taken' }));
    await expect(
      codecommit.send(new CreateRepositoryCommand({ repositoryName: 'taken' })),
    ).rejects.toMatchObject({
      name: 'RepositoryNameExistsException',
      message: 'Repository named taken already exists',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      codecommit.send(new GetRepositoryCommand({ repositoryName: 'missing' })),
    ).rejects.toMatchObject({
      name: 'RepositoryDoesNotExistException',
      message: 'missing does not exist',
    });
    for (const bad of ['has space', 'x'.repeat(101), 'ends.git', 'slash/name']) {
      await expect(
        codecommit.send(new CreateRepositoryCommand({ repositoryName: bad })),
      ).rejects.toMatchObject({
        name: 'InvalidRepositoryNameException',
      });
    }
    await expect(codecommit.send(new GetRepositoryCommand({ repositoryName: '' }))).rejects.toMatchObject({
      name: 'RepositoryNameRequiredException',
    });
    await expect(
      codecommit.send(new ListRepositoriesCommand({ sortBy: 'size' as never })),
    ).rejects.toMatchObject({
      name: 'InvalidSortByException',
    });
  });

  it('is readable through the AWS CLI', async () => {
    await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'cli-repo' }));
    const ok = await awsCli(sb.sandbox.endpoint, [
      'codecommit',
      'get-repository',
      '--repository-name',
      'cli-repo',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.json.repositoryMetadata.repositoryName).toBe('cli-repo');
    expect(ok.json.repositoryMetadata.cloneUrlHttp).toBe(`${sb.sandbox.endpoint}/us-east-1/v1/repos/cli-repo`);
    const missing = await awsCli(sb.sandbox.endpoint, [
      'codecommit',
      'get-repository',
      '--repository-name',
      'no-such',
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.errorCode).toBe('RepositoryDoesNotExistException');
  });
});

describe('CodeCommit over git smart HTTP', () => {
  const sb = useSandbox({}, { maxAttempts: 1 });
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cph-git-test-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('clones an empty repository, takes a push and tells listeners the commit id and message', async () => {
    const { codecommit } = sb.clients;
    const meta = (await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'app' })))
      .repositoryMetadata!;
    const pushes: PushEvent[] = [];
    const off = sb.sandbox.services.codecommit.onPush((e) => pushes.push(e));

    await gitRun(work, ['clone', '-q', meta.cloneUrlHttp!, 'app']);
    const tree = join(work, 'app');
    const first = await commitFile(tree, 'VERSION', '1.0.0\n', 'Initial version');
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);

    expect(pushes).toEqual([
      {
        repositoryName: 'app',
        ref: 'refs/heads/main',
        before: '0'.repeat(40),
        after: first,
        message: 'Initial version',
      },
    ]);
    const second = await commitFile(tree, 'VERSION', '1.0.1\n', 'Bump to 1.0.1\n\nWith a body.');
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);
    expect(pushes[1]).toMatchObject({
      before: first,
      after: second,
      message: 'Bump to 1.0.1\n\nWith a body.',
    });
    off();

    const cc = sb.sandbox.services.codecommit;
    expect(await cc.resolveRef('app', 'main')).toBe(second);
    expect(await cc.resolveRef('app', 'nope')).toBeUndefined();
    const commit = await cc.readCommit('app', second);
    expect(commit).toMatchObject({ commitId: second, author: 'Sandbox Test <test@example.com>' });
    expect(commit.date).toBeInstanceOf(Date);
    const dest = join(work, 'export');
    await cc.exportTree('app', first, dest);
    expect(await readFile(join(dest, 'VERSION'), 'utf8')).toBe('1.0.0\n');

    const branch = await codecommit.send(new GetBranchCommand({ repositoryName: 'app', branchName: 'main' }));
    expect(branch.branch).toEqual({ branchName: 'main', commitId: second });
    const repo = await codecommit.send(new GetRepositoryCommand({ repositoryName: 'app' }));
    expect(repo.repositoryMetadata?.defaultBranch).toBe('main');

    const events = (await (await signedFetch(`${sb.sandbox.endpoint}/_sandbox/events`)).json()) as {
      kind: string;
    }[];
    expect(events.filter((e) => e.kind === 'push')).toHaveLength(2);

    // A second clone sees the pushed history (upload-pack over HTTP).
    await gitRun(work, ['clone', '-q', meta.cloneUrlHttp!, 'again']);
    expect(await readFile(join(work, 'again', 'VERSION'), 'utf8')).toBe('1.0.1\n');
  });

  it('inflates gzip request bodies (git sends Content-Encoding: gzip for large negotiations)', async () => {
    const { codecommit } = sb.clients;
    const meta = (await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'gz' })))
      .repositoryMetadata!;
    await gitRun(work, ['clone', '-q', meta.cloneUrlHttp!, 'gz']);
    const head = await commitFile(join(work, 'gz'), 'README', 'gzip\n', 'For gzip');
    await gitRun(join(work, 'gz'), ['push', '-q', 'origin', 'HEAD:main']);
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const negotiation = `${pkt(`want ${head} ofs-delta\n`)}0000${pkt('done\n')}`;
    const res = await rawRequest(meta.cloneUrlHttp!, {
      path: '/v1/repos/gz/git-upload-pack',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
        authorization: GIT_BASIC,
      },
      body: gzipSync(negotiation),
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-git-upload-pack-result');
    expect(res.body.startsWith('0008NAK\n')).toBe(true);
    expect(res.body).toContain('PACK');
  });

  it('refuses a clone of an unknown repository with a 404', async () => {
    const odd = await rawRequest(sb.sandbox.endpoint, {
      method: 'GET',
      path: '/v1/repos/%E0%A4%A/info/refs',
      headers: { authorization: GIT_BASIC },
    });
    expect(odd.status).toBe(404);
    await expect(
      gitRun(work, ['clone', '-q', `${sb.sandbox.endpoint}/v1/repos/unknown`, 'x']),
    ).rejects.toThrow(/not found|404/);
  });
});
