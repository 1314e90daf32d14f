/**
 * Matching the sandbox's event log against what a client observed: for every state change (pipeline execution,
 * stage, action, deployment status), the first response at or after it that showed that state *or a later one*
 * of the same entity. A state that came and went between two polls is thus "noticed" when its successor is
 * (the client learnt that it had happened); a state of an entity the client never asks about stays unobserved.
 *
 * @example
 * const detections = detect(sandbox.runtime.events.since(0), recorder.observations, (e) => e.executionId === ours);
 */
import type { SandboxEvent } from '../../src/sandbox/events.ts';
import { entityKey, type Observation } from './recorder.ts';

/** Deployment statuses as the API shows them (the log also has internal markers such as BlueTerminated). */
const DEPLOYMENT_STATUSES = new Set([
  'Created',
  'Queued',
  'InProgress',
  'Baking',
  'Ready',
  'Succeeded',
  'Failed',
  'Stopped',
]);

export interface Detection {
  event: SandboxEvent;
  key: string;
  /** Epoch ms of the first response showing it (or a later state); absent when never seen. */
  detectedAt?: number;
  latencyMs?: number;
}

/** The entity key of an event, or undefined for events no API status mirrors. */
export function keyOf(event: SandboxEvent): string | undefined {
  switch (event.kind) {
    case 'pipelineExecution':
      return event.executionId ? entityKey.execution(event.executionId) : undefined;
    case 'stage':
      return event.executionId && event.stage ? entityKey.stage(event.executionId, event.stage) : undefined;
    case 'action':
      return event.executionId && event.stage && event.action
        ? entityKey.action(event.executionId, event.stage, event.action)
        : undefined;
    case 'deployment':
      return event.deploymentId && DEPLOYMENT_STATUSES.has(event.status)
        ? entityKey.deployment(event.deploymentId)
        : undefined;
    default:
      return undefined;
  }
}

/** Detections of the `events` kept by `include`, oldest first. */
export function detect(
  events: readonly SandboxEvent[],
  observations: readonly Observation[],
  include: (event: SandboxEvent) => boolean,
): Detection[] {
  const byKey = new Map<string, Detection[]>();
  const all: Detection[] = [];
  for (const event of events) {
    const key = keyOf(event);
    if (!key || !include(event)) continue;
    const d: Detection = { event, key };
    all.push(d);
    const list = byKey.get(key) ?? [];
    list.push(d);
    byKey.set(key, list);
  }
  const sorted = [...observations].sort((a, b) => a.at - b.at);
  for (const obs of sorted) {
    const list = byKey.get(obs.key);
    if (!list) continue;
    // The newest event of this entity with the observed status that had happened by the time of the answer.
    let upTo = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      const d = list[i] as Detection;
      if (d.event.status === obs.status && d.event.time <= obs.at) {
        upTo = i;
        break;
      }
    }
    for (let i = 0; i <= upTo; i++) {
      const d = list[i] as Detection;
      if (d.detectedAt === undefined) {
        d.detectedAt = obs.at;
        d.latencyMs = obs.at - d.event.time;
      }
    }
  }
  return all;
}
