/**
 * What `sweep` does about a killed run's event channel: its EventBridge rule and SQS queue, both named
 * `cph-<run id>-<6 hex>-events` (one per watch, see `Watch`), found by name prefix and kept only when the name is
 * exactly of that run (so `sweep --run ci` never touches run `ci-2`'s channel), then deleted as the run's own
 * teardown deletes them: the rule's targets, the rule, the queue.
 */
import {
  DeleteRuleCommand,
  type EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { DeleteQueueCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Leftover } from '../teardown/leaks.ts';

/** True for the name of a watch channel of exactly run `runId`. */
export function isChannelName(name: string, runId: string): boolean {
  return name.startsWith(`cph-${runId}-`) && /^[0-9a-f]{6}-events$/.test(name.slice(`cph-${runId}-`.length));
}

const notFound = (error: unknown): undefined => {
  if (/ResourceNotFound|QueueDoesNotExist|NonExistentQueue/.test((error as { name?: string }).name ?? ''))
    return undefined;
  throw error;
};

/**
 * The rules and queues of run `runId`'s event channels that still exist (queues by URL, rules by name).
 *
 * @example
 * ```ts
 * const left = await channelsOfRun({ events, sqs }, 'ci'); // [{ kind: 'events-rule', id: 'cph-ci-3fa9c1-events', … }]
 * ```
 */
export async function channelsOfRun(
  clients: { events?: EventBridgeClient; sqs?: SQSClient },
  runId: string,
  signal?: AbortSignal,
): Promise<Leftover[]> {
  const { events, sqs } = clients;
  const found: Leftover[] = [];
  const prefix = `cph-${runId}-`;
  if (events) {
    let token: string | undefined;
    do {
      const page = await events.send(new ListRulesCommand({ NamePrefix: prefix, NextToken: token }), {
        abortSignal: signal,
      });
      for (const rule of page.Rules ?? [])
        if (rule.Name && isChannelName(rule.Name, runId))
          found.push({ kind: 'events-rule', id: rule.Name, reason: 'name' });
      token = page.NextToken;
    } while (token);
  }
  if (sqs) {
    let token: string | undefined;
    do {
      const page = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, NextToken: token }), {
        abortSignal: signal,
      });
      for (const url of page.QueueUrls ?? []) {
        const name = url.slice(url.lastIndexOf('/') + 1);
        if (isChannelName(name, runId)) found.push({ kind: 'sqs-queue', id: url, reason: 'name' });
      }
      token = page.NextToken;
    } while (token);
  }
  return found;
}

/**
 * Deletes one channel leftover: a rule (its targets first: a rule with targets cannot be deleted) or a queue (by
 * URL). One already gone counts as deleted.
 */
export async function deleteChannelPart(
  clients: { events?: EventBridgeClient; sqs?: SQSClient },
  item: Leftover,
  signal: AbortSignal,
): Promise<void> {
  if (item.kind === 'events-rule' && clients.events) {
    const events = clients.events;
    const targets = await events
      .send(new ListTargetsByRuleCommand({ Rule: item.id }), { abortSignal: signal })
      .catch(notFound);
    if (!targets) return;
    const ids = (targets.Targets ?? []).flatMap((t) => (t.Id ? [t.Id] : []));
    if (ids.length > 0) {
      await events
        .send(new RemoveTargetsCommand({ Rule: item.id, Ids: ids }), { abortSignal: signal })
        .catch(notFound);
    }
    await events.send(new DeleteRuleCommand({ Name: item.id }), { abortSignal: signal }).catch(notFound);
  } else if (item.kind === 'sqs-queue' && clients.sqs) {
    await clients.sqs
      .send(new DeleteQueueCommand({ QueueUrl: item.id }), { abortSignal: signal })
      .catch(notFound);
  }
}
