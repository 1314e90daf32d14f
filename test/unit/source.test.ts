import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, SourcePushError } from '../../src/errors.ts';
import { redact } from '../../src/source/git.ts';
import { pushRevision, pushVersionBump } from '../../src/source/push.ts';

const root = mkdtempSync(join(tmpdir(), 'harness-source-test-'));
const bare = join(root, 'app.git');
const work = join(root, 'work');
const repoUrl = pathToFileURL(bare).href;
const git = (args: string[], cwd = root) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const show = (path: string) => git(['--git-dir', bare, 'show', `main:${path}`]);

beforeAll(() => {
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  const seed = join(root, 'seed');
  mkdirSync(join(seed, 'config'), { recursive: true });
  writeFileSync(join(seed, 'VERSION'), 'v1\n');
  writeFileSync(join(seed, 'config', 'health.json'), '{ "healthy": true }\n');
  writeFileSync(join(seed, 'server.js'), '// app\n');
  git(['init', '--quiet', '--initial-branch=main'], seed);
  git(['add', '-A'], seed);
  git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'seed'], seed);
  git(['push', '--quiet', bare, 'main'], seed);
  mkdirSync(work);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('pushVersionBump', () => {
  it('pushes a unique version with a message naming the run, and removes its clone', async () => {
    const now = new Date('2026-11-22T04:00:00Z');
    const first = await pushVersionBump({ repoUrl, runId: 'run-4f2e9a10', workDir: work, now });
    expect(first.version).toBe('v2026.11.22-4f2e9a10-1');
    expect(first.message).toBe('Release v2026.11.22-4f2e9a10-1 (codepipeline-harness run run-4f2e9a10)');
    expect(first.commitId).toMatch(/^[0-9a-f]{40}$/);
    expect(git(['--git-dir', bare, 'rev-parse', 'main'])).toBe(first.commitId);
    expect(show('VERSION')).toBe(first.version);
    expect(git(['--git-dir', bare, 'log', '-1', '--format=%s', 'main'])).toBe(first.message);

    const second = await pushVersionBump({ repoUrl, runId: 'run-4f2e9a10', workDir: work, now });
    expect(second.version).toBe('v2026.11.22-4f2e9a10-2');
    expect(second.commitId).not.toBe(first.commitId);
    expect(readdirSync(work)).toEqual([]);
  });

  it('pushes an unhealthy revision, and the next bump switches health back on', async () => {
    const bad = await pushRevision({ repoUrl, runId: 'run-bad', unhealthy: true, workDir: work });
    expect(JSON.parse(show('config/health.json'))).toEqual({ healthy: false });
    expect(show('VERSION')).toBe(bad.version);
    expect(bad.message).toContain('[unhealthy revision: forced failure]');
    await pushVersionBump({ repoUrl, runId: 'run-bad', workDir: work });
    expect(JSON.parse(show('config/health.json'))).toEqual({ healthy: true });
  });

  it('writes the version into a configurable app directory', async () => {
    const result = await pushVersionBump({ repoUrl, runId: 'run-dir', appDir: 'config', workDir: work });
    expect(show('config/VERSION')).toBe(result.version);
  });

  it('says which branch is missing', async () => {
    const error = await pushVersionBump({ repoUrl, runId: 'r', branch: 'release', workDir: work }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourcePushError);
    expect((error as Error).message).toContain('branch release does not exist');
    expect(readdirSync(work)).toEqual([]);
  });

  it('fails fast without prompting and keeps credentials out of the message', async () => {
    const error = (await pushVersionBump({
      repoUrl: 'http://user:s3cret@127.0.0.1:1/repo.git',
      runId: 'r',
      workDir: work,
      timeoutMs: 20_000,
    }).catch((e: unknown) => e)) as SourcePushError;
    expect(error).toBeInstanceOf(SourcePushError);
    expect(error.message).not.toContain('s3cret');
    expect(error.stderr).not.toContain('s3cret');
    expect(error.message).toContain('http://***@127.0.0.1:1/repo.git');
  });

  it('needs the token env var named by source.auth.tokenEnv', async () => {
    const error = await pushVersionBump({
      repoUrl,
      runId: 'r',
      workDir: work,
      auth: { type: 'github-token', tokenEnv: 'MY_GH_TOKEN' },
      env: {},
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('MY_GH_TOKEN');
    expect(readdirSync(work)).toEqual([]);
  });

  it('pushes with a GitHub token auth without putting the token anywhere visible', async () => {
    const result = await pushVersionBump({
      repoUrl,
      runId: 'run-gh',
      workDir: work,
      auth: { type: 'github-token', tokenEnv: 'MY_GH_TOKEN' },
      env: { MY_GH_TOKEN: 'ghp_not_a_real_token' },
    });
    expect(JSON.stringify(result)).not.toContain('ghp_not_a_real_token');
  });
});

describe('redact', () => {
  it('removes URL credentials and the given secrets', () => {
    expect(redact('fatal: https://x:tok@github.com/o/r and tok again', ['tok'])).toBe(
      'fatal: https://***@github.com/o/r and *** again',
    );
  });
});

/** A git smart-HTTP server (git http-backend behind Basic auth) that only lets the right token in. */
async function authenticatedGitServer(projectRoot: string, token: string) {
  const { createServer } = await import('node:http');
  const { spawn } = await import('node:child_process');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    seen.push(auth ? 'with credentials' : 'anonymous');
    if (auth !== `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      const lines = head.subarray(0, end).toString().split('\r\n');
      let status = 200;
      for (const line of lines) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name?.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else if (name) res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/app.git`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('GitHub token auth', () => {
  it('authenticates through GIT_ASKPASS with the token from the named env var, never in the URL', async () => {
    const token = 'ghp_test_only_0123456789';
    const remote = await authenticatedGitServer(root, token);
    try {
      const denied = await pushVersionBump({ repoUrl: remote.url, runId: 'run-gh2', workDir: work }).catch(
        (e: unknown) => e,
      );
      expect(denied).toBeInstanceOf(SourcePushError);
      const pushed = await pushVersionBump({
        repoUrl: remote.url,
        runId: 'run-gh2',
        workDir: work,
        auth: { type: 'github-token', tokenEnv: 'TEST_GH_TOKEN' },
        env: { TEST_GH_TOKEN: token },
      });
      expect(git(['--git-dir', bare, 'rev-parse', 'main'])).toBe(pushed.commitId);
      expect(remote.seen).toContain('with credentials');
      expect(readdirSync(work)).toEqual([]);
    } finally {
      await remote.close();
    }
  });
});
