/**
 * CodeCommit subset: repositories are bare git repositories under `<dataDir>/codecommit/<name>.git`, served
 * over git's smart HTTP at `cloneUrlHttp` (`<edge>/<region>/v1/repos/<name>`, the region's own, as AWS's
 * `git-codecommit.<region>.amazonaws.com/v1/repos/<name>`; without the region segment the default region's), so
 * plain `git clone` / `git push` work.
 * Other services use the internal API: {@link CodeCommitService.onPush}, `resolveRef`, `readCommit`,
 * `exportTree`, `repositoryPath`.
 *
 * @example
 * const off = sandbox.services.codecommit.onPush((e) => console.log(e.repositoryName, e.ref, e.after, e.message));
 * // git push http://127.0.0.1:PORT/us-east-1/v1/repos/web main
 * off();
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceError } from '../protocol/errors.ts';
import type { Handler, HttpRoute, SandboxRuntime, SandboxService } from '../types.ts';
import * as gitOps from './git.ts';
import { type CommitInfo, initBare, listRefs } from './git.ts';
import { createHandlers } from './handlers.ts';
import { GitHttpRoute } from './http.ts';
import { type RepositoryRecord, RepositoryStore } from './store.ts';

export type { CommitInfo } from './git.ts';

/** One updated ref of a push. `before` is 40 zeros for a new ref; `after` is 40 zeros for a deleted one. */
export interface PushEvent {
  repositoryName: string;
  /** Full ref name, e.g. `refs/heads/main`. */
  ref: string;
  before: string;
  after: string;
  /** The message of the `after` commit ('' for a deleted ref). */
  message: string;
}

export type PushListener = (event: PushEvent) => void;

const ZERO = '0'.repeat(40);

export class CodeCommitService implements SandboxService {
  readonly name = 'codecommit' as const;
  readonly runtime: SandboxRuntime;
  readonly store = new RepositoryStore();
  readonly handlers: Record<string, Handler>;
  readonly routes: readonly HttpRoute[];
  readonly #git: GitHttpRoute;
  readonly #listeners = new Set<PushListener>();
  /** Pushes to one repository are serialized so each ref diff belongs to one push. */
  readonly #pushLocks = new Map<string, Promise<void>>();

  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
    this.handlers = createHandlers(this);
    this.#git = new GitHttpRoute({
      projectRoot: this.root,
      exists: (name) => this.store.get(name) !== undefined,
      aroundReceivePack: (name, run) => this.#withPushLock(name, () => this.#receivePack(name, run)),
    });
    this.routes = [this.#git];
  }

  /** Directory holding every repository. */
  get root(): string {
    return join(this.runtime.dataDir, 'codecommit');
  }

  /** The bare repository's directory. */
  repositoryPath(name: string): string {
    return join(this.root, `${name}.git`);
  }

  /** The git smart HTTP URL of a repository (what `cloneUrlHttp` holds), on its region's URL prefix. */
  cloneUrlHttp(name: string): string {
    return `${this.runtime.edgeUrl()}/v1/repos/${name}`;
  }

  /** RepositoryMetadata as the API returns it. */
  metadata(r: RepositoryRecord): Record<string, unknown> {
    const { accountId, region } = this.runtime;
    return {
      accountId,
      repositoryId: r.repositoryId,
      repositoryName: r.repositoryName,
      repositoryDescription: r.repositoryDescription,
      defaultBranch: r.defaultBranch,
      lastModifiedDate: r.lastModifiedDate,
      creationDate: r.creationDate,
      cloneUrlHttp: this.cloneUrlHttp(r.repositoryName),
      // Not served (the sandbox speaks HTTP only); the AWS format, so tools that parse it still can.
      cloneUrlSsh: `ssh://git-codecommit.${region}.amazonaws.com/v1/repos/${r.repositoryName}`,
      Arn: `arn:aws:codecommit:${region}:${accountId}:${r.repositoryName}`,
    };
  }

  /** Creates the repository (metadata and bare git repo). Throws `RepositoryNameExistsException` for a taken name. */
  async createRepository(
    name: string,
    options: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RepositoryRecord> {
    if (this.store.get(name))
      throw new ServiceError('RepositoryNameExistsException', `Repository named ${name} already exists`);
    if (options.description !== undefined && options.description.length > 1000) {
      throw new ServiceError(
        'InvalidRepositoryDescriptionException',
        'The description for the repository is not valid: at most 1000 characters.',
      );
    }
    const now = this.runtime.clock.now();
    const record: RepositoryRecord = {
      repositoryId: randomUUID(),
      repositoryName: name,
      repositoryDescription: options.description,
      creationDate: now,
      lastModifiedDate: now,
      tags: { ...(options.tags ?? {}) },
    };
    this.store.add(record); // reserve the name before the (async) git init
    try {
      await initBare(this.repositoryPath(name));
    } catch (error) {
      this.store.delete(name);
      throw error;
    }
    return record;
  }

  /** Deletes a repository and its git data; resolves undefined when it did not exist. */
  async deleteRepository(name: string): Promise<RepositoryRecord | undefined> {
    const record = this.store.delete(name);
    if (record) await rm(this.repositoryPath(name), { recursive: true, force: true });
    return record;
  }

  /** Subscribes to pushes (one call per updated ref); returns the unsubscribe function. */
  onPush(listener: PushListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #existingPath(name: string): string {
    if (!this.store.get(name))
      throw new ServiceError('RepositoryDoesNotExistException', `${name} does not exist`);
    return this.repositoryPath(name);
  }

  /** The commit a branch (`main` or `refs/heads/main`) points at, or undefined. */
  resolveRef(repositoryName: string, branch: string): Promise<string | undefined> {
    return gitOps.resolveBranch(this.#existingPath(repositoryName), branch.replace(/^refs\/heads\//, ''));
  }

  /** Branch names of a repository. */
  async branches(repositoryName: string): Promise<string[]> {
    const refs = await listRefs(this.#existingPath(repositoryName));
    return [...refs.keys()]
      .filter((r) => r.startsWith('refs/heads/'))
      .map((r) => r.slice('refs/heads/'.length));
  }

  /** Commit id, message, author and date of one commit. */
  readCommit(repositoryName: string, commitId: string): Promise<CommitInfo> {
    return gitOps.readCommit(this.#existingPath(repositoryName), commitId);
  }

  /** Writes the tree at `commitId` into `destDir` (the source artifact of a pipeline execution). */
  exportTree(repositoryName: string, commitId: string, destDir: string): Promise<void> {
    return gitOps.exportTree(this.#existingPath(repositoryName), commitId, destDir);
  }

  async #withPushLock(name: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.#pushLocks.get(name) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => {});
    this.#pushLocks.set(name, tail);
    try {
      await current;
    } finally {
      if (this.#pushLocks.get(name) === tail) this.#pushLocks.delete(name);
    }
  }

  async #receivePack(name: string, run: () => Promise<void>): Promise<void> {
    const gitDir = this.repositoryPath(name);
    const before = await listRefs(gitDir);
    await run();
    const record = this.store.get(name);
    if (!record) return; // deleted meanwhile
    const after = await listRefs(gitDir);
    const changed = new Set([...before.keys(), ...after.keys()]);
    for (const ref of changed) {
      const was = before.get(ref) ?? ZERO;
      const now = after.get(ref) ?? ZERO;
      if (was === now) continue;
      const message =
        now === ZERO ? '' : ((await gitOps.readCommit(gitDir, now).catch(() => undefined))?.message ?? '');
      record.lastModifiedDate = this.runtime.clock.now();
      if (!record.defaultBranch && ref.startsWith('refs/heads/') && now !== ZERO) {
        record.defaultBranch = ref.slice('refs/heads/'.length);
      }
      const event: PushEvent = { repositoryName: name, ref, before: was, after: now, message };
      this.runtime.events.append({
        service: 'codecommit',
        kind: 'push',
        status: now === ZERO ? 'Deleted' : 'Pushed',
        detail: `${name} ${ref} ${was.slice(0, 7)}..${now.slice(0, 7)}`,
      });
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch (error) {
          console.error(`[sandbox] codecommit push listener failed for ${name} ${ref}:`, error);
        }
      }
    }
  }

  async reset(): Promise<void> {
    this.#git.killAll();
    const names = this.store.all().map((r) => r.repositoryName);
    this.store.clear();
    for (const name of names) await rm(this.repositoryPath(name), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    this.#git.killAll();
    this.#listeners.clear();
  }
}
