/**
 * Pushing a new revision of the app to the pipeline's source branch: a unique version per push (so a check can
 * never pass on an older deployment), a commit message naming the run, optionally the health switch off.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SourcePushError } from '../errors.ts';
import { commitAndPush, type SourceAuth, gitSession, redact } from './git.ts';

export interface PushOptions {
  /** Any git remote: the sandbox's CodeCommit URL, CodeCommit HTTPS, GitHub HTTPS, file://. */
  repoUrl: string;
  /** @default 'main' */
  branch?: string;
  /** Directory of the app inside the repository; the version file is `<appDir>/VERSION`. @default '' (root) */
  appDir?: string;
  /** Named in the version and the commit message. */
  runId: string;
  /** @default { type: 'none' } */
  auth?: SourceAuth;
  /** Environment the token is read from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Write `config/health.json` = `{"healthy": false}`: a revision whose ValidateService fails. @default false */
  unhealthy?: boolean;
  /** Extra files to write, paths relative to the app dir (e.g. a failing unit test for the build gate). */
  files?: Readonly<Record<string, string>>;
  /** Parent of the temporary clone. @default os.tmpdir() */
  workDir?: string;
  /** Per git command. @default 120000 (ms) */
  timeoutMs?: number;
  /** Date used in the version. @default now */
  now?: Date;
}

export interface PushResult {
  /** Full SHA of the pushed commit: what `findExecution` looks for. */
  commitId: string;
  version: string;
  message: string;
  branch: string;
}

const counters = new Map<string, number>();

function stamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}.${p(now.getUTCMonth() + 1)}.${p(now.getUTCDate())}`;
}

/** `v2026.11.22-<run>-<n>`, n above any n already in the file for the same run and day. */
function nextVersion(runId: string, now: Date, current: string): string {
  const short =
    runId
      .replace(/^run-/, '')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 12) || 'run';
  const prefix = `v${stamp(now)}-${short}-`;
  const inFile = current.startsWith(prefix) ? Number(current.slice(prefix.length)) || 0 : 0;
  const n = Math.max(counters.get(prefix) ?? 0, inFile) + 1;
  counters.set(prefix, n);
  return `${prefix}${n}`;
}

/**
 * Clones the branch (shallow) into a temporary directory, writes a new version (and the health switch), commits
 * with a message naming the run, pushes, and removes the clone.
 *
 * @throws SourcePushError (git's output, secrets removed) or ConfigError (token env var empty).
 * @example
 * ```ts
 * const { commitId, version } = await pushRevision({ repoUrl, runId, unhealthy: true });
 * ```
 */
export async function pushRevision(options: PushOptions): Promise<PushResult> {
  const branch = options.branch ?? 'main';
  const scratch = await mkdtemp(join(options.workDir ?? tmpdir(), 'harness-push-'));
  const where = redact(options.repoUrl);
  try {
    const git = await gitSession(options.auth ?? { type: 'none' }, scratch, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    const clone = join(scratch, 'repo');
    await git
      .run(
        ['clone', '--quiet', '--depth', '1', '--branch', branch, options.repoUrl, clone],
        scratch,
        `git clone ${where}`,
      )
      .catch((error: unknown) => {
        // git: "fatal: Remote branch <b> not found in upstream origin" (one round trip fewer than asking first).
        if (error instanceof SourcePushError && /Remote branch .* not found/.test(error.stderr)) {
          throw new SourcePushError(
            `branch ${branch} does not exist in ${where}; push the app there first or fix source.branch (HARNESS_SOURCE_BRANCH)`,
            error.stderr,
          );
        }
        throw error;
      });
    const app = join(clone, options.appDir ?? '');
    if (!existsSync(app)) {
      throw new SourcePushError(
        `app directory ${options.appDir} does not exist in ${where}@${branch}; fix source.appDir`,
        '',
      );
    }
    const versionFile = join(app, 'VERSION');
    const current = existsSync(versionFile) ? (await readFile(versionFile, 'utf8')).trim() : '';
    const version = nextVersion(options.runId, options.now ?? new Date(), current);
    await writeFile(versionFile, `${version}\n`);
    const health = join(app, 'config', 'health.json');
    if (options.unhealthy || existsSync(health)) {
      await mkdir(join(app, 'config'), { recursive: true });
      await writeFile(health, `{ "healthy": ${options.unhealthy ? 'false' : 'true'} }\n`);
    }
    for (const [path, content] of Object.entries(options.files ?? {})) {
      const target = join(app, path);
      if (!target.startsWith(join(app, '/'))) {
        throw new SourcePushError(
          `extra file '${path}' is outside the app directory; use a relative path inside it`,
          '',
        );
      }
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    const message =
      `Release ${version} (codepipeline-harness run ${options.runId})` +
      (options.unhealthy ? ' [unhealthy revision: forced failure]' : '');
    const commitId = await commitAndPush(git, clone, { message, remote: 'origin', branch, where });
    return { commitId, version, message, branch };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Pushes a new, unique version of the app (health switch on). See `pushRevision`.
 *
 * @example
 * ```ts
 * const { commitId, version } = await pushVersionBump({ repoUrl: config.source.repositoryUrl!, runId: config.runId });
 * const execution = await pipeline.findExecution({ commitId });
 * ```
 */
export function pushVersionBump(options: Omit<PushOptions, 'unhealthy'>): Promise<PushResult> {
  return pushRevision({ ...options, unhealthy: false });
}
