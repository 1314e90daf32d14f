/**
 * CodeDeploy handlers for applications, deployment groups, deployment configs and tags (JSON 1.1, camelCase),
 * typed by the SDK's input and output types (`operations.ts`). Deployment operations are in
 * `deployment-handlers.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { Tag } from '@aws-sdk/client-codedeploy';
import type { AutoScalingService } from '../autoscaling/index.ts';
import type { RequestContext, SandboxRuntime, Validated } from '../types.ts';
import {
  checkApplicationName,
  checkGroupName,
  err,
  page,
  requireApplication,
  requireConfigName,
  requireGroup,
} from './errors.ts';
import { applicationArn, deploymentGroupArn } from './ids.ts';
import { checkGroupSettings } from './group-settings.ts';
import type { CodeDeployConfigOperation, CodeDeployHandlers, CodeDeployOutput } from './operations.ts';
import type { CodeDeployStore, DeploymentGroupRecord } from './store.ts';
import { applicationInfo, deploymentConfigInfo, deploymentGroupInfo } from './views.ts';

export interface HandlerDeps {
  runtime: SandboxRuntime;
  store: CodeDeployStore;
  autoscaling: AutoScalingService;
}

function tagsOf(store: CodeDeployStore, arn: string): Map<string, string> {
  let tags = store.tags.get(arn);
  if (!tags) {
    tags = new Map();
    store.tags.set(arn, tags);
  }
  return tags;
}

function addTags(store: CodeDeployStore, arn: string, tags: readonly Validated<Tag>[] | undefined): void {
  for (const t of tags ?? []) {
    if (!t.Key) throw err('InvalidTagsToAddException', 'Each tag needs a Key (1-128 characters).');
    tagsOf(store, arn).set(t.Key, t.Value ?? '');
  }
}

export function configHandlers(deps: HandlerDeps): CodeDeployHandlers<CodeDeployConfigOperation> {
  const { store, runtime } = deps;
  const dgArn = (g: DeploymentGroupRecord) =>
    deploymentGroupArn(runtime.region, runtime.accountId, g.applicationName, g.deploymentGroupName);
  const hookName = (dg: string) =>
    `CodeDeploy-managed-automatic-launch-deployment-hook-${dg}-${randomUUID().slice(0, 8)}`;

  return {
    // ---- applications ----
    CreateApplication(input): CodeDeployOutput<'CreateApplication'> {
      const name = checkApplicationName(input.applicationName);
      if (store.applications.has(name))
        throw err(
          'ApplicationAlreadyExistsException',
          `The application ${name} already exists with the user or AWS account.`,
        );
      const computePlatform = input.computePlatform ?? 'Server';
      const app = {
        applicationId: randomUUID(),
        applicationName: name,
        createTime: runtime.clock.now(),
        computePlatform,
      };
      store.applications.set(name, app);
      addTags(store, applicationArn(runtime.region, runtime.accountId, name), input.tags);
      return { applicationId: app.applicationId };
    },
    GetApplication(input): CodeDeployOutput<'GetApplication'> {
      return { application: applicationInfo(requireApplication(store, input.applicationName)) };
    },
    BatchGetApplications(input): CodeDeployOutput<'BatchGetApplications'> {
      const names: string[] = input.applicationNames ?? [];
      if (names.length > 100)
        throw err(
          'BatchLimitExceededException',
          'The maximum number of names or IDs allowed for this request (100) was exceeded.',
        );
      return { applicationsInfo: names.map((n) => applicationInfo(requireApplication(store, n))) };
    },
    ListApplications(input): CodeDeployOutput<'ListApplications'> {
      const names = [...store.applications.keys()].sort();
      const p = page(names, input.nextToken);
      return { applications: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },
    UpdateApplication(input): CodeDeployOutput<'UpdateApplication'> {
      const app = requireApplication(store, input.applicationName);
      const newName = input.newApplicationName;
      if (newName && newName !== app.applicationName) {
        checkApplicationName(newName);
        if (store.applications.has(newName))
          throw err(
            'ApplicationAlreadyExistsException',
            `The application ${newName} already exists with the user or AWS account.`,
          );
        store.applications.delete(app.applicationName);
        for (const g of store.groupsOf(app.applicationName)) {
          store.groups.delete(`${g.applicationName}/${g.deploymentGroupName}`);
          g.applicationName = newName;
          store.groups.set(`${newName}/${g.deploymentGroupName}`, g);
        }
        app.applicationName = newName;
        store.applications.set(newName, app);
      }
      return {};
    },
    DeleteApplication(input): CodeDeployOutput<'DeleteApplication'> {
      const name = checkApplicationName(input.applicationName);
      // Deleting the application removes its deployment groups' records; instances and ASGs stay (aws-semantics 3.11).
      for (const g of store.groupsOf(name)) {
        store.groups.delete(`${name}/${g.deploymentGroupName}`);
        store.tags.delete(dgArn(g));
      }
      store.applications.delete(name);
      store.tags.delete(applicationArn(runtime.region, runtime.accountId, name));
      return {};
    },

    // ---- deployment groups ----
    CreateDeploymentGroup(input): CodeDeployOutput<'CreateDeploymentGroup'> {
      const app = requireApplication(store, input.applicationName);
      const name = checkGroupName(input.deploymentGroupName);
      if (store.group(app.applicationName, name)) {
        throw err(
          'DeploymentGroupAlreadyExistsException',
          `The deployment group ${name} already exists with the user or AWS account.`,
        );
      }
      if (!input.serviceRoleArn) throw err('RoleRequiredException', 'The role ID was not specified.');
      const settings = checkGroupSettings(deps, input);
      const autoScalingGroups = settings.autoScalingGroups ?? [];
      const g: DeploymentGroupRecord = {
        applicationName: app.applicationName,
        deploymentGroupId: randomUUID(),
        deploymentGroupName: name,
        deploymentConfigName: 'CodeDeployDefault.OneAtATime',
        serviceRoleArn: input.serviceRoleArn,
        autoScalingGroups,
        hooks: new Map(autoScalingGroups.map((n) => [n, hookName(name)])),
        ec2TagFilters: [],
        onPremisesInstanceTagFilters: [],
        triggerConfigurations: [],
        alarmConfiguration: { enabled: false, ignorePollAlarmFailure: false, alarms: [] },
        deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
        outdatedInstancesStrategy: 'UPDATE',
        computePlatform: 'Server',
        terminationHookEnabled: false,
        ...settings,
      };
      store.groups.set(`${app.applicationName}/${name}`, g);
      addTags(store, dgArn(g), input.tags);
      return { deploymentGroupId: g.deploymentGroupId };
    },
    GetDeploymentGroup(input): CodeDeployOutput<'GetDeploymentGroup'> {
      const app = requireApplication(store, input.applicationName);
      return {
        deploymentGroupInfo: deploymentGroupInfo(
          requireGroup(store, app.applicationName, input.deploymentGroupName),
        ),
      };
    },
    BatchGetDeploymentGroups(input): CodeDeployOutput<'BatchGetDeploymentGroups'> {
      const app = requireApplication(store, input.applicationName);
      const names: string[] = input.deploymentGroupNames ?? [];
      if (names.length === 0)
        throw err('DeploymentGroupNameRequiredException', 'The deployment group name was not specified.');
      if (names.length > 100)
        throw err(
          'BatchLimitExceededException',
          'The maximum number of names or IDs allowed for this request (100) was exceeded.',
        );
      const found = names.map((n) => store.group(app.applicationName, n));
      const missing = names.filter((_, i) => !found[i]);
      return {
        deploymentGroupsInfo: found.filter((g) => g !== undefined).map(deploymentGroupInfo),
        ...(missing.length ? { errorMessage: `Deployment groups not found: ${missing.join(', ')}` } : {}),
      };
    },
    ListDeploymentGroups(input): CodeDeployOutput<'ListDeploymentGroups'> {
      const app = requireApplication(store, input.applicationName);
      const names = store
        .groupsOf(app.applicationName)
        .map((g) => g.deploymentGroupName)
        .sort();
      const p = page(names, input.nextToken);
      return {
        applicationName: app.applicationName,
        deploymentGroups: p.items,
        ...(p.nextToken ? { nextToken: p.nextToken } : {}),
      };
    },
    UpdateDeploymentGroup(input): CodeDeployOutput<'UpdateDeploymentGroup'> {
      const app = requireApplication(store, input.applicationName);
      const g = requireGroup(store, app.applicationName, input.currentDeploymentGroupName);
      const settings = checkGroupSettings(deps, input, g);
      const newName = input.newDeploymentGroupName;
      if (newName && newName !== g.deploymentGroupName) {
        checkGroupName(newName);
        if (store.group(app.applicationName, newName)) {
          throw err(
            'DeploymentGroupAlreadyExistsException',
            `The deployment group ${newName} already exists with the user or AWS account.`,
          );
        }
        const oldArn = dgArn(g);
        store.groups.delete(`${app.applicationName}/${g.deploymentGroupName}`);
        g.deploymentGroupName = newName;
        store.groups.set(`${app.applicationName}/${newName}`, g);
        const tags = store.tags.get(oldArn);
        store.tags.delete(oldArn);
        if (tags) store.tags.set(dgArn(g), tags);
      }
      if (settings.autoScalingGroups) {
        const hooks = new Map(
          settings.autoScalingGroups.map((n) => [n, g.hooks.get(n) ?? hookName(g.deploymentGroupName)]),
        );
        g.hooks.clear();
        for (const [k, v] of hooks) g.hooks.set(k, v);
      }
      Object.assign(g, settings);
      return { hooksNotCleanedUp: [] };
    },
    DeleteDeploymentGroup(input): CodeDeployOutput<'DeleteDeploymentGroup'> {
      const app = requireApplication(store, input.applicationName);
      const name = checkGroupName(input.deploymentGroupName);
      const g = store.group(app.applicationName, name);
      // Unknown groups delete successfully: the model lists no DeploymentGroupDoesNotExistException here (3.2).
      if (g) {
        store.groups.delete(`${app.applicationName}/${name}`);
        store.tags.delete(dgArn(g));
      }
      return { hooksNotCleanedUp: [] };
    },

    // ---- deployment configs ----
    CreateDeploymentConfig(input): CodeDeployOutput<'CreateDeploymentConfig'> {
      const name = input.deploymentConfigName;
      if (!name)
        throw err(
          'DeploymentConfigNameRequiredException',
          'The deployment configuration name was not specified.',
        );
      if (!/^[A-Za-z0-9._+=,@-]{1,100}$/.test(name) || name.startsWith('CodeDeployDefault.')) {
        throw err(
          'InvalidDeploymentConfigNameException',
          `The deployment configuration name '${name}' is invalid (1-100 of letters, digits, ._+=,@- and not starting with CodeDeployDefault.).`,
        );
      }
      if (store.configs.has(name))
        throw err(
          'DeploymentConfigAlreadyExistsException',
          `A deployment configuration with the name ${name} already exists with the user or AWS account.`,
        );
      const computePlatform = input.computePlatform ?? 'Server';
      const mhh = input.minimumHealthyHosts;
      if (computePlatform === 'Server') {
        if (
          !mhh ||
          (mhh.type !== 'HOST_COUNT' && mhh.type !== 'FLEET_PERCENT') ||
          typeof mhh.value !== 'number' ||
          mhh.value < 0
        ) {
          throw err(
            'InvalidMinimumHealthyHostValueException',
            'minimumHealthyHosts needs a type (HOST_COUNT or FLEET_PERCENT) and a value >= 0.',
          );
        }
        if (mhh.type === 'FLEET_PERCENT' && mhh.value > 99) {
          throw err(
            'InvalidMinimumHealthyHostValueException',
            'A FLEET_PERCENT minimumHealthyHosts value must be between 0 and 99.',
          );
        }
      }
      const config = {
        deploymentConfigId: randomUUID(),
        deploymentConfigName: name,
        ...(mhh ? { minimumHealthyHosts: { type: mhh.type, value: mhh.value } } : {}),
        createTime: runtime.clock.now(),
        computePlatform,
        ...(input.trafficRoutingConfig ? { trafficRoutingConfig: input.trafficRoutingConfig } : {}),
        ...(input.zonalConfig ? { zonalConfig: input.zonalConfig } : {}),
        builtIn: false,
      };
      store.configs.set(name, config);
      return { deploymentConfigId: config.deploymentConfigId };
    },
    GetDeploymentConfig(input): CodeDeployOutput<'GetDeploymentConfig'> {
      return {
        deploymentConfigInfo: deploymentConfigInfo(requireConfigName(store, input.deploymentConfigName)),
      };
    },
    ListDeploymentConfigs(input): CodeDeployOutput<'ListDeploymentConfigs'> {
      const p = page([...store.configs.keys()].sort(), input.nextToken);
      return { deploymentConfigsList: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },
    DeleteDeploymentConfig(input): CodeDeployOutput<'DeleteDeploymentConfig'> {
      const name = input.deploymentConfigName;
      if (!name)
        throw err(
          'DeploymentConfigNameRequiredException',
          'The deployment configuration name was not specified.',
        );
      const config = store.configs.get(name);
      if (config?.builtIn || String(name).startsWith('CodeDeployDefault.')) {
        throw err(
          'InvalidOperationException',
          `The predefined deployment configuration ${name} cannot be deleted.`,
        );
      }
      if ([...store.groups.values()].some((g) => g.deploymentConfigName === name)) {
        throw err(
          'DeploymentConfigInUseException',
          `The deployment configuration ${name} is still in use by a deployment group.`,
        );
      }
      store.configs.delete(name);
      return {};
    },

    // ---- tags ----
    TagResource(input, ctx): CodeDeployOutput<'TagResource'> {
      const arn = requireTaggable(deps, input.ResourceArn, ctx);
      if (!input.Tags?.length) throw err('TagRequiredException', 'A tag was not specified.');
      addTags(store, arn, input.Tags);
      return {};
    },
    UntagResource(input, ctx): CodeDeployOutput<'UntagResource'> {
      const arn = requireTaggable(deps, input.ResourceArn, ctx);
      const tags = store.tags.get(arn);
      for (const k of input.TagKeys ?? []) tags?.delete(k);
      return {};
    },
    ListTagsForResource(input, ctx): CodeDeployOutput<'ListTagsForResource'> {
      const arn = requireTaggable(deps, input.ResourceArn, ctx);
      const tags = [...(store.tags.get(arn) ?? new Map()).entries()].map(([Key, Value]) => ({ Key, Value }));
      const p = page(tags, input.NextToken);
      return { Tags: p.items, ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
    },
  };
}

/** Resolves a taggable ARN (application, deployment group, deployment config) or throws the matching error. */
function requireTaggable(deps: HandlerDeps, arn: unknown, _ctx: RequestContext): string {
  const { store } = deps;
  if (!arn)
    throw err('ResourceArnRequiredException', 'The ARN of a resource is required, but was not found.');
  const m =
    /^arn:aws[a-z-]*:codedeploy:[^:]*:\d{12}:(application|deploymentgroup|deploymentconfig):(.+)$/.exec(
      String(arn),
    );
  if (!m)
    throw err(
      'InvalidArnException',
      `The specified ARN '${String(arn)}' is not in a valid format: arn:aws:codedeploy:<region>:<account>:application:<name>.`,
    );
  const [, type, rest = ''] = m;
  if (type === 'application' && !store.applications.has(rest)) {
    throw err(
      'ApplicationDoesNotExistException',
      `The application ${rest} does not exist with the user or AWS account.`,
    );
  }
  if (type === 'deploymentgroup') {
    const [app = '', dg = ''] = rest.split('/');
    if (!store.group(app, dg))
      throw err(
        'DeploymentGroupDoesNotExistException',
        `The deployment group ${dg} does not exist with the user or AWS account.`,
      );
  }
  if (type === 'deploymentconfig' && !store.configs.has(rest)) {
    throw err(
      'DeploymentConfigDoesNotExistException',
      `The deployment configuration ${rest} does not exist with the user or AWS account.`,
    );
  }
  return String(arn);
}
