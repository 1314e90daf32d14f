/**
 * Per-target lifecycle events of a CodeDeploy deployment (aws-semantics §3.5, §3.6).
 */
import {
  BatchGetDeploymentInstancesCommand,
  BatchGetDeploymentTargetsCommand,
  type CodeDeployClient,
  type LifecycleEvent,
  ListDeploymentInstancesCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';

export interface LifecycleEventInfo {
  name: string;
  status: string;
  startTime?: Date | undefined;
  endTime?: Date | undefined;
  /** Only for failures (`ScriptFailed`, `ScriptTimedOut`, ...). */
  errorCode?: string | undefined;
  scriptName?: string | undefined;
  message?: string | undefined;
  /** Up to the last 4 KB of the hook's log. */
  logTail?: string | undefined;
}

export interface TargetLifecycle {
  /** Instance id for EC2/on-premises deployments. */
  targetId: string;
  status: string;
  /** `Blue` (original) or `Green` (replacement) for blue/green deployments. */
  label?: string | undefined;
  lastUpdatedAt?: Date | undefined;
  events: LifecycleEventInfo[];
}

function events(list: LifecycleEvent[] | undefined): LifecycleEventInfo[] {
  return (list ?? []).map((e) => {
    const failed = e.diagnostics && e.diagnostics.errorCode !== 'Success';
    return {
      name: e.lifecycleEventName ?? '?',
      status: e.status ?? 'Unknown',
      startTime: e.startTime,
      endTime: e.endTime,
      ...(failed
        ? {
            errorCode: e.diagnostics?.errorCode,
            scriptName: e.diagnostics?.scriptName,
            message: e.diagnostics?.message,
            logTail: e.diagnostics?.logTail,
          }
        : {}),
    };
  });
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

const NOT_STARTED = new Set(['DeploymentNotStartedException']);
const FALL_BACK = new Set([
  'UnknownOperationException',
  'UnsupportedActionForDeploymentTypeException',
  'InvalidOperationException',
]);

/**
 * Every target of the deployment with its lifecycle events, via ListDeploymentTargets +
 * BatchGetDeploymentTargets (25 per call), falling back to the older ListDeploymentInstances +
 * BatchGetDeploymentInstances. Empty while the deployment has not started (`DeploymentNotStartedException`).
 *
 * @example
 * ```ts
 * for (const t of await lifecycleEvents(codedeploy, 'd-ABCDEF123'))
 *   console.log(t.targetId, t.status, t.events.map((e) => `${e.name}:${e.status}`).join(' '));
 * ```
 */
export async function lifecycleEvents(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<TargetLifecycle[]> {
  try {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId, nextToken }));
      ids.push(...(out.targetIds ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    const targets: TargetLifecycle[] = [];
    for (const batch of chunks(ids, 25)) {
      const out = await codedeploy.send(
        new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: batch }),
      );
      for (const t of out.deploymentTargets ?? []) {
        const target = t.instanceTarget;
        if (!target) continue;
        targets.push({
          targetId: target.targetId ?? '?',
          status: target.status ?? 'Unknown',
          label: target.instanceLabel,
          lastUpdatedAt: target.lastUpdatedAt,
          events: events(target.lifecycleEvents),
        });
      }
    }
    return targets;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (NOT_STARTED.has(name)) return [];
    if (!FALL_BACK.has(name)) throw error;
    return legacyInstances(codedeploy, deploymentId);
  }
}

async function legacyInstances(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<TargetLifecycle[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await codedeploy.send(new ListDeploymentInstancesCommand({ deploymentId, nextToken }));
    ids.push(...(out.instancesList ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  const targets: TargetLifecycle[] = [];
  for (const batch of chunks(ids, 25)) {
    const out = await codedeploy.send(
      new BatchGetDeploymentInstancesCommand({ deploymentId, instanceIds: batch }),
    );
    for (const i of out.instancesSummary ?? []) {
      targets.push({
        targetId: i.instanceId?.split('/').at(-1) ?? '?',
        status: i.status ?? 'Unknown',
        label: i.instanceType,
        lastUpdatedAt: i.lastUpdatedAt,
        events: events(i.lifecycleEvents),
      });
    }
  }
  return targets;
}

/** The event a target is at: the first one not finished, else its failed one, else the last. */
export function currentEvent(target: TargetLifecycle): LifecycleEventInfo | undefined {
  return (
    target.events.find((e) => e.status === 'InProgress') ??
    target.events.find((e) => e.status === 'Failed') ??
    target.events.find((e) => e.status === 'Pending') ??
    target.events.at(-1)
  );
}
