/**
 * Creating deployments: validation (errors as aws-semantics 3.3 / 3.12), the revision snapshot and the record.
 * The engine runs it from there.
 */
import type { TargetInstances } from '@aws-sdk/client-codedeploy';
import { cp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxRuntime } from '../types.ts';
import type { DeploymentEngine } from './engine.ts';
import { err, requireApplication, requireConfigName, requireGroup } from './errors.ts';
import { deploymentId as newDeploymentId } from './ids.ts';
import type {
  AutoRollbackConfiguration,
  CodeDeployStore,
  DeploymentRecord,
  DeploymentStyle,
  RevisionLocation,
} from './store.ts';

/** The model's `CreateDeploymentInput` (camelCase). */
export interface CreateDeploymentInput {
  applicationName: string;
  deploymentGroupName?: string;
  revision?: RevisionLocation;
  deploymentConfigName?: string;
  description?: string;
  ignoreApplicationStopFailures?: boolean;
  targetInstances?: TargetInstances;
  autoRollbackConfiguration?: AutoRollbackConfiguration;
  updateOutdatedInstancesOnly?: boolean;
  fileExistsBehavior?: 'DISALLOW' | 'OVERWRITE' | 'RETAIN';
  overrideAlarmConfiguration?: unknown;
}

/** Key of a revision location in the sandbox's revision registry. */
export function revisionKey(location: RevisionLocation): string | undefined {
  const s3 = location.s3Location;
  if (location.revisionType === 'S3' && s3?.bucket && s3.key)
    return `s3://${s3.bucket}/${s3.key}${s3.version ? `?versionId=${s3.version}` : ''}`;
  const gh = location.gitHubLocation;
  if (location.revisionType === 'GitHub' && gh?.repository && gh.commitId)
    return `github://${gh.repository}@${gh.commitId}`;
  return undefined;
}

/**
 * @example
 * const deployments = new Deployments(runtime, store, engine);
 * await deployments.registerRevision({ revisionType: 'S3', s3Location: { bucket: 'b', key: 'app.zip', bundleType: 'zip' } }, dir);
 * const d = await deployments.create({ applicationName: 'web', deploymentGroupName: 'dg',
 *   revision: { revisionType: 'S3', s3Location: { bucket: 'b', key: 'app.zip', bundleType: 'zip' } } });
 */
export class Deployments {
  readonly runtime: SandboxRuntime;
  readonly store: CodeDeployStore;
  readonly engine: DeploymentEngine;
  /** Revision location key → local directory holding that bundle (the sandbox has no S3 or GitHub). */
  readonly revisions = new Map<string, string>();

  constructor(runtime: SandboxRuntime, store: CodeDeployStore, engine: DeploymentEngine) {
    this.runtime = runtime;
    this.store = store;
    this.engine = engine;
  }

  /** Makes an S3 / GitHub revision location deployable: its bundle is the directory `dir` (copied now). */
  async registerRevision(location: RevisionLocation, dir: string): Promise<void> {
    const key = revisionKey(location);
    if (!key)
      throw new Error(
        'registerRevision: give an S3 location (bucket, key) or a GitHub location (repository, commitId)',
      );
    const snapshot = join(
      this.runtime.dataDir,
      'codedeploy',
      'revisions',
      Buffer.from(key).toString('base64url').slice(0, 100),
    );
    await this.#snapshot(dir, snapshot);
    this.revisions.set(key, snapshot);
  }

  /**
   * CreateDeployment. `internal` is for deployments CodeDeploy makes itself (an auto scaling launch): given
   * instances only, an already-copied bundle, a style of their own.
   */
  async create(
    input: CreateDeploymentInput & { artifactDir?: string },
    creator: DeploymentRecord['creator'] = 'user',
    internal: { targetIds?: string[]; revisionDir?: string; deploymentStyle?: DeploymentStyle } = {},
  ): Promise<DeploymentRecord> {
    const { store, runtime } = this;
    const app = requireApplication(store, input.applicationName);
    if (!input.deploymentGroupName)
      throw err('DeploymentGroupNameRequiredException', 'The deployment group name was not specified.');
    const dg = requireGroup(store, app.applicationName, input.deploymentGroupName);
    if (input.description !== undefined && input.description.length > 256) {
      throw err(
        'DescriptionTooLongException',
        `The description is too long: ${input.description.length} characters (at most 256).`,
      );
    }
    const config = requireConfigName(store, input.deploymentConfigName ?? dg.deploymentConfigName);
    if (
      input.fileExistsBehavior !== undefined &&
      !['DISALLOW', 'OVERWRITE', 'RETAIN'].includes(input.fileExistsBehavior)
    ) {
      throw err(
        'InvalidFileExistsBehaviorException',
        `fileExistsBehavior '${input.fileExistsBehavior}' is invalid; use DISALLOW, OVERWRITE or RETAIN.`,
      );
    }
    const arc = input.autoRollbackConfiguration;
    if (arc?.enabled && !arc.events?.length) {
      throw err(
        'InvalidAutoRollbackConfigException',
        'Automatic rollback is enabled but no events are specified; give events such as DEPLOYMENT_FAILURE.',
      );
    }
    if (
      dg.deploymentStyle.deploymentType === 'BLUE_GREEN' &&
      !dg.blueGreenDeploymentConfiguration?.greenFleetProvisioningOption
    ) {
      // Without a green fleet option the group has no way to get replacement instances.
      throw err(
        'InvalidTargetInstancesException',
        'The blue/green deployment group has no greenFleetProvisioningOption; set COPY_AUTO_SCALING_GROUP.',
      );
    }
    const active = store.activeDeployment(app.applicationName, dg.deploymentGroupName);
    if (active) {
      // Observed AWS message (aws-semantics 3.3).
      throw err(
        'DeploymentLimitExceededException',
        `The Deployment Group '${dg.deploymentGroupName}' already has an active Deployment '${active.deploymentId}'`,
      );
    }
    const id = newDeploymentId();
    const snapshot = join(runtime.dataDir, 'codedeploy', 'deployments', id, 'revision');
    let revision = input.revision;
    if (internal.revisionDir && revision) {
      await this.#snapshot(internal.revisionDir, snapshot);
    } else if (input.artifactDir) {
      const info = await stat(input.artifactDir).catch(() => undefined);
      if (!info?.isDirectory())
        throw err(
          'InvalidRevisionException',
          `The revision directory '${input.artifactDir}' does not exist or is not a directory.`,
        );
      await this.#snapshot(input.artifactDir, snapshot);
      revision ??= {
        revisionType: 'S3',
        s3Location: {
          bucket: `codepipeline-${runtime.region}-${runtime.accountId}`,
          key: `${app.applicationName}/${id}.zip`,
          bundleType: 'zip',
        },
      };
    } else if (!revision) {
      throw err('RevisionRequiredException', 'The revision ID was not specified.');
    } else if (revision.revisionType === 'String') {
      // A "String" revision is an AppSpec document alone: the bundle holds just appspec.yml.
      const content = revision.string?.content;
      if (!content)
        throw err(
          'InvalidRevisionException',
          'A String revision needs string.content (an AppSpec document).',
        );
      await mkdir(snapshot, { recursive: true });
      await writeFile(join(snapshot, 'appspec.yml'), content);
    } else if (revision.revisionType === 'S3' || revision.revisionType === 'GitHub') {
      const key = revisionKey(revision);
      if (!key)
        throw err(
          'InvalidRevisionException',
          'An S3 revision needs s3Location.bucket and key; a GitHub revision needs gitHubLocation.repository and commitId.',
        );
      const dir = this.revisions.get(key);
      if (!dir) {
        throw err(
          'RevisionDoesNotExistException',
          `The named revision does not exist with the IAM user or AWS account: ${key} (the sandbox has no S3; deployable revisions come from a CodePipeline artifact or registerRevision()).`,
        );
      }
      await this.#snapshot(dir, snapshot);
    } else {
      throw err(
        'InvalidRevisionException',
        `The revision type '${revision.revisionType}' cannot be deployed to EC2/on-premises instances; use S3 or GitHub.`,
      );
    }
    // Copying the revision took time: another deployment of the group may have started meanwhile.
    const raced = store.activeDeployment(app.applicationName, dg.deploymentGroupName);
    if (raced) {
      await rm(join(snapshot, '..'), { recursive: true, force: true });
      throw err(
        'DeploymentLimitExceededException',
        `The Deployment Group '${dg.deploymentGroupName}' already has an active Deployment '${raced.deploymentId}'`,
      );
    }
    if (input.artifactDir) {
      const key = revisionKey(revision as RevisionLocation);
      if (key) this.revisions.set(key, snapshot);
    }
    const good = dg.lastSuccessfulDeployment
      ? store.deployments.get(dg.lastSuccessfulDeployment.deploymentId)
      : undefined;
    const now = runtime.clock.now();
    const d: DeploymentRecord = {
      deploymentId: id,
      applicationName: app.applicationName,
      deploymentGroupName: dg.deploymentGroupName,
      deploymentGroupId: dg.deploymentGroupId,
      deploymentConfigName: config.deploymentConfigName,
      ...(good ? { previousRevision: good.revision } : {}),
      revision: revision as RevisionLocation,
      status: 'Created',
      createTime: now,
      ...(input.description !== undefined ? { description: input.description } : {}),
      creator,
      ignoreApplicationStopFailures: input.ignoreApplicationStopFailures ?? false,
      autoRollbackConfiguration: arc ?? dg.autoRollbackConfiguration,
      updateOutdatedInstancesOnly: input.updateOutdatedInstancesOnly ?? false,
      deploymentStyle: { ...(internal.deploymentStyle ?? dg.deploymentStyle) },
      ...(input.targetInstances ? { targetInstances: input.targetInstances } : {}),
      instanceTerminationWaitTimeStarted: false,
      ...(dg.blueGreenDeploymentConfiguration
        ? { blueGreenDeploymentConfiguration: dg.blueGreenDeploymentConfiguration }
        : {}),
      ...(dg.loadBalancerInfo ? { loadBalancerInfo: dg.loadBalancerInfo } : {}),
      ...(input.fileExistsBehavior ? { fileExistsBehavior: input.fileExistsBehavior } : {}),
      deploymentStatusMessages: [],
      revisionDir: snapshot,
      targets: new Map(),
      targetsKnown: false,
      ...(internal.targetIds ? { targetIds: internal.targetIds } : {}),
    };
    store.deployments.set(id, d);
    dg.targetRevision = d.revision;
    dg.lastAttemptedDeployment = { deploymentId: id, status: 'Created', createTime: now };
    runtime.events.append({ service: 'codedeploy', kind: 'deployment', status: 'Created', deploymentId: id });
    this.engine.start(d);
    return d;
  }

  async #snapshot(from: string, to: string): Promise<void> {
    await mkdir(to, { recursive: true });
    // Links stay as written: one pointing inside the revision must still do so in the snapshot (the agent checks).
    await cp(from, to, { recursive: true, force: true, verbatimSymlinks: true });
  }
}
