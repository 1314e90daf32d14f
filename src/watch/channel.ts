/**
 * The run's own event channel: an EventBridge rule on the default bus matching its pipeline and deployment group
 * (aws-semantics-events-auth-regions §1.8), targeting an SQS queue of its own whose policy lets that rule send
 * (§2.5), long-polled (§3.5). Both are tagged with the run and recorded in the ledger before anything else
 * happens, so teardown removes them (rule first: RemoveTargets, DeleteRule; then DeleteQueue, §2.4).
 *
 * Messages are deleted once read and de-duplicated by event id (§1.7: at least once, sometimes twice); an event is
 * never believed, only handed to the waits, which read the resource again.
 *
 * @example
 * const channel = await openChannel({ clients, ledger, names, target, onEvent: (e) => watch.notify(e) });
 * await channel.close(); // stops the long poll; the ledger deletes rule and queue at teardown
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteRuleCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { HarnessError } from '../errors.ts';
import { RUN_TAG } from '../stack/names.ts';
import type { Ledger } from '../teardown/ledger.ts';
import { parseEvent, type WatchedEvent } from './topics.ts';

/** What the rule matches: one pipeline, and one deployment group of one application (both optional). */
export interface ChannelTarget {
  readonly pipelineName: string;
  readonly applicationName?: string | undefined;
  readonly deploymentGroupName?: string | undefined;
}

export interface ChannelOptions {
  readonly events: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  /** The rule's and the queue's name: `cph-<run id>-events`. */
  readonly name: string;
  readonly runId: string;
  readonly target: ChannelTarget;
  /** Each event once (duplicates dropped), in arrival order. */
  readonly onEvent: (event: WatchedEvent) => void;
  /** The long poll failed for good (queue gone, access denied, repeated errors): events stop here. */
  readonly onLost: (reason: string, error: unknown) => void;
  /** Seconds one ReceiveMessage waits for a message (1..20). @default 20 */
  readonly waitSeconds?: number;
}

/** Counts of what the channel received. */
export interface ChannelStats {
  /** Messages received (duplicates included). */
  received: number;
  /** Messages that repeated an event already received (same id), dropped. */
  duplicates: number;
  /** ReceiveMessage calls made. */
  receives: number;
}

/** The rule's pattern: `$or` of the pipeline's events and the deployment group's (§1.8, by name). */
export function rulePattern(target: ChannelTarget): Record<string, unknown> {
  const pipeline = { source: ['aws.codepipeline'], detail: { pipeline: [target.pipelineName] } };
  if (!target.applicationName || !target.deploymentGroupName) return pipeline;
  return {
    $or: [
      pipeline,
      {
        source: ['aws.codedeploy'],
        detail: { application: [target.applicationName], deploymentGroup: [target.deploymentGroupName] },
      },
    ],
  };
}

/** The queue policy EventBridge needs: this rule, and only it, may send to this queue (§2.5). */
export function queuePolicy(queueArn: string, ruleArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: `${queueArn}/SQSDefaultPolicy`,
    Statement: [
      {
        Sid: 'AllowTheRunEventBridgeRule',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      },
    ],
  });
}

/** A channel that is open: receiving until {@link Channel.close}. */
export interface Channel {
  readonly ruleName: string;
  readonly queueUrl: string;
  readonly stats: ChannelStats;
  /** Points the rule at another target (PutRule replaces the pattern). */
  retarget(target: ChannelTarget): Promise<void>;
  /** Stops the long poll (rule and queue stay until teardown). Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates queue, rule, policy and target (each recorded in the ledger as soon as it exists), then starts the long
 * poll. Throws the AWS error of the step that failed (an access denial among them): the caller falls back to
 * polling; what was created stays in the ledger and is deleted at teardown.
 */
export async function openChannel(options: ChannelOptions): Promise<Channel> {
  const { events, sqs, ledger, name, runId } = options;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      // Events are read within seconds; keep nothing for long, and hide a message 30 s while it is handled.
      Attributes: { MessageRetentionPeriod: '3600', VisibilityTimeout: '30' },
      tags: { [RUN_TAG]: runId },
    }),
  );
  const queueUrl = queue.QueueUrl;
  if (!queueUrl) throw new HarnessError(`SQS CreateQueue ${name} answered without a QueueUrl`);
  ledger.add({
    kind: 'sqs-queue',
    id: name,
    describe: `SQS queue ${name} (run events)`,
    delete: async (signal) => {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }), { abortSignal: signal });
    },
  });
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes.Attributes?.QueueArn;
  if (!queueArn) throw new HarnessError(`SQS GetQueueAttributes of ${name} answered without its QueueArn`);

  const putRule = (target: ChannelTarget) =>
    events.send(
      new PutRuleCommand({
        Name: name,
        EventPattern: JSON.stringify(rulePattern(target)),
        State: 'ENABLED',
        Description: `codepipeline-harness run ${runId}: state changes of pipeline ${target.pipelineName}`,
        Tags: [{ Key: RUN_TAG, Value: runId }],
      }),
    );
  const rule = await putRule(options.target);
  const ruleArn = rule.RuleArn;
  if (!ruleArn) throw new HarnessError(`EventBridge PutRule ${name} answered without its RuleArn`);
  ledger.add({
    kind: 'events-rule',
    id: name,
    describe: `EventBridge rule ${name} (run events)`,
    delete: async (signal) => {
      // A rule with targets cannot be deleted (§2.4); an unknown rule is "already gone".
      await events
        .send(new RemoveTargetsCommand({ Rule: name, Ids: ['run-queue'] }), { abortSignal: signal })
        .catch((error: unknown) => {
          if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
        });
      await events.send(new DeleteRuleCommand({ Name: name }), { abortSignal: signal });
    },
  });
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: { Policy: queuePolicy(queueArn, ruleArn) },
    }),
  );
  const put = await events.send(
    new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'run-queue', Arn: queueArn }] }),
  );
  if ((put.FailedEntryCount ?? 0) > 0) {
    const failed = put.FailedEntries?.[0];
    throw new HarnessError(
      `EventBridge PutTargets on rule ${name} failed for the run's queue: ${failed?.ErrorCode ?? '?'}: ${failed?.ErrorMessage ?? ''}`,
    );
  }
  return startReceiving(options, queueUrl, (target) => putRule(target).then(() => undefined));
}

function startReceiving(
  options: ChannelOptions,
  queueUrl: string,
  putRule: (target: ChannelTarget) => Promise<void>,
): Channel {
  const { sqs, name } = options;
  const stats: ChannelStats = { received: 0, duplicates: 0, receives: 0 };
  const seen = new Set<string>();
  const stop = new AbortController();
  const waitSeconds = options.waitSeconds ?? 20;

  const loop = async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      try {
        stats.receives += 1;
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            WaitTimeSeconds: waitSeconds,
            MaxNumberOfMessages: 10,
          }),
          { abortSignal: stop.signal },
        );
        failures = 0;
        for (const message of out.Messages ?? []) {
          stats.received += 1;
          // Deleted whatever it holds: a message left in the queue would come back after its visibility timeout.
          if (message.ReceiptHandle) {
            await sqs.send(
              new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
              {
                abortSignal: stop.signal,
              },
            );
          }
          const event = parseEvent(message.Body);
          if (!event) continue;
          if (seen.has(event.id)) {
            stats.duplicates += 1;
            continue;
          }
          seen.add(event.id);
          options.onEvent(event);
        }
      } catch (error) {
        if (stop.signal.aborted) return;
        failures += 1;
        const gone = /QueueDoesNotExist|NonExistentQueue/.test((error as { name?: string }).name ?? '');
        if (gone || failures >= 5 || /AccessDenied/.test((error as { name?: string }).name ?? '')) {
          options.onLost(
            gone
              ? `the run's SQS queue ${name} is gone`
              : `receiving from SQS queue ${name} failed ${failures} time(s): ${(error as Error).message}`,
            error,
          );
          return;
        }
        // A transient failure the client's retries did not absorb: try again shortly.
        await sleep(500 * failures, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
  };
  const running = loop();
  return {
    ruleName: name,
    queueUrl,
    stats,
    retarget: putRule,
    close: async () => {
      stop.abort(new Error('the watch was closed'));
      await running;
    },
  };
}
