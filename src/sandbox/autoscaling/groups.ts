/**
 * The rules of the AutoScaling subset: creating a group launches `DesiredCapacity` fleet instances (and registers
 * them with the group's target groups), updating scales out or in, deleting terminates. Errors carry the
 * AutoScaling wire codes (`AlreadyExists`, `ValidationError`, `ResourceInUse`, `ScalingActivityInProgress`).
 */
import { randomUUID } from 'node:crypto';
import type { Fleet } from '../fleet/index.ts';
import { ServiceError } from '../protocol/errors.ts';
import type { SandboxRuntime } from '../types.ts';
import type { AsgInstance, AsgTag, AutoScalingGroupRecord, AutoScalingStore } from './store.ts';
import type { TargetRegistry } from './target-registry.ts';

/** Instances one sandbox group may hold: each is a directory, a port and usually a Node process. */
export const SANDBOX_MAX_GROUP_SIZE = 20;

export interface GroupSpec {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity?: number;
  launchConfigurationName?: string;
  launchTemplate?: AutoScalingGroupRecord['launchTemplate'];
  mixedInstancesPolicy?: AutoScalingGroupRecord['mixedInstancesPolicy'];
  instanceId?: string;
  defaultCooldown?: number;
  availabilityZones?: string[];
  vpcZoneIdentifier?: string;
  healthCheckType?: string;
  healthCheckGracePeriod?: number;
  targetGroupArns?: string[];
  terminationPolicies?: string[];
  newInstancesProtectedFromScaleIn?: boolean;
  tags?: AsgTag[];
}

export function validation(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

export function notFound(name: string): ServiceError {
  // The message AWS gives for an unknown group on Update/Delete.
  return validation(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
}

function checkBounds(min: number, max: number, desired: number): void {
  if (max < min) throw validation(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
  if (desired < min || desired > max) {
    throw validation(
      `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
    );
  }
  if (max > SANDBOX_MAX_GROUP_SIZE) {
    throw new ServiceError(
      'LimitExceeded',
      `MaxSize ${max} is above the sandbox's limit of ${SANDBOX_MAX_GROUP_SIZE} instances per group; use a smaller MaxSize`,
    );
  }
}

/**
 * @example
 * const groups = new GroupManager(runtime, new AutoScalingStore(), fleet);
 * await groups.create({ name: 'web', minSize: 2, maxSize: 2, launchConfigurationName: 'lc' }); // 2 running instances
 * await groups.update('web', { desiredCapacity: 1 }); // one is terminated
 * await groups.delete('web', true);
 */
/**
 * CodeDeploy's launch lifecycle hook on a group (the `hook` of a deployment group's `autoScalingGroups`): instances a
 * scale-out launches wait in `Pending:Wait` until CodeDeploy deployed the group's last successful revision to them;
 * then they go InService (and join the target groups), or are terminated when that deployment failed (ABANDON).
 */
export interface LaunchHook {
  /** True when instances new to the group must get a deployment first. */
  wants(groupName: string): boolean;
  /** Deploys to the new instances; resolves true to put them in service. */
  run(groupName: string, instanceIds: string[]): Promise<boolean>;
}

export class GroupManager {
  readonly runtime: SandboxRuntime;
  /** Set by CodeDeploy. */
  launchHook?: LaunchHook;
  /** Lifecycle-hook waits under way (reset and stop wait for them). */
  readonly pending = new Set<Promise<void>>();
  readonly store: AutoScalingStore;
  readonly fleet: Fleet;
  /** Set once ELBv2 is built (it comes after AutoScaling); without it target groups are stored only. */
  targets?: TargetRegistry;

  constructor(runtime: SandboxRuntime, store: AutoScalingStore, fleet: Fleet) {
    this.runtime = runtime;
    this.store = store;
    this.fleet = fleet;
  }

  require(name: string): AutoScalingGroupRecord {
    const group = this.store.groups.get(name);
    if (!group) throw notFound(name);
    return group;
  }

  /** CreateAutoScalingGroup: validates, stores, launches `DesiredCapacity` (default `MinSize`) instances. */
  async create(
    spec: GroupSpec,
    options: { registerTargets?: boolean } = {},
  ): Promise<AutoScalingGroupRecord> {
    if (this.store.groups.has(spec.name)) {
      throw new ServiceError(
        'AlreadyExists',
        `AutoScalingGroup by this name already exists - A group with the name ${spec.name} already exists`,
      );
    }
    if (
      !spec.launchTemplate &&
      !spec.launchConfigurationName &&
      !spec.instanceId &&
      !spec.mixedInstancesPolicy
    ) {
      throw validation(
        'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.',
      );
    }
    const desired = spec.desiredCapacity ?? spec.minSize;
    checkBounds(spec.minSize, spec.maxSize, desired);
    const { accountId, region } = this.runtime;
    const group: AutoScalingGroupRecord = {
      name: spec.name,
      arn: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${spec.name}`,
      launchConfigurationName: spec.launchConfigurationName,
      launchTemplate: spec.launchTemplate,
      mixedInstancesPolicy: spec.mixedInstancesPolicy,
      minSize: spec.minSize,
      maxSize: spec.maxSize,
      desiredCapacity: desired,
      defaultCooldown: spec.defaultCooldown ?? 300,
      availabilityZones: spec.availabilityZones?.length ? spec.availabilityZones : [`${region}a`],
      vpcZoneIdentifier: spec.vpcZoneIdentifier,
      healthCheckType: spec.healthCheckType ?? 'EC2',
      healthCheckGracePeriod: spec.healthCheckGracePeriod ?? 0,
      targetGroupArns: [...(spec.targetGroupArns ?? [])],
      terminationPolicies: spec.terminationPolicies?.length ? spec.terminationPolicies : ['Default'],
      newInstancesProtectedFromScaleIn: spec.newInstancesProtectedFromScaleIn ?? false,
      tags: (spec.tags ?? []).map((t) => ({ ...t })),
      createdTime: this.runtime.clock.now(),
      instances: new Map(),
      activities: 0,
    };
    this.store.groups.set(group.name, group);
    this.#event(group.name, 'created', `desired ${desired}`);
    await this.#scaleTo(group, desired, options.registerTargets ?? true);
    return group;
  }

  /** UpdateAutoScalingGroup: new bounds, then scale out or in to the desired capacity. */
  async update(
    name: string,
    change: { minSize?: number; maxSize?: number; desiredCapacity?: number } & Partial<GroupSpec>,
  ) {
    const group = this.require(name);
    const min = change.minSize ?? group.minSize;
    const max = change.maxSize ?? group.maxSize;
    // As on AWS, a new MinSize above the current desired capacity raises it (and MaxSize below lowers it).
    let desired = change.desiredCapacity ?? group.desiredCapacity;
    if (change.desiredCapacity === undefined) desired = Math.min(Math.max(desired, min), max);
    checkBounds(min, max, desired);
    group.minSize = min;
    group.maxSize = max;
    group.desiredCapacity = desired;
    if (change.launchTemplate) group.launchTemplate = change.launchTemplate;
    if (change.launchConfigurationName) group.launchConfigurationName = change.launchConfigurationName;
    if (change.healthCheckType) group.healthCheckType = change.healthCheckType;
    if (change.healthCheckGracePeriod !== undefined)
      group.healthCheckGracePeriod = change.healthCheckGracePeriod;
    if (change.defaultCooldown !== undefined) group.defaultCooldown = change.defaultCooldown;
    if (change.availabilityZones?.length) group.availabilityZones = change.availabilityZones;
    if (change.vpcZoneIdentifier !== undefined) group.vpcZoneIdentifier = change.vpcZoneIdentifier;
    this.#event(name, 'updated', `desired ${desired}`);
    await this.#scaleTo(group, desired, true, true);
  }

  /**
   * DeleteAutoScalingGroup. Without `force`, a group that still has instances is `ResourceInUse` and one with
   * launches or terminations under way is `ScalingActivityInProgress`, as on AWS.
   */
  async delete(name: string, force: boolean): Promise<void> {
    const group = this.require(name);
    if (!force && group.activities > 0) {
      throw new ServiceError(
        'ScalingActivityInProgress',
        'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.',
      );
    }
    if (!force && group.instances.size > 0) {
      throw new ServiceError(
        'ResourceInUse',
        'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
      );
    }
    group.status = 'Delete in progress';
    this.#event(name, 'deleting');
    await this.#terminate(group, [...group.instances.keys()]);
    if (this.store.groups.get(name) === group) this.store.groups.delete(name);
    this.#event(name, 'deleted');
  }

  /**
   * CodeDeploy's COPY_AUTO_SCALING_GROUP: a new group with the source's configuration, sized to the source's
   * in-service instances. Its target groups are remembered but the new instances are NOT registered: CodeDeploy
   * registers them itself at AllowTraffic (call {@link attachTargetGroups} after the reroute).
   */
  async copy(sourceName: string, newName: string): Promise<AutoScalingGroupRecord> {
    const source = this.require(sourceName);
    const size = [...source.instances.values()].filter((i) => i.lifecycleState === 'InService').length;
    return this.create(
      {
        name: newName,
        minSize: Math.min(source.minSize, size),
        maxSize: Math.max(source.maxSize, size),
        desiredCapacity: size,
        launchConfigurationName: source.launchConfigurationName,
        launchTemplate: source.launchTemplate,
        mixedInstancesPolicy: source.mixedInstancesPolicy,
        defaultCooldown: source.defaultCooldown,
        availabilityZones: source.availabilityZones,
        vpcZoneIdentifier: source.vpcZoneIdentifier,
        healthCheckType: source.healthCheckType,
        healthCheckGracePeriod: source.healthCheckGracePeriod,
        targetGroupArns: source.targetGroupArns,
        terminationPolicies: source.terminationPolicies,
        newInstancesProtectedFromScaleIn: source.newInstancesProtectedFromScaleIn,
        tags: source.tags,
      },
      { registerTargets: false },
    );
  }

  /** Sets the group's target groups; with `register`, registers its in-service instances in them. */
  async attachTargetGroups(name: string, arns: string[], register: boolean): Promise<void> {
    const group = this.require(name);
    group.targetGroupArns = [...arns];
    if (register) for (const id of this.inService(group)) await this.#register(group, id);
  }

  /** Forgets the group's target groups without touching registrations (KEEP_ALIVE originals stay as they are). */
  detachTargetGroups(name: string): void {
    const group = this.store.groups.get(name);
    if (group) group.targetGroupArns = [];
  }

  inService(group: AutoScalingGroupRecord): string[] {
    return [...group.instances.values()]
      .filter((i) => i.lifecycleState === 'InService')
      .map((i) => i.instanceId);
  }

  async #scaleTo(
    group: AutoScalingGroupRecord,
    desired: number,
    register: boolean,
    hooked = false,
  ): Promise<void> {
    const live = [...group.instances.values()].filter(
      (i) =>
        i.lifecycleState === 'Pending' ||
        i.lifecycleState === 'Pending:Wait' ||
        i.lifecycleState === 'InService',
    );
    if (live.length < desired) {
      const wait = hooked && this.launchHook?.wants(group.name) === true;
      const launched = await Promise.all(
        Array.from({ length: desired - live.length }, () => this.#launch(group, register, wait)),
      );
      const waiting = launched.filter(
        (r): r is AsgInstance => r !== undefined && r.lifecycleState === 'Pending:Wait',
      );
      if (waiting.length > 0) this.#awaitLaunchHook(group, waiting, register);
    } else if (live.length > desired) {
      // Default termination policy, simplified: the newest instances go first, so long-lived ones keep serving.
      const victims = live.slice(desired).map((i) => i.instanceId);
      await this.#terminate(group, victims);
    }
  }

  /** Runs CodeDeploy's launch hook in the background (AWS answers UpdateAutoScalingGroup before it completes). */
  #awaitLaunchHook(group: AutoScalingGroupRecord, waiting: AsgInstance[], register: boolean): void {
    const hook = this.launchHook;
    if (!hook) return;
    group.activities += 1;
    const ids = waiting.map((r) => r.instanceId);
    const work = hook
      .run(group.name, ids)
      .catch(() => false)
      .then(async (ok) => {
        const still = waiting.filter(
          (r) => group.instances.get(r.instanceId) === r && r.lifecycleState === 'Pending:Wait',
        );
        if (!ok) {
          await this.#terminate(
            group,
            still.map((r) => r.instanceId),
          );
          return;
        }
        for (const r of still) {
          r.lifecycleState = 'InService';
          this.#event(group.name, 'InService', r.instanceId);
          if (register) await this.#register(group, r.instanceId);
        }
      })
      .catch(() => {})
      .finally(() => {
        group.activities -= 1;
        this.pending.delete(work);
      });
    this.pending.add(work);
  }

  async #launch(
    group: AutoScalingGroupRecord,
    register: boolean,
    wait = false,
  ): Promise<AsgInstance | undefined> {
    group.activities += 1;
    try {
      const instance = await this.fleet.launch();
      const zones = group.availabilityZones;
      const record: AsgInstance = {
        instanceId: instance.instanceId,
        availabilityZone: zones[group.instances.size % zones.length] ?? `${this.runtime.region}a`,
        lifecycleState: 'Pending',
        healthStatus: 'Healthy',
        launchedAt: instance.launchedAt,
      };
      if (this.store.groups.get(group.name) !== group) {
        await this.fleet.terminate(instance.instanceId); // the group went away while launching
        return undefined;
      }
      group.instances.set(record.instanceId, record);
      if (wait) {
        record.lifecycleState = 'Pending:Wait';
        this.#event(group.name, 'Pending:Wait', record.instanceId);
        return record;
      }
      record.lifecycleState = 'InService';
      this.#event(group.name, 'InService', record.instanceId);
      if (register) await this.#register(group, record.instanceId);
      return record;
    } finally {
      group.activities -= 1;
    }
  }

  async #register(group: AutoScalingGroupRecord, id: string): Promise<void> {
    if (!this.targets) return;
    for (const arn of group.targetGroupArns) await this.targets.registerTargets(arn, [{ Id: id }]);
  }

  async #terminate(group: AutoScalingGroupRecord, ids: string[]): Promise<void> {
    group.activities += 1;
    try {
      await Promise.all(
        ids.map(async (id) => {
          const record = group.instances.get(id);
          if (record) record.lifecycleState = 'Terminating';
          if (this.targets) {
            for (const arn of group.targetGroupArns) {
              try {
                await this.targets.deregisterTargets(arn, [{ Id: id }]);
              } catch {
                // The target group may be gone already; the instance is terminated either way.
              }
            }
          }
          await this.fleet.terminate(id);
          group.instances.delete(id);
          this.#event(group.name, 'Terminated', id);
        }),
      );
    } finally {
      group.activities -= 1;
    }
  }

  #event(group: string, status: string, detail?: string): void {
    this.runtime.events.append({
      service: 'autoscaling',
      kind: 'autoScalingGroup',
      status,
      targetId: group,
      ...(detail ? { detail } : {}),
    });
  }
}
