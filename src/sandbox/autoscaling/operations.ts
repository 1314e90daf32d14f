/**
 * The AutoScaling operations the sandbox serves, with the SDK's input and output types: what `handlers.ts`
 * implements. An operation of the model absent here answers `NotImplemented`.
 */
import type * as Sdk from '@aws-sdk/client-auto-scaling';
import type { Handlers, Operation, OutputOf } from '../types.ts';

/** The output of an operation whose model declares none: an empty object. */
export type NoOutput = Record<string, never>;

export interface AutoScalingOperations {
  CreateAutoScalingGroup: Operation<Sdk.CreateAutoScalingGroupType, NoOutput>;
  DescribeAutoScalingGroups: Operation<Sdk.AutoScalingGroupNamesType, Sdk.AutoScalingGroupsType>;
  UpdateAutoScalingGroup: Operation<Sdk.UpdateAutoScalingGroupType, NoOutput>;
  DeleteAutoScalingGroup: Operation<Sdk.DeleteAutoScalingGroupType, NoOutput>;
}

/** The handlers of some AutoScaling operations. */
export type AutoScalingHandlers<K extends keyof AutoScalingOperations> = Handlers<
  Pick<AutoScalingOperations, K>
>;

/** An operation's output type, for the handlers' declared return types (see {@link OutputOf}). */
export type AutoScalingOutput<K extends keyof AutoScalingOperations> = OutputOf<AutoScalingOperations, K>;
