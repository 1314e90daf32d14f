/**
 * Tags of load balancers, target groups and listeners: AddTags, RemoveTags, DescribeTags, and the checks
 * Create* apply to their `Tags` (ELBv2 API reference, AddTags: at most 50 per resource, no duplicate keys).
 */
import type { Tag } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ServiceError } from '../protocol/errors.ts';
import type { Validated } from '../types.ts';
import { requireListener, requireLoadBalancer, requireTargetGroup, validation } from './errors.ts';
import type { Elbv2HandlerDeps, Elbv2Handlers, Elbv2Output } from './operations.ts';
import type { Elbv2Store } from './store.ts';

const MAX_TAGS = 50;

/** Refuses tags without a key, duplicate keys and more than 50 tags (the Create* operations and AddTags). */
export function checkTags(tags: readonly Validated<Tag>[] | undefined): void {
  if (!tags) return;
  const keys = new Set<string>();
  for (const t of tags) {
    if (!t.Key) throw validation('Tags: every tag needs a Key');
    if (keys.has(t.Key))
      throw new ServiceError('DuplicateTagKeys', `Tag key '${t.Key}' is specified more than once`);
    keys.add(t.Key);
  }
  if (tags.length > MAX_TAGS) throw new ServiceError('TooManyTags', `At most ${MAX_TAGS} tags per resource`);
}

/** Adds (or overwrites) tags of a resource; an absent value is stored as ''. */
export function setTags(store: Elbv2Store, arn: string, tags: readonly Validated<Tag>[] | undefined): void {
  const map = store.tags.get(arn) ?? new Map<string, string>();
  for (const t of tags ?? []) map.set(t.Key, t.Value ?? '');
  store.tags.set(arn, map);
}

/** Resolves a tagging ARN to its resource kind, throwing the kind's not-found error. */
function requireTaggable(store: Elbv2Store, arn: string): void {
  if (arn.includes(':loadbalancer/')) requireLoadBalancer(store, arn);
  else if (arn.includes(':targetgroup/')) requireTargetGroup(store, arn);
  else if (arn.includes(':listener/')) requireListener(store, arn);
  else if (arn.includes(':listener-rule/')) {
    throw new ServiceError(
      'RuleNotFound',
      `The rule '${arn}' does not exist (the sandbox has no listener rules)`,
    );
  } else throw validation(`'${arn}' is not a load balancer, target group or listener ARN`);
}

/**
 * @example
 * const handlers = tagHandlers({ store, targets });
 * handlers.DescribeTags({ ResourceArns: [lbArn] }, ctx).TagDescriptions; // [{ ResourceArn: lbArn, Tags: [...] }]
 */
export function tagHandlers({
  store,
}: Elbv2HandlerDeps): Elbv2Handlers<'AddTags' | 'RemoveTags' | 'DescribeTags'> {
  return {
    AddTags(input): Elbv2Output<'AddTags'> {
      checkTags(input.Tags);
      for (const arn of input.ResourceArns) requireTaggable(store, arn);
      for (const arn of input.ResourceArns) {
        const keys = new Set([...(store.tags.get(arn)?.keys() ?? []), ...input.Tags.map((t) => t.Key)]);
        if (keys.size > MAX_TAGS)
          throw new ServiceError('TooManyTags', `Resource '${arn}' would have more than ${MAX_TAGS} tags`);
      }
      for (const arn of input.ResourceArns) setTags(store, arn, input.Tags);
      return {};
    },

    RemoveTags(input): Elbv2Output<'RemoveTags'> {
      for (const arn of input.ResourceArns) requireTaggable(store, arn);
      for (const arn of input.ResourceArns) {
        for (const key of input.TagKeys) store.tags.get(arn)?.delete(key);
      }
      return {};
    },

    DescribeTags(input): Elbv2Output<'DescribeTags'> {
      const arns = input.ResourceArns;
      if (arns.length > 20) throw validation(`ResourceArns: at most 20 ARNs per call (got ${arns.length})`);
      for (const arn of arns) requireTaggable(store, arn);
      return {
        TagDescriptions: arns.map((arn) => ({
          ResourceArn: arn,
          Tags: [...(store.tags.get(arn) ?? [])].map(([Key, Value]) => ({ Key, Value })),
        })),
      };
    },
  };
}
