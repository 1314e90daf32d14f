/**
 * Runs the real git CLI for tests, isolated from the developer's configuration, with a fixed identity.
 *
 * @example
 * await gitRun(tmp, ['clone', repo.cloneUrlHttp, 'web']);
 * await commitFile(join(tmp, 'web'), 'VERSION', '1.0.1\n', 'Bump to 1.0.1');
 * await gitRun(join(tmp, 'web'), ['push', 'origin', 'HEAD:main']);
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join } from 'node:path';

export const GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: devNull,
  GIT_TERMINAL_PROMPT: '0',
  // The sandbox's git endpoint wants its credentials (test/test, its "HTTPS git credentials"), like CodeCommit.
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'credential.helper',
  GIT_CONFIG_VALUE_0: '!f() { test "$1" = get && printf "username=test\\npassword=test\\n"; }; f',
  GIT_AUTHOR_NAME: 'Sandbox Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Sandbox Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  LC_ALL: 'C',
};

/** `git <args>` in `cwd`; resolves stdout, rejects with stderr. 60 s deadline. */
export function gitRun(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'init.defaultBranch=main', ...args],
      { cwd, env: GIT_ENV, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`git ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }),
          );
        else resolve(stdout);
      },
    );
  });
}

/** Writes a file in a work tree and commits it; resolves the new commit id. */
export async function commitFile(
  workTree: string,
  path: string,
  content: string,
  message: string,
): Promise<string> {
  await writeFile(join(workTree, path), content);
  await gitRun(workTree, ['add', path]);
  await gitRun(workTree, ['commit', '-q', '-m', message]);
  return (await gitRun(workTree, ['rev-parse', 'HEAD'])).trim();
}
