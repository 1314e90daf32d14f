/**
 * The ELBv2 operations the sandbox serves, with the SDK's input and output types: what each handler file
 * implements and `handlers.ts` assembles. An operation of the model absent here answers `NotImplemented`.
 */
import type * as Sdk from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Handlers, Operation, OutputOf, RequestContext } from '../types.ts';
import type { Elbv2Store } from './store.ts';
import type { TargetManager } from './targets.ts';

export interface Elbv2Operations {
  CreateLoadBalancer: Operation<Sdk.CreateLoadBalancerInput, Sdk.CreateLoadBalancerOutput>;
  DescribeLoadBalancers: Operation<Sdk.DescribeLoadBalancersInput, Sdk.DescribeLoadBalancersOutput>;
  DeleteLoadBalancer: Operation<Sdk.DeleteLoadBalancerInput, Sdk.DeleteLoadBalancerOutput>;
  DescribeLoadBalancerAttributes: Operation<
    Sdk.DescribeLoadBalancerAttributesInput,
    Sdk.DescribeLoadBalancerAttributesOutput
  >;
  ModifyLoadBalancerAttributes: Operation<
    Sdk.ModifyLoadBalancerAttributesInput,
    Sdk.ModifyLoadBalancerAttributesOutput
  >;
  CreateTargetGroup: Operation<Sdk.CreateTargetGroupInput, Sdk.CreateTargetGroupOutput>;
  DescribeTargetGroups: Operation<Sdk.DescribeTargetGroupsInput, Sdk.DescribeTargetGroupsOutput>;
  ModifyTargetGroup: Operation<Sdk.ModifyTargetGroupInput, Sdk.ModifyTargetGroupOutput>;
  DeleteTargetGroup: Operation<Sdk.DeleteTargetGroupInput, Sdk.DeleteTargetGroupOutput>;
  DescribeTargetGroupAttributes: Operation<
    Sdk.DescribeTargetGroupAttributesInput,
    Sdk.DescribeTargetGroupAttributesOutput
  >;
  ModifyTargetGroupAttributes: Operation<
    Sdk.ModifyTargetGroupAttributesInput,
    Sdk.ModifyTargetGroupAttributesOutput
  >;
  CreateListener: Operation<Sdk.CreateListenerInput, Sdk.CreateListenerOutput>;
  DescribeListeners: Operation<Sdk.DescribeListenersInput, Sdk.DescribeListenersOutput>;
  ModifyListener: Operation<Sdk.ModifyListenerInput, Sdk.ModifyListenerOutput>;
  DeleteListener: Operation<Sdk.DeleteListenerInput, Sdk.DeleteListenerOutput>;
  RegisterTargets: Operation<Sdk.RegisterTargetsInput, Sdk.RegisterTargetsOutput>;
  DeregisterTargets: Operation<Sdk.DeregisterTargetsInput, Sdk.DeregisterTargetsOutput>;
  DescribeTargetHealth: Operation<Sdk.DescribeTargetHealthInput, Sdk.DescribeTargetHealthOutput>;
  AddTags: Operation<Sdk.AddTagsInput, Sdk.AddTagsOutput>;
  RemoveTags: Operation<Sdk.RemoveTagsInput, Sdk.RemoveTagsOutput>;
  DescribeTags: Operation<Sdk.DescribeTagsInput, Sdk.DescribeTagsOutput>;
}

/** The handlers of some ELBv2 operations (one handler file's share). */
export type Elbv2Handlers<K extends keyof Elbv2Operations> = Handlers<Pick<Elbv2Operations, K>>;

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
export type Elbv2Output<K extends keyof Elbv2Operations> = OutputOf<Elbv2Operations, K>;

/** What every ELBv2 handler file is built from. */
export interface Elbv2HandlerDeps {
  readonly store: Elbv2Store;
  readonly targets: TargetManager;
}

/** `arn:aws:elasticloadbalancing:<region>:<account>`, the prefix of every ELBv2 ARN of the caller. */
export function arnPrefix(ctx: RequestContext): string {
  return `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.accountId}`;
}
