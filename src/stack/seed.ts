/**
 * The first commit of a sandbox stack's repository: the sample app as it is in this package, so the first
 * release deploys a known version before any scenario bumps it.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { commitAndPush, gitSession, type SourceAuth } from '../source/git.ts';

/** The sample app shipped with this package (found from `src/stack/` and from the built `dist/src/stack/`). */
export const SAMPLE_APP_DIR = sampleAppDir();

function sampleAppDir(): string {
  for (let dir = import.meta.dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'sample-app');
    if (existsSync(join(candidate, 'appspec.yml'))) return candidate;
  }
  return join(import.meta.dirname, '..', '..', 'sample-app');
}

export interface SeedOptions {
  repoUrl: string;
  /** @default SAMPLE_APP_DIR */
  appDir?: string;
  /** @default 'main' */
  branch?: string;
  /** Version written into VERSION. @default the app's own */
  version?: string;
  runId: string;
  /** How git authenticates to the repository (a CodeCommit repository on AWS needs the credential helper). @default none */
  auth?: SourceAuth;
}

/**
 * Pushes the app as the first commit of an empty repository's branch; returns the commit id.
 *
 * @example
 * ```ts
 * const commitId = await seedRepository({ repoUrl: stack.repositoryUrl, runId, version: 'v1' });
 * ```
 */
export async function seedRepository(options: SeedOptions): Promise<{ commitId: string; message: string }> {
  const branch = options.branch ?? 'main';
  const scratch = await mkdtemp(join(tmpdir(), 'harness-seed-'));
  try {
    const git = await gitSession(options.auth ?? { type: 'none' }, scratch);
    const work = join(scratch, 'app');
    const appDir = options.appDir ?? SAMPLE_APP_DIR;
    await cp(appDir, work, { recursive: true, filter: (src) => !isInstallOrGitDir(relative(appDir, src)) });
    if (options.version) await writeFile(join(work, 'VERSION'), `${options.version}\n`);
    const message = `Initial release of the demo app (codepipeline-harness run ${options.runId})`;
    await git.run(['init', '--quiet', '--initial-branch', branch], work, 'git init');
    const commitId = await commitAndPush(git, work, {
      message,
      remote: options.repoUrl,
      branch,
      where: options.repoUrl,
    });
    return { commitId, message };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Whether a path inside the app (relative to the app dir) is, or is under, its own `node_modules/` or `.git/`.
 * Relative on purpose: the app itself sits under `node_modules/` when this package is installed.
 */
function isInstallOrGitDir(pathInApp: string): boolean {
  return /(^|[\\/])(node_modules|\.git)([\\/]|$)/.test(pathInApp);
}
