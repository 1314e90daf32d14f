/**
 * CodeDeploy state: applications, deployment groups, deployment configs, deployments (with their targets and
 * lifecycle events) and tags. Records keep the wire member names (camelCase) so views are thin; fields that only
 * the engine uses are marked.
 */
import { randomUUID } from 'node:crypto';
import type * as Sdk from '@aws-sdk/client-codedeploy';
import type {
  AutoRollbackEvent,
  BundleType,
  EC2TagFilter,
  EC2TagSet,
  ErrorCode,
  OnPremisesTagSet,
  TagFilter,
  TargetGroupPairInfo,
  TargetInstances,
  TrafficRoutingConfig,
  TriggerConfig,
  ZonalConfig,
} from '@aws-sdk/client-codedeploy';

export interface ApplicationRecord {
  applicationId: string;
  applicationName: string;
  createTime: Date;
  computePlatform: 'Server' | 'Lambda' | 'ECS';
}

export interface DeploymentStyle {
  deploymentType: 'IN_PLACE' | 'BLUE_GREEN';
  deploymentOption: 'WITH_TRAFFIC_CONTROL' | 'WITHOUT_TRAFFIC_CONTROL';
}

export interface AutoRollbackConfiguration {
  enabled?: boolean;
  events?: AutoRollbackEvent[];
}

export interface BlueGreenDeploymentConfiguration {
  terminateBlueInstancesOnDeploymentSuccess?: {
    action?: 'TERMINATE' | 'KEEP_ALIVE';
    terminationWaitTimeInMinutes?: number;
  };
  deploymentReadyOption?: {
    actionOnTimeout?: 'CONTINUE_DEPLOYMENT' | 'STOP_DEPLOYMENT';
    waitTimeInMinutes?: number;
  };
  greenFleetProvisioningOption?: { action?: 'DISCOVER_EXISTING' | 'COPY_AUTO_SCALING_GROUP' };
}

export interface LoadBalancerInfo {
  elbInfoList?: { name?: string }[];
  targetGroupInfoList?: { name?: string }[];
  targetGroupPairInfoList?: TargetGroupPairInfo[];
}

export interface LastDeploymentInfo {
  deploymentId: string;
  status: DeploymentStatus;
  endTime?: Date;
  createTime: Date;
}

export interface DeploymentGroupRecord {
  applicationName: string;
  deploymentGroupId: string;
  deploymentGroupName: string;
  deploymentConfigName: string;
  serviceRoleArn: string;
  /** Auto scaling group names (the output wraps each as `{name, hook}`). */
  autoScalingGroups: string[];
  /** Lifecycle hook name CodeDeploy would install in each group, per group name. */
  hooks: Map<string, string>;
  ec2TagFilters: EC2TagFilter[];
  onPremisesInstanceTagFilters: TagFilter[];
  ec2TagSet?: EC2TagSet;
  onPremisesTagSet?: OnPremisesTagSet;
  triggerConfigurations: TriggerConfig[];
  alarmConfiguration: { enabled?: boolean; ignorePollAlarmFailure?: boolean; alarms?: { name?: string }[] };
  autoRollbackConfiguration?: AutoRollbackConfiguration;
  deploymentStyle: DeploymentStyle;
  outdatedInstancesStrategy: 'UPDATE' | 'IGNORE';
  blueGreenDeploymentConfiguration?: BlueGreenDeploymentConfiguration;
  loadBalancerInfo?: LoadBalancerInfo;
  targetRevision?: RevisionLocation;
  lastSuccessfulDeployment?: LastDeploymentInfo;
  lastAttemptedDeployment?: LastDeploymentInfo;
  computePlatform: 'Server';
  terminationHookEnabled: boolean;
}

export interface MinimumHealthyHosts {
  type: 'HOST_COUNT' | 'FLEET_PERCENT';
  value: number;
}

export interface DeploymentConfigRecord {
  deploymentConfigId: string;
  deploymentConfigName: string;
  /**
   * As accepted: complete (a type and a value >= 0) for Server configs, which CreateDeploymentConfig checks;
   * Lambda and ECS configs keep what was sent.
   */
  minimumHealthyHosts?: MinimumHealthyHosts | Sdk.MinimumHealthyHosts;
  createTime: Date;
  computePlatform: 'Server' | 'Lambda' | 'ECS';
  trafficRoutingConfig?: TrafficRoutingConfig;
  zonalConfig?: ZonalConfig;
  builtIn: boolean;
}

export interface RevisionLocation {
  revisionType?: 'S3' | 'GitHub' | 'String' | 'AppSpecContent';
  s3Location?: { bucket?: string; key?: string; bundleType?: BundleType; version?: string; eTag?: string };
  gitHubLocation?: { repository?: string; commitId?: string };
  string?: { content?: string; sha256?: string };
  appSpecContent?: { content?: string; sha256?: string };
}

export type DeploymentStatus =
  | 'Created'
  | 'Queued'
  | 'InProgress'
  | 'Baking'
  | 'Succeeded'
  | 'Failed'
  | 'Stopped'
  | 'Ready';
export type TargetStatus =
  | 'Pending'
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'Skipped'
  | 'Unknown'
  | 'Ready';
export type LifecycleEventStatus = 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' | 'Unknown';

export interface Diagnostics {
  errorCode:
    | 'Success'
    | 'ScriptMissing'
    | 'ScriptNotExecutable'
    | 'ScriptTimedOut'
    | 'ScriptFailed'
    | 'UnknownError';
  scriptName: string;
  message: string;
  logTail: string;
}

export interface LifecycleEventRecord {
  lifecycleEventName: string;
  status: LifecycleEventStatus;
  startTime?: Date;
  endTime?: Date;
  diagnostics?: Diagnostics;
}

export interface TargetRecord {
  deploymentId: string;
  targetId: string;
  targetArn: string;
  status: TargetStatus;
  lastUpdatedAt: Date;
  lifecycleEvents: LifecycleEventRecord[];
  instanceLabel?: 'Blue' | 'Green';
}

export interface RollbackInfo {
  rollbackDeploymentId?: string;
  rollbackTriggeringDeploymentId?: string;
  rollbackMessage?: string;
}

/** What a blue/green deployment leaves for its rollback (or its own clean-up) to restore. */
export interface BlueGreenState {
  blueGroup: string;
  blueIds: string[];
  greenGroup?: string;
  greenIds: string[];
  /** Green was registered with the target groups (traffic may have reached it). */
  trafficShifted: boolean;
  /** Blue was deregistered (it no longer serves). */
  blueBlocked: boolean;
  /** Blue instances were terminated: nothing to return to. */
  blueTerminated: boolean;
}

export interface DeploymentRecord {
  deploymentId: string;
  applicationName: string;
  deploymentGroupName: string;
  deploymentGroupId: string;
  deploymentConfigName: string;
  previousRevision?: RevisionLocation;
  revision: RevisionLocation;
  status: DeploymentStatus;
  errorInformation?: { code: ErrorCode; message: string };
  createTime: Date;
  startTime?: Date;
  completeTime?: Date;
  description?: string;
  creator: 'user' | 'autoscaling' | 'codeDeployRollback' | 'CodeDeploy' | 'CodeDeployAutoUpdate';
  ignoreApplicationStopFailures: boolean;
  autoRollbackConfiguration?: AutoRollbackConfiguration;
  updateOutdatedInstancesOnly: boolean;
  rollbackInfo?: RollbackInfo;
  deploymentStyle: DeploymentStyle;
  targetInstances?: TargetInstances;
  instanceTerminationWaitTimeStarted: boolean;
  blueGreenDeploymentConfiguration?: BlueGreenDeploymentConfiguration;
  loadBalancerInfo?: LoadBalancerInfo;
  fileExistsBehavior?: 'DISALLOW' | 'OVERWRITE' | 'RETAIN';
  deploymentStatusMessages: string[];
  externalId?: string;
  /** Engine: the local directory holding this revision's bundle (a snapshot taken at creation). */
  revisionDir: string;
  /** Engine: keyed by instance id, in deployment order. */
  targets: Map<string, TargetRecord>;
  /** Engine: set once targets are known (ListDeploymentTargets answers DeploymentNotStartedException before). */
  targetsKnown: boolean;
  /** Engine: only these instances (a deployment to instances an auto scaling group just launched). */
  targetIds?: string[];
  /** Engine: blue/green bookkeeping (and, on a rollback, the state of the deployment it rolls back). */
  blueGreen?: BlueGreenState;
  /**
   * Engine: the status is final but CodeDeploy has not written `rollbackInfo` yet (it comes after the status,
   * as on AWS: see `CodeDeploySettings.rollbackLinkDelayMs`).
   */
  rollbackLinkPending?: boolean;
}

/** The predefined EC2/on-premises configs (aws-semantics 3.1, 3.8). */
export function builtInConfigs(): DeploymentConfigRecord[] {
  const created = new Date('2014-11-12T00:00:00Z');
  const make = (name: string, mhh: MinimumHealthyHosts): DeploymentConfigRecord => ({
    deploymentConfigId: randomUUID(),
    deploymentConfigName: name,
    minimumHealthyHosts: mhh,
    createTime: created,
    computePlatform: 'Server',
    builtIn: true,
  });
  return [
    make('CodeDeployDefault.OneAtATime', { type: 'HOST_COUNT', value: 1 }),
    make('CodeDeployDefault.HalfAtATime', { type: 'FLEET_PERCENT', value: 50 }),
    make('CodeDeployDefault.AllAtOnce', { type: 'HOST_COUNT', value: 0 }),
  ];
}

export const ACTIVE_STATUSES: ReadonlySet<DeploymentStatus> = new Set([
  'Created',
  'Queued',
  'InProgress',
  'Ready',
  'Baking',
]);

/**
 * @example
 * const store = new CodeDeployStore();
 * store.configs.get('CodeDeployDefault.HalfAtATime')?.minimumHealthyHosts; // { type: 'FLEET_PERCENT', value: 50 }
 */
export class CodeDeployStore {
  readonly applications = new Map<string, ApplicationRecord>();
  /** Keyed by `<app>/<dg>`. */
  readonly groups = new Map<string, DeploymentGroupRecord>();
  readonly configs = new Map<string, DeploymentConfigRecord>();
  /** In creation order. */
  readonly deployments = new Map<string, DeploymentRecord>();
  /** Resource ARN → tag key → value. */
  readonly tags = new Map<string, Map<string, string>>();

  constructor() {
    this.clear();
  }

  group(app: string, dg: string): DeploymentGroupRecord | undefined {
    return this.groups.get(`${app}/${dg}`);
  }

  groupsOf(app: string): DeploymentGroupRecord[] {
    return [...this.groups.values()].filter((g) => g.applicationName === app);
  }

  /** The deployment of the group that is still running, if any (only one may be, aws-semantics 3.3). */
  activeDeployment(app: string, dg: string): DeploymentRecord | undefined {
    for (const d of this.deployments.values()) {
      if (d.applicationName === app && d.deploymentGroupName === dg && ACTIVE_STATUSES.has(d.status))
        return d;
    }
    return undefined;
  }

  clear(): void {
    this.applications.clear();
    this.groups.clear();
    this.deployments.clear();
    this.tags.clear();
    this.configs.clear();
    for (const c of builtInConfigs()) this.configs.set(c.deploymentConfigName, c);
  }
}
