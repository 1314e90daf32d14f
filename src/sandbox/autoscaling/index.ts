/**
 * AutoScaling subset: virtual auto scaling groups whose instances are real fleet instances (a directory, a port,
 * a process group each). Query protocol, PascalCase members.
 *
 * Internal API (in-process, for CodeDeploy): {@link AutoScalingService.copyGroup},
 * {@link AutoScalingService.instancesOf}, {@link AutoScalingService.deleteGroup},
 * {@link AutoScalingService.attachTargetGroups}, {@link AutoScalingService.useTargetRegistry}.
 *
 * @example
 * const asg = new AutoScalingService(runtime, { fleet });
 * asg.useTargetRegistry(elbv2); // once ELBv2 exists: new instances join the group's target groups
 * await asg.handlers.CreateAutoScalingGroup({ AutoScalingGroupName: 'web', MinSize: 2, MaxSize: 2,
 *   LaunchTemplate: { LaunchTemplateName: 'web' }, TargetGroupARNs: [tgArn] }, ctx);
 * asg.instancesOf('web'); // ['i-0…', 'i-0…']
 */
import type { Fleet } from '../fleet/index.ts';
import type { SandboxRuntime, SandboxService } from '../types.ts';
import { GroupManager } from './groups.ts';
import { autoScalingHandlers } from './handlers.ts';
import { AutoScalingStore, type AutoScalingGroupRecord } from './store.ts';
import type { TargetRegistry } from './target-registry.ts';

export type { TargetRegistry } from './target-registry.ts';

export interface AutoScalingDeps {
  fleet: Fleet;
}

export class AutoScalingService implements SandboxService {
  readonly name = 'autoscaling' as const;
  readonly handlers: ReturnType<typeof autoScalingHandlers>;
  readonly runtime: SandboxRuntime;
  readonly deps: AutoScalingDeps;
  readonly store = new AutoScalingStore();
  readonly groups: GroupManager;

  constructor(runtime: SandboxRuntime, deps: AutoScalingDeps) {
    this.runtime = runtime;
    this.deps = deps;
    this.groups = new GroupManager(runtime, this.store, deps.fleet);
    this.handlers = autoScalingHandlers(this.groups);
  }

  /** ELBv2 is built after AutoScaling; CodeDeploy (built after both) wires it in. */
  useTargetRegistry(registry: TargetRegistry): void {
    this.groups.targets = registry;
  }

  group(name: string): AutoScalingGroupRecord | undefined {
    return this.store.groups.get(name);
  }

  /** In-service instance ids of a group (empty for an unknown group). */
  instancesOf(name: string): string[] {
    const group = this.store.groups.get(name);
    return group ? this.groups.inService(group) : [];
  }

  /** A copy of `sourceName` named `newName`, with as many instances, not registered with any target group yet. */
  copyGroup(sourceName: string, newName: string): Promise<AutoScalingGroupRecord> {
    return this.groups.copy(sourceName, newName);
  }

  /** Sets a group's target groups; with `register`, registers its instances in them. */
  attachTargetGroups(name: string, targetGroupArns: string[], register: boolean): Promise<void> {
    return this.groups.attachTargetGroups(name, targetGroupArns, register);
  }

  /** Forgets a group's target groups (its registrations are left to the caller). */
  detachTargetGroups(name: string): void {
    this.groups.detachTargetGroups(name);
  }

  /** Deletes a group and terminates its instances (ForceDelete); unknown groups are ignored. */
  async deleteGroup(name: string): Promise<void> {
    if (this.store.groups.has(name)) await this.groups.delete(name, true);
  }

  async reset(): Promise<void> {
    await Promise.allSettled([...this.groups.pending]);
    await Promise.all([...this.store.groups.keys()].map((name) => this.deleteGroup(name).catch(() => {})));
    this.store.clear();
    // Every sandbox instance belongs to this service's world: a reset leaves none running.
    await this.deps.fleet.stop();
  }

  async stop(): Promise<void> {
    await this.reset();
  }
}
