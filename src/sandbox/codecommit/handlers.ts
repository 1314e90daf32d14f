/**
 * CodeCommit API handlers (subset): Create/Get/Delete/List/BatchGetRepositories, GetBranch, ListBranches.
 * CodeCommit validates names itself and answers its own exceptions (`RepositoryNameRequiredException`,
 * `InvalidRepositoryNameException`) rather than a generic ValidationException, so these handlers check.
 */
import { ServiceError } from '../protocol/errors.ts';
import type { Handler } from '../types.ts';
import type { CodeCommitService } from './index.ts';
import type { RepositoryRecord } from './store.ts';

/** CodeCommit's wording for a bad repository name (AWS CodeCommit User Guide, quotas). */
const INVALID_NAME =
  'The repository name is not valid. Repository names can be any valid combination of letters, numbers, periods, ' +
  'underscores, and dashes between 1 and 100 characters in length. Names are case sensitive and cannot end in .git.';

/** Throws the CodeCommit exception for a missing or invalid repository name. */
export function checkRepositoryName(name: unknown): string {
  if (name === undefined || name === null || name === '') {
    throw new ServiceError(
      'RepositoryNameRequiredException',
      'A repository name is required, but was not specified.',
    );
  }
  if (typeof name !== 'string' || !/^[\w.-]{1,100}$/.test(name) || name.toLowerCase().endsWith('.git')) {
    throw new ServiceError('InvalidRepositoryNameException', INVALID_NAME);
  }
  return name;
}

export function createHandlers(service: CodeCommitService): Record<string, Handler> {
  const metadata = (r: RepositoryRecord) => service.metadata(r);
  const existing = (name: unknown): RepositoryRecord => {
    const n = checkRepositoryName(name);
    const record = service.store.get(n);
    if (!record) throw new ServiceError('RepositoryDoesNotExistException', `${n} does not exist`);
    return record;
  };

  return {
    async CreateRepository(input: {
      repositoryName?: string;
      repositoryDescription?: string;
      tags?: Record<string, string>;
    }) {
      const record = await service.createRepository(checkRepositoryName(input.repositoryName), {
        description: input.repositoryDescription,
        tags: input.tags,
      });
      return { repositoryMetadata: metadata(record) };
    },

    GetRepository(input: { repositoryName?: string }) {
      return { repositoryMetadata: metadata(existing(input.repositoryName)) };
    },

    async DeleteRepository(input: { repositoryName?: string }) {
      // AWS: deleting a repository that does not exist succeeds with no repositoryId.
      const record = await service.deleteRepository(checkRepositoryName(input.repositoryName));
      return record ? { repositoryId: record.repositoryId } : {};
    },

    ListRepositories(input: { sortBy?: string; order?: string }) {
      if (
        input.sortBy !== undefined &&
        input.sortBy !== 'repositoryName' &&
        input.sortBy !== 'lastModifiedDate'
      ) {
        throw new ServiceError(
          'InvalidSortByException',
          'The specified sort by value is not valid: use repositoryName or lastModifiedDate.',
        );
      }
      if (input.order !== undefined && input.order !== 'ascending' && input.order !== 'descending') {
        throw new ServiceError(
          'InvalidOrderException',
          'The specified sort order is not valid: use ascending or descending.',
        );
      }
      const repos = service.store.all();
      const by = input.sortBy === 'lastModifiedDate' ? 'lastModifiedDate' : 'repositoryName';
      repos.sort((a, b) =>
        by === 'repositoryName'
          ? a.repositoryName.localeCompare(b.repositoryName)
          : a.lastModifiedDate.getTime() - b.lastModifiedDate.getTime(),
      );
      if (input.order === 'descending') repos.reverse();
      return {
        repositories: repos.map((r) => ({ repositoryName: r.repositoryName, repositoryId: r.repositoryId })),
      };
    },

    BatchGetRepositories(input: { repositoryNames?: string[] }) {
      const names = input.repositoryNames ?? [];
      if (names.length === 0) {
        throw new ServiceError(
          'RepositoryNamesRequiredException',
          'At least one repository name is required, but was not specified.',
        );
      }
      if (names.length > 25) {
        throw new ServiceError(
          'MaximumRepositoryNamesExceededException',
          'The maximum number of allowed repository names was exceeded. Currently, this number is 25.',
        );
      }
      const repositories = [];
      const repositoriesNotFound = [];
      for (const name of names) {
        const record = service.store.get(checkRepositoryName(name));
        if (record) repositories.push(metadata(record));
        else repositoriesNotFound.push(name);
      }
      return { repositories, repositoriesNotFound };
    },

    async GetBranch(input: { repositoryName?: string; branchName?: string }) {
      const record = existing(input.repositoryName);
      if (!input.branchName)
        throw new ServiceError(
          'BranchNameRequiredException',
          'A branch name is required, but was not specified.',
        );
      const commitId = await service.resolveRef(record.repositoryName, input.branchName);
      if (!commitId)
        throw new ServiceError('BranchDoesNotExistException', `Could not find branch ${input.branchName}`);
      return { branch: { branchName: input.branchName, commitId } };
    },

    async ListBranches(input: { repositoryName?: string }) {
      const record = existing(input.repositoryName);
      return { branches: await service.branches(record.repositoryName) };
    },
  };
}
