/**
 * `AWS::AutoScaling::AutoScalingGroup` on the sandbox's AutoScaling (real fleet instances). `Ref` is the group
 * name. A `CreationPolicy.ResourceSignal` is met when `Count` instances are in service: on AWS the instances'
 * user data sends `cfn-signal` once the CodeDeploy agent runs, and a sandbox instance in service is one whose
 * agent runs. Stack tags reach the instances (`PropagateAtLaunch`, reference §2.8).
 */
import { ServiceError } from '../../protocol/errors.ts';
import { callService, defined } from './call.ts';
import { mergeTags, num, type Props, str, strings } from './props.ts';
import { type ProviderContext, type ResourceProvider, ResourceFailure } from './types.ts';

/** ISO-8601 duration (`PT15M`, `PT1H30M`, `PT300S`) → seconds. */
export function isoDurationSeconds(text: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(text);
  if (!m || (!m[1] && !m[2] && !m[3])) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function groupTags(p: Props, ctx: ProviderContext) {
  const own = Array.isArray(p.Tags) ? (p.Tags as Props[]) : [];
  const propagate = new Map<string, boolean>();
  for (const t of own) {
    const flag = t.PropagateAtLaunch;
    propagate.set(String(t.Key), flag === true || flag === 'true');
  }
  const merged = mergeTags(
    own.map((t) => ({ Key: String(t.Key), Value: String(t.Value ?? '') })),
    ctx.stackTags,
    ctx.systemTags,
  );
  // Stack-level tags reach the instances regardless of PropagateAtLaunch (reference §2.8).
  return merged.map((t) => ({ ...t, PropagateAtLaunch: propagate.get(t.Key) ?? true }));
}

/** Waits for `CreationPolicy.ResourceSignal.Count` instances in service, within its `Timeout` (scaled). */
async function awaitSignals(name: string, ctx: ProviderContext): Promise<void> {
  const signal = ctx.creationPolicy?.ResourceSignal as Props | undefined;
  if (!signal) return;
  const count = num(signal, 'Count', ctx.logicalId) ?? 1;
  const timeoutText = str(signal, 'Timeout', ctx.logicalId) ?? 'PT5M';
  const timeout = isoDurationSeconds(timeoutText);
  if (timeout === undefined) {
    throw new ResourceFailure(
      `Invalid CreationPolicy Timeout ${timeoutText}: an ISO-8601 duration such as PT15M, at most PT12H`,
    );
  }
  const deadline = Date.now() + ctx.clock.scaled(timeout);
  const step = Math.max(20, Math.min(ctx.clock.scaled(5), 500));
  for (;;) {
    if (ctx.services.autoscaling.instancesOf(name).length >= count) return;
    if (Date.now() >= deadline) {
      throw new ResourceFailure(
        `Failed to receive ${count} resource signal(s) within the specified duration`,
      );
    }
    await ctx.clock.sleep(step, ctx.signal);
  }
}

const autoScalingGroup: ResourceProvider = {
  type: 'AWS::AutoScaling::AutoScalingGroup',
  recordedOnly: false,
  attributes: [],
  createSeconds: 60,
  deleteSeconds: 60,
  async create(p, ctx) {
    const name = str(p, 'AutoScalingGroupName', ctx.logicalId) ?? ctx.physicalName(255);
    const lt = p.LaunchTemplate as Props | undefined;
    const subnets = strings(p, 'VPCZoneIdentifier', ctx.logicalId);
    await callService(
      ctx.services.autoscaling,
      'CreateAutoScalingGroup',
      defined({
        AutoScalingGroupName: name,
        MinSize: num(p, 'MinSize', ctx.logicalId, true),
        MaxSize: num(p, 'MaxSize', ctx.logicalId, true),
        DesiredCapacity: num(p, 'DesiredCapacity', ctx.logicalId),
        LaunchTemplate: lt
          ? defined({
              LaunchTemplateId: str(lt, 'LaunchTemplateId', ctx.logicalId),
              LaunchTemplateName: str(lt, 'LaunchTemplateName', ctx.logicalId),
              Version: str(lt, 'Version', ctx.logicalId),
            })
          : undefined,
        LaunchConfigurationName: str(p, 'LaunchConfigurationName', ctx.logicalId),
        MixedInstancesPolicy: p.MixedInstancesPolicy,
        InstanceId: str(p, 'InstanceId', ctx.logicalId),
        DefaultCooldown: num(p, 'Cooldown', ctx.logicalId),
        AvailabilityZones: strings(p, 'AvailabilityZones', ctx.logicalId),
        // A list in the template, a comma-separated string in the API.
        VPCZoneIdentifier: subnets?.join(','),
        HealthCheckType: str(p, 'HealthCheckType', ctx.logicalId),
        HealthCheckGracePeriod: num(p, 'HealthCheckGracePeriod', ctx.logicalId),
        TargetGroupARNs: strings(p, 'TargetGroupARNs', ctx.logicalId),
        TerminationPolicies: strings(p, 'TerminationPolicies', ctx.logicalId),
        Tags: groupTags(p, ctx),
      }),
      ctx,
    );
    return { physicalId: name, attributes: {} };
  },
  stabilize: (created, ctx) => awaitSignals(created.physicalId, ctx),
  async delete(r, ctx) {
    // A group CodeDeploy blue/green already replaced and deleted is gone: deleted (reference §2.7).
    if (!ctx.services.autoscaling.group(r.physicalId)) return;
    try {
      await callService(
        ctx.services.autoscaling,
        'DeleteAutoScalingGroup',
        { AutoScalingGroupName: r.physicalId, ForceDelete: true },
        ctx,
      );
    } catch (error) {
      if (!(error instanceof ServiceError && /not found/.test(error.message))) throw error;
    }
  },
};

export const autoScalingProviders: readonly ResourceProvider[] = [autoScalingGroup];
