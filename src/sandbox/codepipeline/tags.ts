/**
 * Pipeline tags: TagResource, UntagResource, ListTagsForResource, and the checks CreatePipeline applies to its
 * `tags` (at most 50, no `aws:` prefix; aws-semantics 2.2).
 */
import type { Tag } from '@aws-sdk/client-codepipeline';
import { ServiceError } from '../protocol/errors.ts';
import type { Validated } from '../types.ts';
import type { Tag as StoredTag } from './model.ts';
import type { CodePipelineHandlers, CodePipelineOutput, HandlerDeps } from './operations.ts';
import type { PipelineRecord, PipelineStore } from './store.ts';
import { paginate } from './views.ts';

const MAX_TAGS = 50;

/**
 * Refuses more than 50 tags and reserved `aws:` keys; returns copies to store.
 *
 * @example
 * validateTags([{ key: 'team', value: 'web' }]); // [{ key: 'team', value: 'web' }]
 */
export function validateTags(tags: readonly Validated<Tag>[]): StoredTag[] {
  if (tags.length > MAX_TAGS)
    throw new ServiceError(
      'TooManyTagsException',
      `At most ${MAX_TAGS} tags are allowed (got ${tags.length})`,
    );
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith('aws:')) {
      throw new ServiceError(
        'InvalidTagsException',
        `Tag key '${t.key}' uses the reserved prefix 'aws:'; choose another key`,
      );
    }
  }
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

function resourceOrThrow(store: PipelineStore, arn: string): PipelineRecord {
  if (!/^arn:aws(-[\w]+)*:codepipeline:[a-z0-9-]+:[0-9]{12}:.+$/.test(arn)) {
    throw new ServiceError(
      'InvalidArnException',
      `'${arn}' is not a CodePipeline ARN (arn:aws:codepipeline:<region>:<account>:<pipeline>)`,
    );
  }
  const p = store.byArn(arn);
  if (!p) throw new ServiceError('ResourceNotFoundException', `The resource '${arn}' does not exist`);
  return p;
}

/**
 * @example
 * const handlers = tagHandlers(deps);
 * handlers.TagResource({ resourceArn: p.arn, tags: [{ key: 'team', value: 'web' }] }, ctx);
 */
export function tagHandlers({
  store,
}: HandlerDeps): CodePipelineHandlers<'TagResource' | 'UntagResource' | 'ListTagsForResource'> {
  return {
    TagResource(input): CodePipelineOutput<'TagResource'> {
      const p = resourceOrThrow(store, input.resourceArn);
      const merged = new Map(p.tags.map((t) => [t.key, t.value]));
      for (const t of validateTags(input.tags)) merged.set(t.key, t.value);
      if (merged.size > MAX_TAGS) {
        throw new ServiceError(
          'TooManyTagsException',
          `A pipeline can have at most ${MAX_TAGS} tags; this request would give it ${merged.size}`,
        );
      }
      p.tags = [...merged].map(([key, value]) => ({ key, value }));
      return {};
    },

    UntagResource(input): CodePipelineOutput<'UntagResource'> {
      const p = resourceOrThrow(store, input.resourceArn);
      const drop = new Set(input.tagKeys);
      p.tags = p.tags.filter((t) => !drop.has(t.key));
      return {};
    },

    ListTagsForResource(input): CodePipelineOutput<'ListTagsForResource'> {
      const p = resourceOrThrow(store, input.resourceArn);
      const page = paginate(p.tags, input.nextToken, input.maxResults ?? 50);
      return { tags: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    },
  };
}
