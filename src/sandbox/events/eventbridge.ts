/**
 * EventBridge in the sandbox, over JSON 1.1 (`AWSEvents.*`, aws-semantics-events-auth-regions §2): rules on the
 * region's `default` bus with event patterns, SQS targets, tags, TestEventPattern and PutEvents. The region's
 * CodePipeline and CodeDeploy publish their state changes to the bus in AWS's shapes (./shapes.ts); each matching
 * rule sends them to its SQS targets as AWS does (./delivery.ts): late, sometimes twice, in no promised order.
 *
 * A queue receives only when its policy lets `events.amazonaws.com` `sqs:SendMessage` for the rule (§2.5). When
 * it does not (or the queue is gone), the event is dropped silently, as on AWS, and counted as a failed
 * invocation of the rule: `sandbox.services.events.invocations(ruleName)` (AWS shows it as the rule's
 * `FailedInvocations` CloudWatch metric).
 *
 * @example
 * const events = sandbox.services.events;
 * events.delivery.duplicateRate = 0; // every event once
 * events.invocations('my-rule'); // { matched: 12, delivered: 12, failed: 0 }
 */
import { randomUUID } from 'node:crypto';
import type * as Sdk from '@aws-sdk/client-eventbridge';
import type { CodeDeployService } from '../codedeploy/index.ts';
import type { CodePipelineService } from '../codepipeline/index.ts';
import type { SandboxEvent } from '../events.ts';
import { ServiceError } from '../protocol/errors.ts';
import type { Handlers, Operation, OutputOf, SandboxRuntime, SandboxService } from '../types.ts';
import { checkDeliverySettings, type DeliverySettings, defaultDeliverySettings, plan } from './delivery.ts';
import { seededRandom } from '../random.ts';
import { type EventPattern, matches, parsePattern } from './pattern.ts';
import { allowsEventBridge } from './policy.ts';
import { type AwsEvent, awsEvent } from './shapes.ts';
import type { SqsService } from './sqs.ts';

export interface EventBridgeOperations {
  PutRule: Operation<Sdk.PutRuleRequest, Sdk.PutRuleResponse>;
  DescribeRule: Operation<Sdk.DescribeRuleRequest, Sdk.DescribeRuleResponse>;
  ListRules: Operation<Sdk.ListRulesRequest, Sdk.ListRulesResponse>;
  DeleteRule: Operation<Sdk.DeleteRuleRequest, object>;
  EnableRule: Operation<Sdk.EnableRuleRequest, object>;
  DisableRule: Operation<Sdk.DisableRuleRequest, object>;
  PutTargets: Operation<Sdk.PutTargetsRequest, Sdk.PutTargetsResponse>;
  RemoveTargets: Operation<Sdk.RemoveTargetsRequest, Sdk.RemoveTargetsResponse>;
  ListTargetsByRule: Operation<Sdk.ListTargetsByRuleRequest, Sdk.ListTargetsByRuleResponse>;
  TagResource: Operation<Sdk.TagResourceRequest, object>;
  UntagResource: Operation<Sdk.UntagResourceRequest, object>;
  ListTagsForResource: Operation<Sdk.ListTagsForResourceRequest, Sdk.ListTagsForResourceResponse>;
  TestEventPattern: Operation<Sdk.TestEventPatternRequest, Sdk.TestEventPatternResponse>;
  PutEvents: Operation<Sdk.PutEventsRequest, Sdk.PutEventsResponse>;
}

type Out<K extends keyof EventBridgeOperations> = OutputOf<EventBridgeOperations, K>;

interface TargetRecord {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
}

interface RuleRecord {
  name: string;
  arn: string;
  patternText: string;
  pattern: EventPattern;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  roleArn?: string;
  tags: Record<string, string>;
  targets: Map<string, TargetRecord>;
  createdBy: string;
}

/** What happened to the events a rule matched (AWS: the `MatchedEvents`, `Invocations`, `FailedInvocations` metrics). */
export interface RuleInvocations {
  matched: number;
  delivered: number;
  failed: number;
}

export interface EventBridgeDeps {
  readonly sqs: SqsService;
  readonly codepipeline: CodePipelineService;
  readonly codedeploy: CodeDeployService;
}

const SQS_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80})$/;

export class EventBridgeService implements SandboxService {
  readonly name = 'events' as const;
  readonly runtime: SandboxRuntime;
  readonly handlers: Handlers<EventBridgeOperations>;
  /** How events reach targets; change at run time (seed changes take effect at the next reset). */
  readonly delivery: DeliverySettings = defaultDeliverySettings();
  readonly rules = new Map<string, RuleRecord>();
  readonly #deps: EventBridgeDeps;
  readonly #stats = new Map<string, RuleInvocations>();
  /** Executions and stages that ended Failed/Stopped: their next STARTED is RESUMED (§1.5). */
  readonly #ended = new Set<string>();
  readonly #unsubscribe: () => void;
  #random: () => number;

  constructor(runtime: SandboxRuntime, deps: EventBridgeDeps) {
    this.runtime = runtime;
    this.#deps = deps;
    this.#random = seededRandom(this.delivery.seed);
    this.handlers = this.#handlers();
    this.#unsubscribe = runtime.events.subscribe((e) => this.#onStateChange(e));
  }

  /** The counts of a rule's matched, delivered and dropped events (zeros for an unknown rule). */
  invocations(ruleName: string): RuleInvocations {
    return { ...(this.#stats.get(ruleName) ?? { matched: 0, delivered: 0, failed: 0 }) };
  }

  /** Puts an AWS-shaped event on the default bus (what the region's services do on each state change). */
  publish(event: AwsEvent): void {
    for (const rule of this.rules.values()) {
      if (rule.state !== 'ENABLED' || !matches(rule.pattern, event)) continue;
      const stats = this.#statsOf(rule.name);
      stats.matched += 1;
      for (const target of rule.targets.values()) {
        for (const delay of plan(this.delivery, this.#random)) this.#deliverLater(rule, target, event, delay);
      }
    }
  }

  #onStateChange(e: SandboxEvent): void {
    if (this.rules.size === 0) return;
    const key = e.kind === 'stage' ? `${e.executionId}/${e.stage}` : `${e.executionId}`;
    const resumed =
      e.status === 'InProgress' &&
      (e.kind === 'pipelineExecution' || e.kind === 'stage') &&
      this.#ended.has(key);
    if (
      (e.kind === 'pipelineExecution' || e.kind === 'stage') &&
      (e.status === 'Failed' || e.status === 'Stopped')
    ) {
      this.#ended.add(key);
    }
    const event = awsEvent(
      e,
      {
        region: this.runtime.region,
        accountId: this.runtime.accountId,
        codepipeline: this.#deps.codepipeline,
        codedeploy: this.#deps.codedeploy,
      },
      resumed,
    );
    if (event) this.publish(event);
  }

  #deliverLater(rule: RuleRecord, target: TargetRecord, event: AwsEvent, delayMs: number): void {
    const ms = Math.round(delayMs * this.runtime.clock.timeScale);
    const send = () => this.#deliver(rule, target, event);
    if (ms <= 0) {
      queueMicrotask(send);
      return;
    }
    this.runtime.clock.sleep(ms).then(send, () => {
      // the sandbox stopped: nothing is delivered after that
    });
  }

  #deliver(rule: RuleRecord, target: TargetRecord, event: AwsEvent): void {
    const stats = this.#statsOf(rule.name);
    const queue = this.#deps.sqs.byArn(target.Arn);
    // A queue that is gone, or whose policy does not let this rule send, drops the event (§2.5): no error anywhere
    // but the rule's failed invocations.
    if (!queue || !allowsEventBridge(queue.attributes.Policy, queue.arn, rule.arn)) {
      stats.failed += 1;
      return;
    }
    this.#deps.sqs.store.send(queue, body(target, event), 'AIDAIEVENTBRIDGE');
    stats.delivered += 1;
  }

  #statsOf(ruleName: string): RuleInvocations {
    let stats = this.#stats.get(ruleName);
    if (!stats) {
      stats = { matched: 0, delivered: 0, failed: 0 };
      this.#stats.set(ruleName, stats);
    }
    return stats;
  }

  #ruleArn(name: string): string {
    return `arn:aws:events:${this.runtime.region}:${this.runtime.accountId}:rule/${name}`;
  }

  #checkBus(bus: string | undefined): void {
    if (bus === undefined || bus === 'default') return;
    if (bus === `arn:aws:events:${this.runtime.region}:${this.runtime.accountId}:event-bus/default`) return;
    throw new ServiceError(
      'ResourceNotFoundException',
      `Event bus ${bus.slice(0, 200)} does not exist. The sandbox serves the default bus only; omit EventBusName.`,
    );
  }

  #rule(name: string, bus?: string): RuleRecord {
    this.#checkBus(bus);
    const rule = this.rules.get(name);
    if (!rule)
      throw new ServiceError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus default.`);
    return rule;
  }

  #ruleByArn(arn: string): RuleRecord {
    const rule = [...this.rules.values()].find((r) => r.arn === arn);
    if (!rule)
      throw new ServiceError(
        'ResourceNotFoundException',
        `Rule ${arn.split('/').at(-1)} does not exist on EventBus default.`,
      );
    return rule;
  }

  #handlers(): Handlers<EventBridgeOperations> {
    const describe = (rule: RuleRecord) => ({
      Name: rule.name,
      Arn: rule.arn,
      EventPattern: rule.patternText,
      State: rule.state,
      ...(rule.description ? { Description: rule.description } : {}),
      ...(rule.roleArn ? { RoleArn: rule.roleArn } : {}),
      EventBusName: 'default',
    });
    return {
      PutRule: (input, ctx): Out<'PutRule'> => {
        this.#checkBus(input.EventBusName);
        if (input.ScheduleExpression) {
          throw new ServiceError(
            'NotImplemented',
            'The sandbox does not implement scheduled rules (ScheduleExpression); give an EventPattern',
          );
        }
        if (!input.EventPattern) {
          throw new ServiceError(
            'ValidationException',
            'Parameter(s) EventPattern or ScheduleExpression must be specified.',
          );
        }
        const pattern = parsePattern(input.EventPattern);
        const state = input.State === 'DISABLED' ? 'DISABLED' : 'ENABLED';
        const existing = this.rules.get(input.Name);
        // Upsert: optional members left out are reset; tags apply only on creation (§2.1).
        const rule: RuleRecord = {
          name: input.Name,
          arn: this.#ruleArn(input.Name),
          patternText: input.EventPattern,
          pattern,
          state,
          ...(input.Description ? { description: input.Description } : {}),
          ...(input.RoleArn ? { roleArn: input.RoleArn } : {}),
          tags: existing?.tags ?? Object.fromEntries((input.Tags ?? []).map((t) => [t.Key!, t.Value!])),
          targets: existing?.targets ?? new Map(),
          createdBy: ctx.accountId,
        };
        this.rules.set(rule.name, rule);
        return { RuleArn: rule.arn };
      },
      DescribeRule: (input): Out<'DescribeRule'> => {
        const rule = this.#rule(input.Name, input.EventBusName);
        return { ...describe(rule), CreatedBy: rule.createdBy };
      },
      ListRules: (input): Out<'ListRules'> => {
        this.#checkBus(input.EventBusName);
        const all = [...this.rules.values()]
          .filter((r) => !input.NamePrefix || r.name.startsWith(input.NamePrefix))
          .sort((a, b) => a.name.localeCompare(b.name));
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const limit = input.Limit ?? 100;
        const page = all.slice(start, start + limit);
        return {
          Rules: page.map(describe),
          ...(start + limit < all.length ? { NextToken: String(start + limit) } : {}),
        };
      },
      DeleteRule: (input) => {
        this.#checkBus(input.EventBusName);
        const rule = this.rules.get(input.Name);
        if (!rule) return {}; // repeated deletes succeed (§2.4)
        if (rule.targets.size > 0) {
          throw new ServiceError('ValidationException', "Rule can't be deleted since it has targets.");
        }
        this.rules.delete(input.Name);
        return {};
      },
      EnableRule: (input) => {
        this.#rule(input.Name, input.EventBusName).state = 'ENABLED';
        return {};
      },
      DisableRule: (input) => {
        this.#rule(input.Name, input.EventBusName).state = 'DISABLED';
        return {};
      },
      PutTargets: (input): Out<'PutTargets'> => {
        const rule = this.#rule(input.Rule, input.EventBusName);
        const FailedEntries: Sdk.PutTargetsResultEntry[] = [];
        for (const target of input.Targets) {
          const sqs = SQS_ARN.exec(target.Arn);
          if (!sqs) {
            FailedEntries.push({
              TargetId: target.Id,
              ErrorCode: 'NotImplemented',
              ErrorMessage: `The sandbox's EventBridge delivers to SQS queues only; ${target.Arn.slice(0, 200)} is no SQS queue ARN`,
            });
            continue;
          }
          if (target.InputTransformer) {
            FailedEntries.push({
              TargetId: target.Id,
              ErrorCode: 'NotImplemented',
              ErrorMessage:
                'The sandbox does not implement InputTransformer; use Input, InputPath or neither',
            });
            continue;
          }
          if (!rule.targets.has(target.Id) && rule.targets.size >= 5) {
            FailedEntries.push({
              TargetId: target.Id,
              ErrorCode: 'LimitExceededException',
              ErrorMessage: 'The requested resource exceeds the maximum number allowed (5 targets per rule).',
            });
            continue;
          }
          // PutTargets does not check the queue policy: a missing permission shows only as failed invocations (§2.2).
          rule.targets.set(target.Id, {
            Id: target.Id,
            Arn: target.Arn,
            ...(target.Input !== undefined ? { Input: target.Input } : {}),
            ...(target.InputPath !== undefined ? { InputPath: target.InputPath } : {}),
          });
        }
        return { FailedEntryCount: FailedEntries.length, FailedEntries };
      },
      RemoveTargets: (input): Out<'RemoveTargets'> => {
        const rule = this.#rule(input.Rule, input.EventBusName);
        const FailedEntries: Sdk.RemoveTargetsResultEntry[] = [];
        for (const id of input.Ids) {
          if (!rule.targets.delete(id)) {
            FailedEntries.push({
              TargetId: id,
              ErrorCode: 'ResourceNotFoundException',
              ErrorMessage: `Target ${id} does not exist on rule ${rule.name}.`,
            });
          }
        }
        return { FailedEntryCount: FailedEntries.length, FailedEntries };
      },
      ListTargetsByRule: (input): Out<'ListTargetsByRule'> => {
        const rule = this.#rule(input.Rule, input.EventBusName);
        return { Targets: [...rule.targets.values()].map((t) => ({ ...t })) };
      },
      TagResource: (input) => {
        const rule = this.#ruleByArn(input.ResourceARN);
        for (const tag of input.Tags) rule.tags[tag.Key] = tag.Value;
        return {};
      },
      UntagResource: (input) => {
        const rule = this.#ruleByArn(input.ResourceARN);
        for (const key of input.TagKeys) delete rule.tags[key];
        return {};
      },
      ListTagsForResource: (input): Out<'ListTagsForResource'> => {
        const rule = this.#ruleByArn(input.ResourceARN);
        return { Tags: Object.entries(rule.tags).map(([Key, Value]) => ({ Key, Value })) };
      },
      TestEventPattern: (input): Out<'TestEventPattern'> => {
        const pattern = parsePattern(input.EventPattern);
        let event: unknown;
        try {
          event = JSON.parse(input.Event);
        } catch (error) {
          throw new ServiceError(
            'InvalidEventPatternException',
            `Event is not valid JSON: ${(error as Error).message}`,
          );
        }
        return { Result: matches(pattern, event) };
      },
      PutEvents: (input): Out<'PutEvents'> => {
        const Entries: Sdk.PutEventsResultEntry[] = [];
        let failed = 0;
        for (const entry of input.Entries) {
          const problem = !entry.Source
            ? 'Parameter Source is not valid. Reason: Source is a required argument.'
            : entry.Source.startsWith('aws.')
              ? `Parameter Source is not valid. Reason: Source ${entry.Source} is reserved for AWS services.`
              : !entry.DetailType
                ? 'Parameter DetailType is not valid. Reason: DetailType is a required argument.'
                : !entry.Detail
                  ? 'Parameter Detail is not valid. Reason: Detail is a required argument.'
                  : undefined;
          let detail: unknown;
          if (!problem) {
            try {
              detail = JSON.parse(entry.Detail!);
            } catch {
              detail = undefined;
            }
          }
          if (problem || detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
            failed += 1;
            Entries.push({
              ErrorCode: problem ? 'InvalidArgument' : 'MalformedDetail',
              ErrorMessage: problem ?? 'Detail is malformed.',
            });
            continue;
          }
          if (entry.EventBusName) this.#checkBus(entry.EventBusName);
          const id = randomUUID();
          this.publish({
            version: '0',
            id,
            'detail-type': entry.DetailType!,
            source: entry.Source!,
            account: this.runtime.accountId,
            time: `${(entry.Time ?? new Date()).toISOString().slice(0, 19)}Z`,
            region: this.runtime.region,
            resources: entry.Resources ?? [],
            detail: detail as Record<string, unknown>,
          });
          Entries.push({ EventId: id });
        }
        return { FailedEntryCount: failed, Entries };
      },
    };
  }

  async reset(): Promise<void> {
    this.rules.clear();
    this.#stats.clear();
    this.#ended.clear();
    checkDeliverySettings(this.delivery);
    this.#random = seededRandom(this.delivery.seed);
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
    this.rules.clear();
  }
}

/** The message body for a target: the whole event, or `Input`, or the `InputPath` part (§2.2). */
function body(target: TargetRecord, event: AwsEvent): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath) {
    let value: unknown = event;
    for (const part of target.InputPath.replace(/^\$\.?/, '')
      .split('.')
      .filter(Boolean)) {
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    return typeof value === 'string' ? value : JSON.stringify(value ?? null);
  }
  return JSON.stringify(event);
}
