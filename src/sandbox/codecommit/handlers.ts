/**
 * CodeCommit API handlers (subset): Create/Get/Delete/List/BatchGetRepositories, GetBranch, ListBranches,
 * typed by the SDK's input and output types ({@link CodeCommitOperations}).
 * CodeCommit validates names itself and answers its own exceptions (`RepositoryNameRequiredException`,
 * `InvalidRepositoryNameException`) rather than a generic ValidationException, so these handlers check: each
 * takes the SDK input as sent (the edge server does not validate it), wider than the validated input the
 * table declares.
 */
import type * as Sdk from '@aws-sdk/client-codecommit';
import { ServiceError } from '../protocol/errors.ts';
import type { Handlers, Operation, OutputOf } from '../types.ts';
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

/** The CodeCommit operations the sandbox serves; an operation of the model absent here answers `NotImplemented`. */
export interface CodeCommitOperations {
  CreateRepository: Operation<Sdk.CreateRepositoryInput, Sdk.CreateRepositoryOutput>;
  GetRepository: Operation<Sdk.GetRepositoryInput, Sdk.GetRepositoryOutput>;
  DeleteRepository: Operation<Sdk.DeleteRepositoryInput, Sdk.DeleteRepositoryOutput>;
  ListRepositories: Operation<Sdk.ListRepositoriesInput, Sdk.ListRepositoriesOutput>;
  BatchGetRepositories: Operation<Sdk.BatchGetRepositoriesInput, Sdk.BatchGetRepositoriesOutput>;
  GetBranch: Operation<Sdk.GetBranchInput, Sdk.GetBranchOutput>;
  ListBranches: Operation<Sdk.ListBranchesInput, Sdk.ListBranchesOutput>;
}

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
type Output<K extends keyof CodeCommitOperations> = OutputOf<CodeCommitOperations, K>;

/**
 * The operation table of the service. Leaving out an operation of {@link CodeCommitOperations} is a compile
 * error.
 *
 * @example
 * const handlers = createHandlers(codecommit);
 * await handlers.GetBranch({ repositoryName: 'web', branchName: 'main' }, ctx);
 */
export function createHandlers(service: CodeCommitService): Handlers<CodeCommitOperations> {
  const metadata = (r: RepositoryRecord) => service.metadata(r);
  const existing = (name: unknown): RepositoryRecord => {
    const n = checkRepositoryName(name);
    const record = service.store.get(n);
    if (!record) throw new ServiceError('RepositoryDoesNotExistException', `${n} does not exist`);
    return record;
  };

  return {
    async CreateRepository(input: Sdk.CreateRepositoryInput): Promise<Output<'CreateRepository'>> {
      const record = await service.createRepository(checkRepositoryName(input.repositoryName), {
        description: input.repositoryDescription,
        tags: input.tags,
      });
      return { repositoryMetadata: metadata(record) };
    },

    GetRepository(input: Sdk.GetRepositoryInput): Output<'GetRepository'> {
      return { repositoryMetadata: metadata(existing(input.repositoryName)) };
    },

    async DeleteRepository(input: Sdk.DeleteRepositoryInput): Promise<Output<'DeleteRepository'>> {
      // AWS: deleting a repository that does not exist succeeds with no repositoryId.
      const record = await service.deleteRepository(checkRepositoryName(input.repositoryName));
      return record ? { repositoryId: record.repositoryId } : {};
    },

    ListRepositories(input: Sdk.ListRepositoriesInput): Output<'ListRepositories'> {
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

    BatchGetRepositories(input: Sdk.BatchGetRepositoriesInput): Output<'BatchGetRepositories'> {
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

    async GetBranch(input: Sdk.GetBranchInput): Promise<Output<'GetBranch'>> {
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

    async ListBranches(input: Sdk.ListBranchesInput): Promise<Output<'ListBranches'>> {
      const record = existing(input.repositoryName);
      return { branches: await service.branches(record.repositoryName) };
    },
  };
}
