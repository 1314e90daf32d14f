/**
 * Leaving a team's branch as it was found: read its head before the run pushes anything, and afterwards put
 * that head's tree back with one restoring commit on top (history is never rewritten: the team's clones and
 * the pipeline's source revisions stay valid).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourcePushError } from '../errors.ts';
import { commitAndPush, gitSession, redact, type SourceAuth } from './git.ts';
import type { PushResult } from './push.ts';

/** Where the branch is. */
export interface BranchOptions {
  repoUrl: string;
  branch: string;
  /** @default { type: 'none' } */
  auth?: SourceAuth;
  /** Environment the token is read from. @default process.env */
  env?: Record<string, string | undefined>;
}

async function inScratch<T>(
  options: BranchOptions,
  work: (git: Awaited<ReturnType<typeof gitSession>>, dir: string) => Promise<T>,
): Promise<T> {
  const scratch = await mkdtemp(join(tmpdir(), 'harness-restore-'));
  try {
    const git = await gitSession(
      options.auth ?? { type: 'none' },
      scratch,
      options.env ? { env: options.env } : {},
    );
    return await work(git, scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The head of a branch: its commit and the tree it holds. */
export interface BranchHead {
  commitId: string;
  tree: string;
}

/**
 * The commit at the head of the branch and its tree (one shallow fetch).
 *
 * @throws SourcePushError when the branch does not exist or cannot be read.
 * @example
 * ```ts
 * const before = await branchHead({ repoUrl, branch: 'release' });
 * ```
 */
export function branchHead(options: BranchOptions): Promise<BranchHead> {
  const where = redact(options.repoUrl);
  return inScratch(options, async (git, dir) => {
    await git.run(['init', '--quiet'], dir, 'git init');
    await git
      .run(
        ['fetch', '--quiet', '--depth', '1', options.repoUrl, `refs/heads/${options.branch}`],
        dir,
        `git fetch ${where}`,
      )
      .catch((error: unknown) => {
        throw new SourcePushError(
          `branch ${options.branch} cannot be read from ${where} (${(error as Error).message}); ` +
            'fix source.branch (HARNESS_SOURCE_BRANCH) or the repository URL',
          '',
          { cause: error },
        );
      });
    const commitId = await git.run(['rev-parse', 'FETCH_HEAD'], dir, 'git rev-parse');
    const tree = await git.run(['rev-parse', 'FETCH_HEAD^{tree}'], dir, 'git rev-parse');
    return { commitId, tree };
  });
}

/**
 * The tree of a commit on the branch (an ancestor of its head).
 *
 * @throws SourcePushError when the branch cannot be read or the commit is not on it.
 */
export function treeOf(options: BranchOptions & { commitId: string }): Promise<string> {
  const where = redact(options.repoUrl);
  return inScratch(options, async (git, dir) => {
    await git.run(['init', '--quiet'], dir, 'git init');
    await git.run(
      ['fetch', '--quiet', options.repoUrl, `refs/heads/${options.branch}`],
      dir,
      `git fetch ${where}`,
    );
    return git.run(['rev-parse', `${options.commitId}^{tree}`], dir, `git rev-parse ${options.commitId}`);
  });
}

/** Options of {@link restoreBranch}. */
export interface RestoreBranchOptions extends BranchOptions {
  /** The commit whose tree the branch must hold again (an ancestor of the branch's head). */
  commitId: string;
  /** Named in the commit message. */
  runId: string;
  /** Directory of the app inside the repository, where VERSION is. @default '' */
  appDir?: string;
}

/**
 * Commits the tree of `commitId` on top of the branch's head and pushes it, when the head's tree differs.
 * Returns the restoring push (its version is the one in the restored VERSION file), or undefined when the
 * branch already holds that tree.
 *
 * @throws SourcePushError with git's output (secrets removed).
 * @example
 * ```ts
 * const restored = await restoreBranch({ repoUrl, branch: 'release', commitId: before, runId });
 * if (restored) await harness.follow(restored);
 * ```
 */
export function restoreBranch(options: RestoreBranchOptions): Promise<PushResult | undefined> {
  const where = redact(options.repoUrl);
  const { branch } = options;
  return inScratch(options, async (git, dir) => {
    const clone = join(dir, 'repo');
    await git.run(
      ['clone', '--quiet', '--single-branch', '--branch', branch, options.repoUrl, clone],
      dir,
      `git clone ${where}`,
    );
    const tree = (ref: string) => git.run(['rev-parse', `${ref}^{tree}`], clone, `git rev-parse ${ref}`);
    if ((await tree('HEAD')) === (await tree(options.commitId))) return undefined;
    await git.run(
      ['read-tree', '-u', '--reset', options.commitId],
      clone,
      `git read-tree ${options.commitId}`,
    );
    const versionFile = join(clone, options.appDir ?? '', 'VERSION');
    const version = existsSync(versionFile) ? (await readFile(versionFile, 'utf8')).trim() : '';
    const message = `Restore ${branch} to ${options.commitId.slice(0, 12)} as found before codepipeline-harness run ${options.runId}`;
    const commitId = await commitAndPush(git, clone, { message, remote: 'origin', branch, where });
    return { commitId, version, message, branch };
  });
}
