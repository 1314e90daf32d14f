/**
 * The contract between the stack engine and a resource type: create from resolved properties, answer `Ref` (the
 * physical id) and `Fn::GetAtt` (attributes), delete. A provider either calls a sandbox service (backed types)
 * or only records an AWS-shaped id (recorded-only types, listed in the module's doc comment and the README).
 */
import type { AutoScalingService } from '../../autoscaling/index.ts';
import type { Clock } from '../../clock.ts';
import type { CodeCommitService } from '../../codecommit/index.ts';
import type { CodeDeployService } from '../../codedeploy/index.ts';
import type { CodePipelineService } from '../../codepipeline/index.ts';
import type { Elbv2Service } from '../../elbv2/index.ts';
import type { EventBridgeService, SqsService } from '../../events/index.ts';
import type { LogsService } from '../../logs/index.ts';
import type { RequestContext } from '../../types.ts';

/** `{Key, Value}`, the way CloudFormation and most services spell a tag. */
export interface Tag {
  Key: string;
  Value: string;
}

/**
 * The in-process S3 the sandbox may have (`src/sandbox/s3/`); without it buckets are recorded only.
 * `deleteBucket` throws an error named `BucketNotEmpty` while the bucket holds objects.
 */
export interface BucketStore {
  createBucket(name: string, options: { versioned?: boolean; tags?: Record<string, string> }): unknown;
  deleteBucket(name: string): unknown;
  hasBucket(name: string): boolean;
}

/** The sandbox services providers call. */
export interface ProviderServices {
  readonly codecommit: CodeCommitService;
  readonly elbv2: Elbv2Service;
  readonly autoscaling: AutoScalingService;
  readonly codedeploy: CodeDeployService;
  readonly codepipeline: CodePipelineService;
  readonly logs: LogsService;
  readonly s3?: BucketStore;
  /** Without them, queues and rules are recorded only. */
  readonly sqs?: SqsService;
  readonly events?: EventBridgeService;
}

/** What a provider knows about the resource it works on. */
export interface ProviderContext {
  readonly stackName: string;
  readonly stackId: string;
  readonly logicalId: string;
  readonly region: string;
  readonly accountId: string;
  /** For service handlers called in-process. */
  readonly request: RequestContext;
  readonly services: ProviderServices;
  readonly clock: Clock;
  /** Aborted when the sandbox stops. */
  readonly signal: AbortSignal;
  /** The stack's tags (CreateStack `Tags`), propagated to taggable resources as on AWS (reference §2.8). */
  readonly stackTags: readonly Tag[];
  /** `aws:cloudformation:stack-name`, `stack-id`, `logical-id`. */
  readonly systemTags: readonly Tag[];
  /** The resource's `CreationPolicy`, resolved. */
  readonly creationPolicy?: Record<string, unknown>;
  /**
   * A generated name `<stack>-<LogicalId>-<RANDOM>` cut to `maxLength` (reference §2.1), for resources
   * whose name property is not set.
   */
  physicalName(maxLength: number, options?: { lowercase?: boolean }): string;
}

/** A created resource. */
export interface Created {
  readonly physicalId: string;
  /** What `Fn::GetAtt` answers. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** A resource as the stack holds it, for delete. */
export interface ExistingResource {
  readonly physicalId: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface ResourceProvider {
  readonly type: string;
  /** True for types with no sandbox behaviour: the id and attributes are recorded only. */
  readonly recordedOnly: boolean;
  /** The `Fn::GetAtt` attributes of the type (reference §3.1). */
  readonly attributes: readonly string[];
  /** Roughly how long the create takes on AWS, in seconds (scaled by the sandbox's time scale). */
  readonly createSeconds: number;
  /** Roughly how long the delete takes on AWS, in seconds. */
  readonly deleteSeconds: number;
  create(properties: Record<string, unknown>, ctx: ProviderContext): Promise<Created>;
  /**
   * Waits until the created resource is usable (a `CreationPolicy`'s signals); runs after the create's AWS
   * time. A failure here fails the resource, which is then deleted by the rollback like any created one.
   */
  stabilize?(created: Created, ctx: ProviderContext): Promise<void>;
  /** Deletes; a resource already gone is success (the handler contract, reference §2.7). */
  delete(resource: ExistingResource, ctx: ProviderContext): Promise<void>;
}

/**
 * A resource failure whose reason is already worded as CloudFormation shows it in the resource's `*_FAILED`
 * event (no handler decoration added).
 */
export class ResourceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceFailure';
  }
}
