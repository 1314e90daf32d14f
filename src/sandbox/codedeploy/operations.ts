/**
 * The CodeDeploy operations the sandbox serves, with the SDK's input and output types. `handlers.ts` implements
 * the application, deployment group, deployment config and tag operations ({@link CodeDeployConfigOperation}),
 * `deployment-handlers.ts` the deployments and their targets ({@link CodeDeployDeploymentOperation}). An operation of the model absent here answers
 * `NotImplemented`.
 */
import type * as Sdk from '@aws-sdk/client-codedeploy';
import type { Handlers, Operation, OutputOf } from '../types.ts';

/** The output of an operation whose model declares none: an empty object. */
export type NoOutput = Record<string, never>;

export interface CodeDeployOperations {
  CreateApplication: Operation<Sdk.CreateApplicationInput, Sdk.CreateApplicationOutput>;
  GetApplication: Operation<Sdk.GetApplicationInput, Sdk.GetApplicationOutput>;
  BatchGetApplications: Operation<Sdk.BatchGetApplicationsInput, Sdk.BatchGetApplicationsOutput>;
  ListApplications: Operation<Sdk.ListApplicationsInput, Sdk.ListApplicationsOutput>;
  UpdateApplication: Operation<Sdk.UpdateApplicationInput, NoOutput>;
  DeleteApplication: Operation<Sdk.DeleteApplicationInput, NoOutput>;
  CreateDeploymentGroup: Operation<Sdk.CreateDeploymentGroupInput, Sdk.CreateDeploymentGroupOutput>;
  GetDeploymentGroup: Operation<Sdk.GetDeploymentGroupInput, Sdk.GetDeploymentGroupOutput>;
  BatchGetDeploymentGroups: Operation<Sdk.BatchGetDeploymentGroupsInput, Sdk.BatchGetDeploymentGroupsOutput>;
  ListDeploymentGroups: Operation<Sdk.ListDeploymentGroupsInput, Sdk.ListDeploymentGroupsOutput>;
  UpdateDeploymentGroup: Operation<Sdk.UpdateDeploymentGroupInput, Sdk.UpdateDeploymentGroupOutput>;
  DeleteDeploymentGroup: Operation<Sdk.DeleteDeploymentGroupInput, Sdk.DeleteDeploymentGroupOutput>;
  CreateDeploymentConfig: Operation<Sdk.CreateDeploymentConfigInput, Sdk.CreateDeploymentConfigOutput>;
  GetDeploymentConfig: Operation<Sdk.GetDeploymentConfigInput, Sdk.GetDeploymentConfigOutput>;
  ListDeploymentConfigs: Operation<Sdk.ListDeploymentConfigsInput, Sdk.ListDeploymentConfigsOutput>;
  DeleteDeploymentConfig: Operation<Sdk.DeleteDeploymentConfigInput, NoOutput>;
  TagResource: Operation<Sdk.TagResourceInput, Sdk.TagResourceOutput>;
  UntagResource: Operation<Sdk.UntagResourceInput, Sdk.UntagResourceOutput>;
  ListTagsForResource: Operation<Sdk.ListTagsForResourceInput, Sdk.ListTagsForResourceOutput>;
  CreateDeployment: Operation<Sdk.CreateDeploymentInput, Sdk.CreateDeploymentOutput>;
  GetDeployment: Operation<Sdk.GetDeploymentInput, Sdk.GetDeploymentOutput>;
  BatchGetDeployments: Operation<Sdk.BatchGetDeploymentsInput, Sdk.BatchGetDeploymentsOutput>;
  ListDeployments: Operation<Sdk.ListDeploymentsInput, Sdk.ListDeploymentsOutput>;
  StopDeployment: Operation<Sdk.StopDeploymentInput, Sdk.StopDeploymentOutput>;
  ContinueDeployment: Operation<Sdk.ContinueDeploymentInput, NoOutput>;
  SkipWaitTimeForInstanceTermination: Operation<Sdk.SkipWaitTimeForInstanceTerminationInput, NoOutput>;
  ListDeploymentTargets: Operation<Sdk.ListDeploymentTargetsInput, Sdk.ListDeploymentTargetsOutput>;
  BatchGetDeploymentTargets: Operation<
    Sdk.BatchGetDeploymentTargetsInput,
    Sdk.BatchGetDeploymentTargetsOutput
  >;
  GetDeploymentTarget: Operation<Sdk.GetDeploymentTargetInput, Sdk.GetDeploymentTargetOutput>;
  ListDeploymentInstances: Operation<Sdk.ListDeploymentInstancesInput, Sdk.ListDeploymentInstancesOutput>;
  GetDeploymentInstance: Operation<Sdk.GetDeploymentInstanceInput, Sdk.GetDeploymentInstanceOutput>;
  BatchGetDeploymentInstances: Operation<
    Sdk.BatchGetDeploymentInstancesInput,
    Sdk.BatchGetDeploymentInstancesOutput
  >;
}

/** The operations `handlers.ts` serves: applications, deployment groups, deployment configs, tags. */
export type CodeDeployConfigOperation =
  | 'CreateApplication'
  | 'GetApplication'
  | 'BatchGetApplications'
  | 'ListApplications'
  | 'UpdateApplication'
  | 'DeleteApplication'
  | 'CreateDeploymentGroup'
  | 'GetDeploymentGroup'
  | 'BatchGetDeploymentGroups'
  | 'ListDeploymentGroups'
  | 'UpdateDeploymentGroup'
  | 'DeleteDeploymentGroup'
  | 'CreateDeploymentConfig'
  | 'GetDeploymentConfig'
  | 'ListDeploymentConfigs'
  | 'DeleteDeploymentConfig'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource';

/** The operations `deployment-handlers.ts` serves: deployments and their targets. */
export type CodeDeployDeploymentOperation = Exclude<keyof CodeDeployOperations, CodeDeployConfigOperation>;

/** The handlers of some CodeDeploy operations (one handler file's share). */
export type CodeDeployHandlers<K extends keyof CodeDeployOperations> = Handlers<
  Pick<CodeDeployOperations, K>
>;

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
export type CodeDeployOutput<K extends keyof CodeDeployOperations> = OutputOf<CodeDeployOperations, K>;
