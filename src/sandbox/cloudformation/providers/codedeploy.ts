/**
 * `AWS::CodeDeploy::Application` and `AWS::CodeDeploy::DeploymentGroup` on the sandbox's CodeDeploy. `Ref` is the
 * name for both (reference §3.1).
 *
 * The sandbox refuses what CloudFormation refuses (reference §2.7, cloudformation-coverage-roadmap#37): a
 * deployment group with `DeploymentStyle.DeploymentType: BLUE_GREEN` and `AutoScalingGroups` fails with
 * `Property AutoScalingGroups cannot be specified.`, because CloudFormation's deployment group supports
 * blue/green for Lambda only; without the groups, CodeDeploy itself refuses a `COPY_AUTO_SCALING_GROUP` green fleet.
 */
import { ServiceError } from '../../protocol/errors.ts';
import { callService, camelize, defined } from './call.ts';
import { bool, mergeTags, type Props, str, strings, tagsOf } from './props.ts';
import { type ResourceProvider, ResourceFailure } from './types.ts';

const application: ResourceProvider = {
  type: 'AWS::CodeDeploy::Application',
  recordedOnly: false,
  attributes: [],
  createSeconds: 3,
  deleteSeconds: 3,
  async create(p, ctx) {
    const name = str(p, 'ApplicationName', ctx.logicalId) ?? ctx.physicalName(100);
    await callService(
      ctx.services.codedeploy,
      'CreateApplication',
      defined({
        applicationName: name,
        computePlatform: str(p, 'ComputePlatform', ctx.logicalId),
        tags: mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags, ctx.systemTags),
      }),
      ctx,
    );
    return { physicalId: name, attributes: {} };
  },
  async delete(r, ctx) {
    await callService(ctx.services.codedeploy, 'DeleteApplication', { applicationName: r.physicalId }, ctx);
  },
};

/** Properties CloudFormation has and the CodeDeploy API does not take on CreateDeploymentGroup. */
const NOT_IN_API = new Set([
  'ApplicationName',
  'DeploymentGroupName',
  'Tags',
  'Deployment',
  'ECSServices',
  'BlueGreenDeploymentConfiguration',
]);

const deploymentGroup: ResourceProvider = {
  type: 'AWS::CodeDeploy::DeploymentGroup',
  recordedOnly: false,
  attributes: [],
  createSeconds: 3,
  deleteSeconds: 3,
  async create(p, ctx) {
    const style = (p.DeploymentStyle ?? {}) as Props;
    const groups = strings(p, 'AutoScalingGroups', ctx.logicalId) ?? [];
    if (str(style, 'DeploymentType', ctx.logicalId) === 'BLUE_GREEN' && groups.length > 0) {
      throw new ResourceFailure('Property AutoScalingGroups cannot be specified.');
    }
    if (p.Deployment !== undefined) {
      throw new ResourceFailure(
        `Property Deployment of ${ctx.logicalId}: the sandbox does not make a deployment group's initial deployment; start it with CreateDeployment (or the pipeline) after the stack is created`,
      );
    }
    const applicationName = str(p, 'ApplicationName', ctx.logicalId, true);
    const name = str(p, 'DeploymentGroupName', ctx.logicalId) ?? ctx.physicalName(100);
    const rest: Props = {};
    for (const [k, v] of Object.entries(p)) if (!NOT_IN_API.has(k)) rest[k] = v;
    const input = camelize(rest) as Props;
    const rollback = input.autoRollbackConfiguration as Props | undefined;
    if (rollback) rollback.enabled = bool(rollback, 'enabled', ctx.logicalId);
    if (input.terminationHookEnabled !== undefined)
      input.terminationHookEnabled = bool(input, 'terminationHookEnabled', ctx.logicalId);
    const bg = p.BlueGreenDeploymentConfiguration;
    await callService(
      ctx.services.codedeploy,
      'CreateDeploymentGroup',
      defined({
        ...input,
        applicationName,
        deploymentGroupName: name,
        blueGreenDeploymentConfiguration: bg === undefined ? undefined : camelize(bg),
        tags: mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags, ctx.systemTags),
      }),
      ctx,
    );
    return { physicalId: name, attributes: { ApplicationName: applicationName } };
  },
  async delete(r, ctx) {
    try {
      await callService(
        ctx.services.codedeploy,
        'DeleteDeploymentGroup',
        { applicationName: String(r.attributes.ApplicationName), deploymentGroupName: r.physicalId },
        ctx,
      );
    } catch (error) {
      // The application is gone, so its groups are too.
      if (!(error instanceof ServiceError && error.code === 'ApplicationDoesNotExistException')) throw error;
    }
  },
};

export const codeDeployProviders: readonly ResourceProvider[] = [application, deploymentGroup];
