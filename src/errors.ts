/**
 * Every error the harness throws: one base class, stable `code`s, structured fields.
 *
 * Pattern from undici's `lib/core/errors.js`: each class sets `name` and `code`, carries the facts a
 * caller needs (`lastState`, `history`) and keeps the underlying `cause`. Messages name the culprit,
 * the phase and what to do; they never contain credentials or approval tokens.
 */

/** One observed change of a watched thing, with the time it was seen. */
export interface Change<T = unknown> {
  /** When the change was observed (not when it happened on AWS). */
  readonly at: Date;
  /** Milliseconds since the wait started. */
  readonly elapsedMs: number;
  /** The one-line description of the new state (what `describe` returned). */
  readonly summary: string;
  /** The observed state itself. */
  readonly state: T;
}

export interface HarnessErrorOptions {
  cause?: unknown;
  lastState?: unknown;
  history?: readonly Change[];
}

/**
 * Base class of every harness error.
 *
 * @example
 * ```ts
 * try { await pipeline.waitForStage(execution, 'Deploy', 'Succeeded'); }
 * catch (error) {
 *   if (error instanceof HarnessError) console.error(error.code, error.lastState, error.history.length);
 *   throw error;
 * }
 * ```
 */
export class HarnessError extends Error {
  /** Stable machine-readable code, e.g. `HARNESS_WAIT_TIMEOUT`. */
  readonly code: string = 'HARNESS_ERROR';
  /** The last state the harness observed before giving up, if it was watching something. */
  readonly lastState: unknown;
  /** Every change observed while waiting, oldest first (empty when nothing was watched). */
  readonly history: readonly Change[];

  constructor(message: string, options: HarnessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
    this.lastState = options.lastState;
    this.history = options.history ?? [];
  }
}

/** A configuration value is missing or malformed. `key` is the config path, `source` where it came from. */
export class ConfigError extends HarnessError {
  override readonly code = 'HARNESS_CONFIG';
  /** Dotted config path, e.g. `timeouts.deploy`. */
  readonly key: string;
  /** Where the value came from: an env var name (`HARNESS_TIMEOUT_DEPLOY`), a file path, `code` or `default`. */
  readonly source: string;
  constructor(message: string, fields: { key: string; source: string }, options: HarnessErrorOptions = {}) {
    super(message, options);
    this.name = 'ConfigError';
    this.key = fields.key;
    this.source = fields.source;
  }
}

/** A wait reached its deadline. The message says what was still observed; `lastState`/`history` hold it all. */
export class WaitTimeoutError extends HarnessError {
  override readonly code: string = 'HARNESS_WAIT_TIMEOUT';
  /** The deadline that passed, in ms. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options: HarnessErrorOptions = {}) {
    super(message, options);
    this.name = 'WaitTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** A pipeline stage did not reach the wanted status in time (a `WaitTimeoutError`). */
export class StageTimeoutError extends WaitTimeoutError {
  override readonly code = 'HARNESS_STAGE_TIMEOUT';
  readonly stage: string;
  readonly pipelineExecutionId: string;
  constructor(
    message: string,
    fields: { stage: string; pipelineExecutionId: string; timeoutMs: number },
    options: HarnessErrorOptions = {},
  ) {
    super(message, fields.timeoutMs, options);
    this.name = 'StageTimeoutError';
    this.stage = fields.stage;
    this.pipelineExecutionId = fields.pipelineExecutionId;
  }
}

/** Where an execution failed: the stage, the action and the action's `errorDetails`. */
export interface FailedAction {
  stage: string;
  action?: string;
  /** `errorDetails.code` as AWS gives it, e.g. `JobFailed`. */
  errorCode?: string;
  /** `errorDetails.message` as AWS gives it (for a build: `Build terminated with state: FAILED. Phase: BUILD, …`). */
  errorMessage?: string;
  externalExecutionId?: string;
  /** For a failed CodeBuild action: what its build's CloudWatch Logs stream says (or why it could not be read). */
  buildLog?: BuildLog;
}

/**
 * The log of a failed CodeBuild build, read through BatchGetBuilds and CloudWatch Logs GetLogEvents: on AWS the
 * action's `errorDetails` only name the command that failed; the test that failed is in the log.
 */
export interface BuildLog {
  /** `<project>:<uuid>`, the action's `externalExecutionId`. */
  buildId: string;
  /** e.g. `FAILED`, when the build could be read. */
  buildStatus?: string;
  /** e.g. `/aws/codebuild/<project>`. */
  groupName?: string;
  /** e.g. the build's uuid. */
  streamName?: string;
  /** The CloudWatch console link of the stream, as CodeBuild gives it. */
  deepLink?: string;
  /**
   * Tests the log reports failed: node --test TAP `not ok N - <name>` (not suites that failed only through a
   * subtest, not TODO/SKIP), spec reporter `✖ <name> (…ms)`. Empty when none is named.
   */
  failingTests: string[];
  /** The last lines the failing command printed (at most 40 lines, 4000 characters); '' when unread. */
  tail: string;
  /**
   * Set when the build or its log could not be read: why, and for a refused call the IAM action to allow
   * (`codebuild:BatchGetBuilds`, `logs:GetLogEvents`). The failure itself is reported either way.
   */
  unreadable?: string;
}

/** The pipeline execution ended `Failed`. `failed` names the stage/action and carries `errorDetails`. */
export class ExecutionFailedError extends HarnessError {
  override readonly code = 'HARNESS_EXECUTION_FAILED';
  readonly pipelineExecutionId: string;
  readonly failed: FailedAction | undefined;
  constructor(
    message: string,
    fields: { pipelineExecutionId: string; failed?: FailedAction },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'ExecutionFailedError';
    this.pipelineExecutionId = fields.pipelineExecutionId;
    this.failed = fields.failed;
  }
}

/** A newer execution replaced ours in front of a locked stage (SUPERSEDED mode, aws-semantics §2.3). */
export class ExecutionSupersededError extends HarnessError {
  override readonly code = 'HARNESS_EXECUTION_SUPERSEDED';
  readonly pipelineExecutionId: string;
  /** The execution that took our place, when it could be identified. */
  readonly supersededBy: string | undefined;
  constructor(
    message: string,
    fields: { pipelineExecutionId: string; supersededBy?: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'ExecutionSupersededError';
    this.pipelineExecutionId = fields.pipelineExecutionId;
    this.supersededBy = fields.supersededBy;
  }
}

/** The execution was stopped (`Stopping`/`Stopped`) or `Cancelled`. */
export class ExecutionStoppedError extends HarnessError {
  override readonly code = 'HARNESS_EXECUTION_STOPPED';
  readonly pipelineExecutionId: string;
  readonly status: string;
  readonly reason: string | undefined;
  constructor(
    message: string,
    fields: { pipelineExecutionId: string; status: string; reason?: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'ExecutionStoppedError';
    this.pipelineExecutionId = fields.pipelineExecutionId;
    this.status = fields.status;
    this.reason = fields.reason;
  }
}

/** No execution of the pipeline carries the commit (or the execution id is unknown). */
export class ExecutionNotFoundError extends HarnessError {
  override readonly code = 'HARNESS_EXECUTION_NOT_FOUND';
  readonly pipelineName: string;
  readonly commitId: string | undefined;
  constructor(
    message: string,
    fields: { pipelineName: string; commitId?: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'ExecutionNotFoundError';
    this.pipelineName = fields.pipelineName;
    this.commitId = fields.commitId;
  }
}

/** The open approval (if any) does not belong to our execution, or its token is no longer valid. */
export class ApprovalNotOursError extends HarnessError {
  override readonly code = 'HARNESS_APPROVAL_NOT_OURS';
  readonly pipelineExecutionId: string;
  /** The execution whose approval is open at that stage, when there is one. */
  readonly openFor: string | undefined;
  constructor(
    message: string,
    fields: { pipelineExecutionId: string; openFor?: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'ApprovalNotOursError';
    this.pipelineExecutionId = fields.pipelineExecutionId;
    this.openFor = fields.openFor;
  }
}

/** CodeDeploy `errorInformation` of a deployment. */
export interface DeploymentErrorInfo {
  code?: string;
  message?: string;
}

/** A CodeDeploy deployment ended `Failed` or `Stopped` without a rollback. */
export class DeploymentFailedError extends HarnessError {
  override readonly code: string = 'HARNESS_DEPLOYMENT_FAILED';
  readonly deploymentId: string;
  readonly status: string;
  readonly errorInformation: DeploymentErrorInfo | undefined;
  constructor(
    message: string,
    fields: { deploymentId: string; status: string; errorInformation?: DeploymentErrorInfo },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'DeploymentFailedError';
    this.deploymentId = fields.deploymentId;
    this.status = fields.status;
    this.errorInformation = fields.errorInformation;
  }
}

/** A deployment failed and CodeDeploy rolled it back: still a failure of the release (aws-semantics §3.10). */
export class DeploymentRolledBackError extends DeploymentFailedError {
  override readonly code = 'HARNESS_DEPLOYMENT_ROLLED_BACK';
  readonly rollbackDeploymentId: string;
  constructor(
    message: string,
    fields: {
      deploymentId: string;
      status: string;
      errorInformation?: DeploymentErrorInfo;
      rollbackDeploymentId: string;
    },
    options: HarnessErrorOptions = {},
  ) {
    super(message, fields, options);
    this.name = 'DeploymentRolledBackError';
    this.rollbackDeploymentId = fields.rollbackDeploymentId;
  }
}

/**
 * A blue/green deployment sits in `Ready` (green installed; `deploymentReadyOption` STOP_DEPLOYMENT waits for
 * ContinueDeployment, aws-semantics §3.2) and the harness was not told to continue it. `setting` names the setting
 * that lets it (`deploy.continueReady`, `HARNESS_CONTINUE_READY`).
 */
export class DeploymentReadyError extends HarnessError {
  override readonly code = 'HARNESS_DEPLOYMENT_READY';
  readonly deploymentId: string;
  readonly setting: string;
  constructor(
    message: string,
    fields: { deploymentId: string; setting: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'DeploymentReadyError';
    this.deploymentId = fields.deploymentId;
    this.setting = fields.setting;
  }
}

/** The load balancer did not serve the expected version (on every target) in time. `evidence` says who answered what. */
export class NotLiveError extends HarnessError {
  override readonly code = 'HARNESS_NOT_LIVE';
  readonly url: string;
  readonly version: string;
  readonly evidence: readonly unknown[];
  constructor(
    message: string,
    fields: { url: string; version: string; evidence: readonly unknown[] },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'NotLiveError';
    this.url = fields.url;
    this.version = fields.version;
    this.evidence = fields.evidence;
  }
}

/** A forced failure did not end in a proven rollback; `checks` lists which proofs failed. */
export class RollbackNotProvenError extends HarnessError {
  override readonly code = 'HARNESS_ROLLBACK_NOT_PROVEN';
  readonly deploymentId: string;
  readonly failedChecks: readonly string[];
  constructor(
    message: string,
    fields: { deploymentId: string; failedChecks: readonly string[] },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'RollbackNotProvenError';
    this.deploymentId = fields.deploymentId;
    this.failedChecks = fields.failedChecks;
  }
}

/** A destructive action on a resource this run did not create and that is not tagged as a test target. */
export class GuardRefusedError extends HarnessError {
  override readonly code = 'HARNESS_GUARD_REFUSED';
  readonly kind: string;
  readonly id: string;
  readonly action: string;
  constructor(
    message: string,
    fields: { kind: string; id: string; action: string },
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'GuardRefusedError';
    this.kind = fields.kind;
    this.id = fields.id;
    this.action = fields.action;
  }
}

/** Something is left after teardown (or teardown itself failed for some resources). */
export class LeakError extends HarnessError {
  override readonly code = 'HARNESS_LEAK';
  /** What is left, e.g. `{ kind: 'auto-scaling-group', id: 'CodeDeploy_dg_d-ABC' }`. */
  readonly leftovers: readonly { kind: string; id: string; reason?: string }[];
  constructor(
    message: string,
    leftovers: readonly { kind: string; id: string; reason?: string }[],
    options: HarnessErrorOptions = {},
  ) {
    super(message, options);
    this.name = 'LeakError';
    this.leftovers = leftovers;
  }
}

/** A statement of a policy shipped in `iam/` that allows a refused action. */
export interface AllowingStatement {
  /** The policy file, relative to the package (`iam/existing-stack-policy.json`). */
  readonly file: string;
  readonly sid: string;
  /** The statement's resources as written (with `${Region}`-style placeholders). */
  readonly resources: readonly string[];
}

/** What an {@link AccessDeniedError} knows of the refused call. */
export interface AccessDeniedOptions extends HarnessErrorOptions {
  action?: string;
  resource?: string;
  statements?: readonly AllowingStatement[];
}

/**
 * AWS refused the call for lack of permission or credentials: waiting cannot heal it. The message names the
 * action, the resource and the shipped policy statement that allows it (or the statement to add).
 *
 * @example
 * ```ts
 * catch (error) {
 *   if (error instanceof AccessDeniedError) console.error(error.action, error.resource, error.statements[0]?.sid);
 * }
 * ```
 */
export class AccessDeniedError extends HarnessError {
  override readonly code = 'HARNESS_ACCESS_DENIED';
  /** The AWS error name, e.g. `AccessDeniedException`. */
  readonly awsCode: string;
  /** The IAM action refused, e.g. `codedeploy:StopDeployment`, when known. */
  readonly action: string | undefined;
  /** The resource IAM evaluated, when AWS named it. */
  readonly resource: string | undefined;
  /** The shipped policy statements that allow {@link action}; empty when none does. */
  readonly statements: readonly AllowingStatement[];
  constructor(message: string, awsCode: string, options: AccessDeniedOptions = {}) {
    super(message, options);
    this.name = 'AccessDeniedError';
    this.awsCode = awsCode;
    this.action = options.action;
    this.resource = options.resource;
    this.statements = options.statements ?? [];
  }
}

/**
 * AWS refused a call because the caller's temporary credentials have expired (`ExpiredToken*`): not a missing
 * permission, so the fix is to refresh them (`aws sso login`, a new session), not to change a policy.
 */
export class CredentialsExpiredError extends HarnessError {
  override readonly code = 'HARNESS_CREDENTIALS_EXPIRED';
  /** The AWS error name, e.g. `ExpiredTokenException`. */
  readonly awsCode: string;
  constructor(message: string, awsCode: string, options: HarnessErrorOptions = {}) {
    super(message, options);
    this.name = 'CredentialsExpiredError';
    this.awsCode = awsCode;
  }
}

/** Pushing a revision to the source repository failed; `stderr` is git's output with secrets removed. */
export class SourcePushError extends HarnessError {
  override readonly code = 'HARNESS_SOURCE_PUSH';
  readonly stderr: string;
  constructor(message: string, stderr: string, options: HarnessErrorOptions = {}) {
    super(message, options);
    this.name = 'SourcePushError';
    this.stderr = stderr;
  }
}

/** Formats a duration for messages: `850ms`, `12.5s`, `10m`, `1h 5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return seconds ? `${minutes}m ${seconds}s` : `${minutes}m`;
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)}h ${rest}m` : `${Math.floor(minutes / 60)}h`;
}

/** What a check observed, without throwing: the value, or the typed harness error it would have thrown. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: HarnessError };

/**
 * Turns any assert form into a result form: resolves `{ ok: false, error }` for a `HarnessError` (a failed
 * check) and still rejects for anything else (a bug, a network failure that outlived the retries).
 *
 * @example
 * ```ts
 * const approval = await outcome(pipeline.approve(execution, { summary: 'ok', timeout: 0 }));
 * if (!approval.ok && approval.error instanceof ApprovalNotOursError) console.log('not ours:', approval.error.openFor);
 * ```
 */
export async function outcome<T>(check: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await check };
  } catch (error) {
    if (error instanceof HarnessError) return { ok: false, error };
    throw error;
  }
}
