/**
 * Running git for a push without ever exposing a secret: credentials come from a credential helper (CodeCommit)
 * or from GIT_ASKPASS reading an env var of the git process (GitHub token, the sandbox's git credentials), never
 * from argv, URLs or logs.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessConfig } from '../config.ts';
import { ConfigError, SourcePushError } from '../errors.ts';

/**
 * How git authenticates to the remote (`source.auth` in config). `https-git-credentials` is a user name and
 * password given in code (the sandbox's, see {@link gitAuthFor}); config never holds one.
 */
export type SourceAuth =
  | { type: 'none' }
  | { type: 'codecommit-credential-helper' }
  | { type: 'github-token' /** NAME of the env var holding the token */; tokenEnv: string }
  | { type: 'https-git-credentials'; username: string; password: string };

/**
 * The auth of the run's git commands: `source.auth`, except on the sandbox target, whose git endpoint takes the
 * sandbox's credentials (like CodeCommit's, it answers 401 without them): there `none` becomes its HTTPS git
 * credentials, the access key id and secret of `sandboxCredentials`.
 *
 * @example
 * ```ts
 * await pushVersionBump({ repoUrl, runId, auth: gitAuthFor(harness.config) });
 * ```
 */
export function gitAuthFor(
  config: Pick<HarnessConfig, 'target' | 'source'> & {
    readonly sandboxCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  },
): SourceAuth {
  const auth = config.source.auth;
  if (config.target !== 'sandbox' || auth.type !== 'none') return auth;
  const { accessKeyId, secretAccessKey } = config.sandboxCredentials ?? {
    accessKeyId: 'test',
    secretAccessKey: 'test',
  };
  return { type: 'https-git-credentials', username: accessKeyId, password: secretAccessKey };
}

/** Removes secrets from text: the token itself and any `user:password@` in URLs. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

export interface GitSession {
  /** Runs `git <args>` in `cwd`; throws SourcePushError with redacted output. */
  run(args: string[], cwd: string, what: string): Promise<string>;
}

/**
 * Prepares git invocations for `auth`: config flags for the credential helper, or an askpass script (in
 * `scratch`) that prints the token from the git process's environment.
 */
export async function gitSession(
  auth: SourceAuth,
  scratch: string,
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<GitSession> {
  const env = options.env ?? process.env;
  const secrets: string[] = [];
  // Reset inherited helpers first so a developer's own helper never answers for the harness.
  const flags: string[] = ['-c', 'credential.helper='];
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  };
  if (auth.type === 'codecommit-credential-helper') {
    // AWS: https://docs.aws.amazon.com/codecommit/latest/userguide/setting-up-https-unixes.html
    flags.push(
      '-c',
      'credential.helper=!aws codecommit credential-helper $@',
      '-c',
      'credential.UseHttpPath=true',
    );
  } else if (auth.type === 'github-token') {
    const token = env[auth.tokenEnv];
    if (!token) {
      throw new ConfigError(
        `the env var ${auth.tokenEnv} named by source.auth.tokenEnv is empty; export the GitHub token in it ` +
          '(or set HARNESS_SOURCE_TOKEN_ENV to the variable that holds it)',
        { key: 'source.auth.tokenEnv', source: auth.tokenEnv },
      );
    }
    secrets.push(token);
    const askpass = join(scratch, 'askpass.sh');
    // The script holds no secret: it echoes the variable git inherits from us.
    await writeFile(
      askpass,
      '#!/bin/sh\ncase "$1" in\n  Username*) echo x-access-token ;;\n  *) printf "%s\\n" "$HARNESS_GIT_TOKEN" ;;\nesac\n',
    );
    await chmod(askpass, 0o700);
    childEnv.GIT_ASKPASS = askpass;
    childEnv.HARNESS_GIT_TOKEN = token;
  } else if (auth.type === 'https-git-credentials') {
    secrets.push(auth.password);
    const askpass = join(scratch, 'askpass.sh');
    // Same as for a token: the script holds no secret, git's own environment does.
    await writeFile(
      askpass,
      '#!/bin/sh\ncase "$1" in\n  Username*) printf "%s\\n" "$HARNESS_GIT_USERNAME" ;;\n  *) printf "%s\\n" "$HARNESS_GIT_TOKEN" ;;\nesac\n',
    );
    await chmod(askpass, 0o700);
    childEnv.GIT_ASKPASS = askpass;
    childEnv.HARNESS_GIT_USERNAME = auth.username;
    childEnv.HARNESS_GIT_TOKEN = auth.password;
  }
  return {
    run(args, cwd, what) {
      return new Promise((resolve, reject) => {
        execFile(
          'git',
          [...flags, ...args],
          { cwd, env: childEnv, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            if (!error) return resolve(stdout.trim());
            const output = redact(`${stderr}`.trim(), secrets);
            const killed = (error as { killed?: boolean }).killed ? ' (timed out)' : '';
            reject(
              new SourcePushError(
                `${what} failed${killed}: ${output.split('\n').slice(-3).join(' / ')}`,
                output,
              ),
            );
          },
        );
      });
    },
  };
}

/**
 * Commits everything in `dir` as the harness (its own identity, whatever the machine's git config says) and
 * pushes it to `branch` of `remote`; returns the commit id.
 *
 * @example
 * ```ts
 * const commitId = await commitAndPush(git, clone, { message: 'Release v3', remote: 'origin', branch: 'main', where });
 * ```
 */
export async function commitAndPush(
  git: GitSession,
  dir: string,
  options: { message: string; remote: string; branch: string; where: string },
): Promise<string> {
  await git.run(['add', '-A'], dir, 'git add');
  await git.run(
    [
      '-c',
      'user.name=codepipeline-harness',
      '-c',
      'user.email=codepipeline-harness@localhost',
      'commit',
      '--quiet',
      '-m',
      options.message,
    ],
    dir,
    'git commit',
  );
  const commitId = await git.run(['rev-parse', 'HEAD'], dir, 'git rev-parse');
  await git.run(
    ['push', '--quiet', options.remote, `HEAD:refs/heads/${options.branch}`],
    dir,
    `git push to ${options.where}@${options.branch}`,
  );
  return commitId;
}
