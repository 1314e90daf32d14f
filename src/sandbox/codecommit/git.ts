/**
 * The git commands the CodeCommit emulation needs, each with a deadline. Repositories are bare
 * (`<dataDir>/codecommit/<name>.git`), default branch `main`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { devNull } from 'node:os';

/** Any one git command is ended after this long (they are all local and small). */
const GIT_TIMEOUT_MS = 60_000;

/** Git environment that ignores the user's and the system's configuration (hooks, signing, templates). */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Runs `git <args>` in `gitDir`'s context; rejects with git's stderr when it fails. */
export function git(gitDir: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [`--git-dir=${gitDir}`, ...args],
      { env: gitEnv(), timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`git ${args.join(' ')} failed in ${gitDir}: ${stderr.trim() || error.message}`, {
              cause: error,
            }),
          );
        else resolve(stdout);
      },
    );
  });
}

/** Creates a bare repository whose default branch is `main` and that accepts pushes over smart HTTP. */
export async function initBare(gitDir: string): Promise<void> {
  await mkdir(gitDir, { recursive: true });
  await git(gitDir, ['init', '--bare', '--quiet', '--initial-branch=main']);
  // http-backend refuses receive-pack without an authenticated user unless this is set explicitly.
  await git(gitDir, ['config', 'http.receivepack', 'true']);
}

/** Every ref and the commit it points at. */
export async function listRefs(gitDir: string): Promise<Map<string, string>> {
  const out = await git(gitDir, ['for-each-ref', '--format=%(refname) %(objectname)']);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [ref, id] = line.trim().split(' ');
    if (ref && id) refs.set(ref, id);
  }
  return refs;
}

/** The commit a branch points at, or undefined when the branch does not exist. */
export async function resolveBranch(gitDir: string, branch: string): Promise<string | undefined> {
  try {
    const out = await git(gitDir, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface CommitInfo {
  commitId: string;
  /** The full commit message (subject, blank line, body), without the trailing newline. */
  message: string;
  /** `Name <email>` */
  author: string;
  /** Author date. */
  date: Date;
}

/** Reads one commit; rejects naming the commit when it is not in the repository. */
export async function readCommit(gitDir: string, commitId: string): Promise<CommitInfo> {
  const out = await git(gitDir, [
    'show',
    '-s',
    '--format=%H%x00%an <%ae>%x00%aI%x00%B',
    // Whatever the caller passes is a revision, never an option (`--output=<file>` would write a file).
    '--end-of-options',
    `${commitId}^{commit}`,
    '--',
  ]);
  const [id, author, date, ...message] = out.split('\0');
  return {
    commitId: id!.trim(),
    author: author!,
    date: new Date(date!),
    message: message.join('\0').replace(/\n+$/, ''),
  };
}

/** Writes the tree of `commitId` into `destDir` (created if needed): `git archive | tar -x`. */
export async function exportTree(gitDir: string, commitId: string, destDir: string): Promise<void> {
  await mkdir(destDir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const archive = spawn(
      'git',
      [`--git-dir=${gitDir}`, 'archive', '--format=tar', '--end-of-options', commitId],
      { env: gitEnv() },
    );
    const tar = spawn('tar', ['-x', '-C', destDir]);
    const timer = setTimeout(() => {
      archive.kill('SIGKILL');
      tar.kill('SIGKILL');
      reject(new Error(`exporting ${commitId} to ${destDir} took longer than ${GIT_TIMEOUT_MS} ms`));
    }, GIT_TIMEOUT_MS);
    let stderr = '';
    archive.stderr.on('data', (d) => {
      stderr += d;
    });
    tar.stderr.on('data', (d) => {
      stderr += d;
    });
    archive.stdout.pipe(tar.stdin);
    let pending = 2;
    let failed = false;
    const done = (who: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        clearTimeout(timer);
        reject(
          new Error(`exporting ${commitId} from ${gitDir}: ${who} exited with ${code}: ${stderr.trim()}`),
        );
      }
      if (--pending === 0 && !failed) {
        clearTimeout(timer);
        resolve();
      }
    };
    archive.on('close', done('git archive'));
    tar.on('close', done('tar'));
    archive.on('error', reject);
    tar.on('error', reject);
  });
}
