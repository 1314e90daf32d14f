/**
 * The guard: destructive actions (forcing a failure, deleting) only on resources this run created, or ones
 * explicitly tagged as test targets (`<testTargetTag>=true`). Anything else is refused, so a harness pointed at
 * the wrong account cannot break a real pipeline.
 */
import { GetPipelineCommand, ListTagsForResourceCommand as PipelineTags } from '@aws-sdk/client-codepipeline';
import { ListTagsForResourceCommand as DeployTags } from '@aws-sdk/client-codedeploy';
import { DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import type { HarnessClients } from '../aws/clients.ts';
import { GuardRefusedError } from '../errors.ts';
import { errorLine } from '../poll.ts';
import type { Ledger } from './ledger.ts';

/** Returns a resource's tags, or undefined when they cannot be read. */
export type TagLookup = (kind: string, id: string) => Promise<Record<string, string> | undefined>;

export interface GuardOptions {
  ledger: Ledger;
  /** @default 'codepipeline-harness:test-target' */
  testTargetTag?: string;
  /** How to read tags; @default none (only resources in the ledger are allowed) */
  tagsOf?: TagLookup;
}

export interface GuardDecision {
  allowed: boolean;
  reason: string;
}

export interface GuardedAction {
  kind: string;
  id: string;
  /** What we want to do, e.g. `stop-deployment`, `delete`. */
  action: string;
}

/**
 * @example
 * ```ts
 * const guard = new Guard({ ledger, tagsOf: awsTagLookup(clients) });
 * await guard.assert({ kind: 'deployment-group', id: dgArn, action: 'stop-deployment' });
 * ```
 */
export class Guard {
  readonly #ledger: Ledger;
  readonly #tag: string;
  readonly #tagsOf: TagLookup | undefined;

  constructor(options: GuardOptions) {
    this.#ledger = options.ledger;
    this.#tag = options.testTargetTag ?? 'codepipeline-harness:test-target';
    this.#tagsOf = options.tagsOf;
  }

  /** Result form: may we? and why. */
  async check(target: GuardedAction): Promise<GuardDecision> {
    if (this.#ledger.has(target.kind, target.id)) return { allowed: true, reason: 'created by this run' };
    let unreadable = '';
    const tags = await this.#tagsOf?.(target.kind, target.id).catch((error: unknown) => {
      unreadable = ` (${errorLine(error)})`;
      return undefined;
    });
    if (tags?.[this.#tag] === 'true') return { allowed: true, reason: `tagged ${this.#tag}=true` };
    return {
      allowed: false,
      reason: tags
        ? `not created by this run and not tagged ${this.#tag}=true`
        : `not created by this run and its tags could not be read${unreadable}`,
    };
  }

  /**
   * Assert form.
   * @throws GuardRefusedError naming the resource, the action and how to allow it.
   */
  async assert(target: GuardedAction): Promise<void> {
    const decision = await this.check(target);
    if (decision.allowed) return;
    throw new GuardRefusedError(
      `refusing to ${target.action} ${target.kind} ${target.id}: ${decision.reason}; ` +
        `tag it ${this.#tag}=true if it is a test target`,
      target,
    );
  }
}

function fromList(
  list: { Key?: string; Value?: string; key?: string; value?: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) {
    const key = t.Key ?? t.key;
    if (key) out[key] = t.Value ?? t.value ?? '';
  }
  return out;
}

/**
 * Tag lookup on AWS (and the sandbox): `load-balancer`/`target-group` by ARN (DescribeTags),
 * `auto-scaling-group` by name, `pipeline` by name (GetPipeline → ListTagsForResource), CodeDeploy
 * `application`/`deployment-group` by ARN.
 */
export function awsTagLookup(clients: HarnessClients): TagLookup {
  return async (kind, id) => {
    switch (kind) {
      case 'load-balancer':
      case 'target-group': {
        const out = await clients.elbv2.send(new DescribeTagsCommand({ ResourceArns: [id] }));
        return fromList(out.TagDescriptions?.[0]?.Tags);
      }
      case 'auto-scaling-group': {
        const out = await clients.autoscaling.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [id] }),
        );
        const group = out.AutoScalingGroups?.[0];
        return group ? fromList(group.Tags) : undefined;
      }
      case 'pipeline': {
        const arn = (await clients.codepipeline.send(new GetPipelineCommand({ name: id }))).metadata
          ?.pipelineArn;
        if (!arn) return undefined;
        return fromList((await clients.codepipeline.send(new PipelineTags({ resourceArn: arn }))).tags);
      }
      case 'application':
      case 'deployment-group': {
        if (!id.startsWith('arn:')) return undefined;
        return fromList((await clients.codedeploy.send(new DeployTags({ ResourceArn: id }))).Tags);
      }
      default:
        return undefined;
    }
  };
}
