/**
 * CloudFormation in the sandbox: stacks from templates (YAML or JSON) onto the sandbox's own services, on the real
 * protocol (awsQuery, 2010-05-15), for the AWS SDKs and `aws cloudformation`. The subset: CreateStack,
 * DescribeStacks, ListStacks, DescribeStackEvents, DescribeStackResources, DescribeStackResource,
 * ListStackResources, DeleteStack, GetTemplate, GetTemplateSummary, ValidateTemplate, and change sets that create a
 * stack (Create/Describe/Execute/Delete/ListChangeSets: `aws cloudformation deploy`; no stack updates, a re-deploy
 * that changes nothing is the empty change set AWS answers). The template language: Parameters (with
 * AllowedValues / AllowedPattern / bounds, and SSM-typed AMI parameters resolved to a fake AMI id), Rules,
 * Conditions, Mappings, Outputs, `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`,
 * `Fn::GetAZs`, `Fn::If`, `Fn::Equals` / `And` / `Or` / `Not`, `Fn::Base64`, `Fn::Cidr`, `Fn::FindInMap`,
 * `Fn::ImportValue`, pseudo parameters, `DependsOn`, `DeletionPolicy`, `CreationPolicy` (ASG signals = instances
 * in service). Resources are created in dependency order (independent ones at once), deleted in reverse; a failed
 * create rolls back; statuses, events and their reasons are worded as AWS words them.
 *
 * Backed types (the resource exists in a sandbox service): `AWS::CodeCommit::Repository`,
 * `AWS::ElasticLoadBalancingV2::LoadBalancer` / `TargetGroup` / `Listener`, `AWS::AutoScaling::AutoScalingGroup`,
 * `AWS::CodeDeploy::Application` / `DeploymentGroup`, `AWS::CodePipeline::Pipeline`, `AWS::Logs::LogGroup`,
 * `AWS::S3::Bucket`, `AWS::SQS::Queue` / `QueuePolicy`, and `AWS::Events::Rule` (its SQS targets; other targets,
 * such as the pipeline a CodeCommit rule starts, are recorded only: the sandbox's CodePipeline starts on a push by
 * itself; schedule rules are recorded only). Each falls back to recorded only in a sandbox without that service.
 *
 * Recorded-only types (an AWS-shaped id and the attributes `Fn::GetAtt` needs, no behaviour):
 * `AWS::EC2::VPC`, `InternetGateway`, `VPCGatewayAttachment`, `Subnet`, `RouteTable`, `Route`,
 * `SubnetRouteTableAssociation`, `SecurityGroup`, `SecurityGroupIngress`, `SecurityGroupEgress`, `LaunchTemplate`;
 * `AWS::IAM::Role`, `ManagedPolicy`, `Policy`, `InstanceProfile`; `AWS::S3::BucketPolicy`; `AWS::SSM::Parameter`;
 * `AWS::CodeBuild::Project` (the sandbox's CodeBuild builds under any project name a pipeline gives);
 * `AWS::SNS::Topic`. Any other type fails the create with
 * `Template format error: Unrecognized resource types: [...]`.
 *
 * @example
 * const sandbox = await startSandbox({ timeScale: 0.01 });
 * // aws --endpoint-url ${sandbox.endpoint} cloudformation create-stack --stack-name web \
 * //   --template-body file://sample-app/infra/capstone.yaml --capabilities CAPABILITY_NAMED_IAM \
 * //   --parameters ParameterKey=RunId,ParameterValue=r1
 * sandbox.services.cloudformation.store.find('web')?.status; // 'CREATE_IN_PROGRESS', later 'CREATE_COMPLETE'
 */
import type { Handler, SandboxRuntime, SandboxService } from '../types.ts';
import { StackEngine } from './engine.ts';
import { createHandlers } from './handlers.ts';
import { type ProviderServices, resourceProviders } from './providers/index.ts';
import { StackStore } from './store.ts';

export type { BucketStore, ProviderServices, ResourceProvider } from './providers/index.ts';
export { recordedOnlyTypes } from './providers/index.ts';
export type { StackRecord, StackStatus, ResourceStatus } from './store.ts';

export interface CloudFormationOptions {
  /** Unexpected failures inside a stack operation (the stack shows a resource failure too). */
  onInternalError?: (error: unknown, where: string) => void;
}

export class CloudFormationService implements SandboxService {
  readonly name = 'cloudformation' as const;
  readonly runtime: SandboxRuntime;
  readonly store = new StackStore();
  readonly engine: StackEngine;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly #services: ProviderServices;

  constructor(runtime: SandboxRuntime, services: ProviderServices, options: CloudFormationOptions = {}) {
    this.runtime = runtime;
    this.#services = services;
    const providers = resourceProviders();
    this.engine = new StackEngine({
      runtime,
      store: this.store,
      providers,
      services: () => this.#services,
      ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
    });
    this.handlers = createHandlers({ store: this.store, engine: this.engine, providers });
  }

  /** Forgets every stack (the resources stay in their services, whose own reset clears them). */
  async reset(): Promise<void> {
    await this.engine.abortAll();
    this.store.clear();
  }

  /** Ends the stack operations under way (their stacks stay as they are) and waits for them. */
  async stop(): Promise<void> {
    await this.engine.abortAll();
  }
}
