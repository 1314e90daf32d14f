/**
 * The errors of a CloudFormation stack operation. Kept next to the stack code (one concept); each is a
 * `HarnessError` with a stable code, the stack's last observed state and the resource events that explain it.
 */
import { HarnessError, type HarnessErrorOptions } from '../../errors.ts';

/** One resource that failed, as its stack event reports it. */
export interface ResourceFailure {
  /** The template's logical id, e.g. `AutoScalingGroup`. */
  logicalId: string;
  /** e.g. `AWS::AutoScaling::AutoScalingGroup`. */
  type: string;
  /** e.g. `CREATE_FAILED`, `DELETE_FAILED`. */
  status: string;
  /** CloudFormation's `ResourceStatusReason`: the service's own error, the real cause. */
  reason: string;
  physicalId?: string | undefined;
}

/**
 * A stack did not reach the status the run waited for: its create failed (`ROLLBACK_*`, `CREATE_FAILED`) or its
 * delete failed (`DELETE_FAILED`). `failures` holds the failed resources with their reasons, root cause first.
 *
 * @example
 * ```ts
 * try { await createEphemeralStack(options); }
 * catch (error) {
 *   if (error instanceof StackOperationError) console.error(error.status, error.failures[0]?.reason);
 *   throw error;
 * }
 * ```
 */
export class StackOperationError extends HarnessError {
  override readonly code = 'HARNESS_STACK_FAILED';
  /** The stack's name (or id when only that was known). */
  readonly stackName: string;
  /** `create` or `delete`. */
  readonly operation: 'create' | 'delete';
  /** The status the stack ended in, e.g. `ROLLBACK_COMPLETE`, `DELETE_FAILED`. */
  readonly status: string;
  /** The resources that failed, oldest (the root cause) first. */
  readonly failures: readonly ResourceFailure[];
  constructor(
    message: string,
    fields: {
      stackName: string;
      operation: 'create' | 'delete';
      status: string;
      failures: readonly ResourceFailure[];
    },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'StackOperationError';
    this.stackName = fields.stackName;
    this.operation = fields.operation;
    this.status = fields.status;
    this.failures = fields.failures;
  }
}
