/**
 * Source/CodeCommit: fetches the pinned commit (a push) or the branch head and exports its tree as the
 * output artifact, recording the commit as AWS does (aws-semantics 2.7): `externalExecutionId` = commit
 * id, summary = commit message, output variables CommitId, CommitMessage, BranchName, RepositoryName,
 * AuthorDate, CommitterDate.
 */
import { failed } from './types.ts';
import type { ActionResult, ActionRunContext, ActionRunner } from './types.ts';

/** A CodeCommit commit id: the full SHA-1 (40 hex digits), or SHA-256 (64) for such repositories. */
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

export interface PushEvent {
  repositoryName: string;
  ref: string;
  before?: string;
  after: string;
  message?: string;
}

export interface CommitInfo {
  commitId: string;
  message?: string;
  author?: unknown;
  committer?: unknown;
  date?: string | Date;
}

/**
 * What the Source action needs from the sandbox's CodeCommit (src/sandbox/codecommit).
 *
 * @example
 * const head = await repos.resolveRef('awscicd-cap-repo', 'main'); // '3f2c…' or undefined
 */
export interface SourceRepositories {
  onPush(listener: (push: PushEvent) => void): unknown;
  resolveRef(repositoryName: string, branch: string): Promise<string | undefined> | string | undefined;
  readCommit(repositoryName: string, commitId: string): Promise<CommitInfo> | CommitInfo;
  exportTree(repositoryName: string, commitId: string, destDir: string): Promise<unknown> | unknown;
}

/**
 * The CodeCommit API of `deps.codecommit`, or undefined while that service lacks it.
 *
 * @example
 * sourceRepositories(deps.codecommit)?.onPush((push) => console.log(push.after));
 */
export function sourceRepositories(codecommit: unknown): SourceRepositories | undefined {
  const c = codecommit as Partial<SourceRepositories> | undefined;
  if (
    c &&
    typeof c.onPush === 'function' &&
    typeof c.resolveRef === 'function' &&
    typeof c.readCommit === 'function' &&
    typeof c.exportTree === 'function'
  ) {
    return c as SourceRepositories;
  }
  return undefined;
}

/**
 * Runs Source/CodeCommit actions against the sandbox CodeCommit.
 *
 * @example
 * const source = new CodeCommitSourceRunner(() => sourceRepositories(codecommit));
 * (await source.run(ctx)).outputVariables?.CommitId; // the 40-char commit id
 */
export class CodeCommitSourceRunner implements ActionRunner {
  readonly #repos: () => SourceRepositories | undefined;

  constructor(repos: () => SourceRepositories | undefined) {
    this.#repos = repos;
  }

  async run(ctx: ActionRunContext): Promise<ActionResult> {
    const repos = this.#repos();
    const config = ctx.action.configuration ?? {};
    const repositoryName = config.RepositoryName ?? '';
    const branch = config.BranchName ?? '';
    if (!repos) {
      return failed(
        `The sandbox CodeCommit service cannot serve repositories yet, so action ${ctx.action.name} cannot fetch ${repositoryName}@${branch}`,
      );
    }
    let commitId = ctx.pinnedRevision?.toLowerCase();
    // A pinned revision (StartPipelineExecution sourceRevisions) is user input: only a full commit id reaches git.
    if (commitId !== undefined && !COMMIT_ID.test(commitId)) {
      return failed(
        `The action failed because the source revision '${ctx.pinnedRevision}' is not a commit ID. For a CodeCommit source action, revisionType COMMIT_ID takes the full 40-character ID of a commit in repository ${repositoryName}; correct sourceRevisions and start the pipeline again.`,
      );
    }
    try {
      commitId ??= await repos.resolveRef(repositoryName, branch);
    } catch (error) {
      if ((error as { code?: string }).code === 'RepositoryDoesNotExistException') {
        return failed(
          `The action failed because no repository named ${repositoryName} was found in the AWS CodeCommit service of this sandbox. Create it (CreateRepository) or correct RepositoryName, and then try again.`,
        );
      }
      return failed(`Could not read branch ${branch} of repository ${repositoryName}: ${String(error)}`);
    }
    if (!commitId) {
      // AWS words it this way when the branch is missing (e.g. the pipeline was created before the first push).
      return failed(
        `The action failed because no branch named ${branch} was found in the selected AWS CodeCommit repository ${repositoryName}. Make sure you are using the correct branch name, and then try again.`,
      );
    }
    let commit: CommitInfo;
    try {
      commit = await repos.readCommit(repositoryName, commitId);
      const out = ctx.outputArtifacts[0];
      if (out) await repos.exportTree(repositoryName, commitId, out.dir);
    } catch (error) {
      return failed(`Could not fetch commit ${commitId} of repository ${repositoryName}: ${String(error)}`);
    }
    const message = (commit.message ?? '').trim();
    const authorDate = isoDate(dateOf(commit.author) ?? commit.date);
    const committerDate = isoDate(dateOf(commit.committer) ?? commit.date);
    const region = ctx.runtime.region;
    const revisionUrl = `https://${region}.console.aws.amazon.com/codesuite/codecommit/repositories/${repositoryName}/commit/${commitId}?region=${region}`;
    const summary = message.slice(0, 2048) || commitId;
    return {
      status: 'Succeeded',
      summary,
      externalExecutionId: commitId,
      externalExecutionUrl: revisionUrl,
      outputVariables: {
        CommitId: commitId,
        CommitMessage: message,
        BranchName: branch,
        RepositoryName: repositoryName,
        AuthorDate: authorDate,
        CommitterDate: committerDate,
      },
      revision: {
        revisionId: commitId,
        revisionSummary: summary,
        revisionUrl,
        revisionChangeIdentifier: commitId,
        ...(authorDate ? { created: new Date(authorDate) } : {}),
      },
    };
  }
}

function dateOf(person: unknown): string | Date | undefined {
  if (person && typeof person === 'object' && 'date' in person)
    return (person as { date: string | Date }).date;
  return undefined;
}

/** `2020-05-08T17:45:43Z`, the form CodePipeline gives AuthorDate/CommitterDate. */
function isoDate(value: string | Date | undefined): string {
  if (value === undefined) return '';
  const d = value instanceof Date ? value : new Date(/^\d+$/.test(value) ? Number(value) * 1000 : value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
