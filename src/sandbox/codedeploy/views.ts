/** Records → CodeDeploy wire shapes (model member names; absent members omitted). */
import type { DeploymentTarget } from '@aws-sdk/client-codedeploy';
import type {
  ApplicationRecord,
  DeploymentConfigRecord,
  DeploymentGroupRecord,
  DeploymentRecord,
  LifecycleEventRecord,
  TargetRecord,
} from './store.ts';

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function applicationInfo(a: ApplicationRecord) {
  return {
    applicationId: a.applicationId,
    applicationName: a.applicationName,
    createTime: a.createTime,
    linkedToGitHub: false,
    computePlatform: a.computePlatform,
  };
}

export function deploymentGroupInfo(g: DeploymentGroupRecord) {
  return defined({
    applicationName: g.applicationName,
    deploymentGroupId: g.deploymentGroupId,
    deploymentGroupName: g.deploymentGroupName,
    deploymentConfigName: g.deploymentConfigName,
    ec2TagFilters: g.ec2TagFilters,
    onPremisesInstanceTagFilters: g.onPremisesInstanceTagFilters,
    autoScalingGroups: g.autoScalingGroups.map((name) => ({ name, hook: g.hooks.get(name) })),
    serviceRoleArn: g.serviceRoleArn,
    targetRevision: g.targetRevision,
    triggerConfigurations: g.triggerConfigurations,
    alarmConfiguration: g.alarmConfiguration,
    autoRollbackConfiguration: g.autoRollbackConfiguration,
    deploymentStyle: g.deploymentStyle,
    outdatedInstancesStrategy: g.outdatedInstancesStrategy,
    blueGreenDeploymentConfiguration: g.blueGreenDeploymentConfiguration,
    loadBalancerInfo: g.loadBalancerInfo,
    lastSuccessfulDeployment: g.lastSuccessfulDeployment,
    lastAttemptedDeployment: g.lastAttemptedDeployment,
    ec2TagSet: g.ec2TagSet,
    onPremisesTagSet: g.onPremisesTagSet,
    computePlatform: g.computePlatform,
    terminationHookEnabled: g.terminationHookEnabled,
  });
}

export function deploymentConfigInfo(c: DeploymentConfigRecord) {
  return defined({
    deploymentConfigId: c.deploymentConfigId,
    deploymentConfigName: c.deploymentConfigName,
    minimumHealthyHosts: c.minimumHealthyHosts,
    createTime: c.createTime,
    computePlatform: c.computePlatform,
    trafficRoutingConfig: c.trafficRoutingConfig,
    zonalConfig: c.zonalConfig,
  });
}

/** `deploymentOverview`: targets per status, every key present (aws-semantics 3.4, observed). */
export function deploymentOverview(d: DeploymentRecord) {
  const o = { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Ready: 0 };
  for (const t of d.targets.values()) {
    if (t.status in o) o[t.status as keyof typeof o] += 1;
  }
  return o;
}

export function deploymentInfo(d: DeploymentRecord) {
  return defined({
    applicationName: d.applicationName,
    deploymentGroupName: d.deploymentGroupName,
    deploymentConfigName: d.deploymentConfigName,
    deploymentId: d.deploymentId,
    previousRevision: d.previousRevision,
    revision: d.revision,
    status: d.status,
    errorInformation: d.errorInformation,
    createTime: d.createTime,
    startTime: d.startTime,
    completeTime: d.completeTime,
    deploymentOverview: deploymentOverview(d),
    description: d.description,
    creator: d.creator,
    ignoreApplicationStopFailures: d.ignoreApplicationStopFailures,
    autoRollbackConfiguration: d.autoRollbackConfiguration,
    updateOutdatedInstancesOnly: d.updateOutdatedInstancesOnly,
    rollbackInfo: d.rollbackInfo ? { ...d.rollbackInfo } : undefined,
    deploymentStyle: d.deploymentStyle,
    targetInstances: d.targetInstances,
    instanceTerminationWaitTimeStarted: d.instanceTerminationWaitTimeStarted,
    blueGreenDeploymentConfiguration: d.blueGreenDeploymentConfiguration,
    loadBalancerInfo: d.loadBalancerInfo,
    fileExistsBehavior: d.fileExistsBehavior ?? 'DISALLOW',
    deploymentStatusMessages: d.deploymentStatusMessages,
    computePlatform: 'Server' as const,
    externalId: d.externalId,
  });
}

function lifecycleEvent(e: LifecycleEventRecord) {
  return defined({
    lifecycleEventName: e.lifecycleEventName,
    diagnostics: e.diagnostics ? { ...e.diagnostics } : undefined,
    startTime: e.startTime,
    endTime: e.endTime,
    status: e.status,
  });
}

export function deploymentTarget(t: TargetRecord): DeploymentTarget {
  return {
    deploymentTargetType: 'InstanceTarget',
    instanceTarget: defined({
      deploymentId: t.deploymentId,
      targetId: t.targetId,
      targetArn: t.targetArn,
      status: t.status,
      lastUpdatedAt: t.lastUpdatedAt,
      lifecycleEvents: t.lifecycleEvents.map(lifecycleEvent),
      instanceLabel: t.instanceLabel,
    }),
  };
}

/** The deprecated `InstanceSummary` (ListDeploymentInstances / GetDeploymentInstance). */
export function instanceSummary(t: TargetRecord) {
  return defined({
    deploymentId: t.deploymentId,
    instanceId: t.targetArn,
    status: t.status,
    lastUpdatedAt: t.lastUpdatedAt,
    lifecycleEvents: t.lifecycleEvents.map(lifecycleEvent),
    instanceType: t.instanceLabel,
  });
}
