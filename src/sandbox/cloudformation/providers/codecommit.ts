/**
 * `AWS::CodeCommit::Repository` on the sandbox's CodeCommit (a real git repository behind `CloneUrlHttp`).
 * `Ref` is the repository **id**, not its name (reference §3.1 gotcha); `Fn::GetAtt Repo.Name` is the name.
 */
import { callService } from './call.ts';
import { mergeTags, str, tagsOf } from './props.ts';
import { type ResourceProvider, ResourceFailure } from './types.ts';

interface Metadata {
  repositoryMetadata: {
    repositoryId: string;
    repositoryName: string;
    Arn: string;
    cloneUrlHttp: string;
    cloneUrlSsh: string;
  };
}

const repository: ResourceProvider = {
  type: 'AWS::CodeCommit::Repository',
  recordedOnly: false,
  attributes: ['Arn', 'CloneUrlHttp', 'CloneUrlSsh', 'Name'],
  createSeconds: 3,
  deleteSeconds: 3,
  async create(p, ctx) {
    for (const unsupported of ['Code', 'Triggers', 'KmsKeyId'] as const) {
      if (p[unsupported] !== undefined) {
        throw new ResourceFailure(
          `Property ${unsupported} of ${ctx.logicalId}: the sandbox's CodeCommit does not take it; push the code with git after the stack is created`,
        );
      }
    }
    const tags = mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags, ctx.systemTags);
    const out = await callService<Metadata>(
      ctx.services.codecommit,
      'CreateRepository',
      {
        repositoryName: str(p, 'RepositoryName', ctx.logicalId, true),
        ...(p.RepositoryDescription !== undefined
          ? { repositoryDescription: str(p, 'RepositoryDescription', ctx.logicalId) }
          : {}),
        tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
      },
      ctx,
    );
    const m = out.repositoryMetadata;
    return {
      physicalId: m.repositoryId,
      attributes: {
        Arn: m.Arn,
        CloneUrlHttp: m.cloneUrlHttp,
        CloneUrlSsh: m.cloneUrlSsh,
        Name: m.repositoryName,
      },
    };
  },
  async delete(r, ctx) {
    await callService(
      ctx.services.codecommit,
      'DeleteRepository',
      { repositoryName: String(r.attributes.Name) },
      ctx,
    );
  },
};

export const codeCommitProviders: readonly ResourceProvider[] = [repository];
