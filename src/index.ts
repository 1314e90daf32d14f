/**
 * codepipeline-harness: prove an AWS release pipeline really works.
 *
 * @example
 * ```ts
 * import { Harness } from 'codepipeline-harness';
 * const harness = await Harness.start();   // sandbox by default; HARNESS_TARGET=aws for AWS
 * try {
 *   await harness.provision();
 *   const release = await harness.release();
 *   console.log(release.live?.instances, release.probe?.failures.total);
 * } finally {
 *   await harness.close();
 * }
 * ```
 */

// The run
export { Harness } from './harness.ts';
export type {
  CloseReport,
  ForcedFailure,
  HarnessOptions,
  Release,
  FollowDeploymentOptions,
  FollowedDeployment,
  SandboxHandle,
} from './harness.ts';

// Configuration and clients
export {
  ENV_KEYS,
  HarnessConfigSchema,
  loadConfig,
  MAX_DURATION_MS,
  MAX_TIME_SCALE,
  releaseTimeout,
  sandboxTimeScale,
} from './config.ts';
export type { HarnessConfig, HarnessConfigInput, LoadConfigOptions } from './config.ts';
export { createClients, DEFAULT_RETRY_POLICY, HarnessRetryStrategy } from './aws/clients.ts';
export type { CreateClientsOptions, HarnessClients, RetryPolicy, RetryStats } from './aws/clients.ts';

// Preflight
export { expectDoctor, formatDoctor, runDoctor } from './doctor/index.ts';
export type {
  DoctorCheck,
  DoctorCheckName,
  DoctorOptions,
  DoctorReport,
  FormatDoctorOptions,
} from './doctor/index.ts';

// Errors
export {
  AccessDeniedError,
  ApprovalNotOursError,
  ConfigError,
  CredentialsExpiredError,
  DeploymentFailedError,
  DeploymentReadyError,
  DeploymentRolledBackError,
  ExecutionFailedError,
  ExecutionNotFoundError,
  ExecutionStoppedError,
  ExecutionSupersededError,
  GuardRefusedError,
  HarnessError,
  LeakError,
  NotLiveError,
  RollbackNotProvenError,
  SourcePushError,
  StageTimeoutError,
  WaitTimeoutError,
} from './errors.ts';
export type {
  AccessDeniedOptions,
  AllowingStatement,
  BuildLog,
  Change,
  DeploymentErrorInfo,
  FailedAction,
  HarnessErrorOptions,
} from './errors.ts';

// Watching: AWS's events (EventBridge -> SQS) wake the waits; polling stays the safety net
export { Watch } from './watch/index.ts';
export type {
  ChannelTarget,
  EventsSetting,
  Watching,
  WatchOptions,
  WatchReport,
  WatchTopic,
  WatchedPollOptions,
} from './watch/index.ts';

// Waiting
export { isTransientError, poll, StopPolling } from './poll.ts';
export { attempt } from './attempt.ts';
export type { Attempt } from './attempt.ts';
export type { IntervalOptions, PollOptions, ProbeContext, TimeoutContext } from './poll.ts';

// Source
export { pushRevision, pushVersionBump } from './source/push.ts';
export type { PushOptions, PushResult } from './source/push.ts';
export type { SourceAuth } from './source/git.ts';

// Pipeline
export { Pipeline } from './pipeline/pipeline.ts';
export type { PipelineOptions } from './pipeline/pipeline.ts';
export { findExecution, tryFindExecution } from './pipeline/execution.ts';
export type { FindExecutionOptions } from './pipeline/execution.ts';
export { tryWaitForStage, waitForStage } from './pipeline/stages.ts';
export type { StageStatus, WaitForStageOptions } from './pipeline/stages.ts';
export { approve, reject, tryApprove, tryReject } from './pipeline/approval.ts';
export type { ApprovalOptions, ApprovalResult } from './pipeline/approval.ts';
export { failingTestsOf, readBuildLog } from './pipeline/build-log.ts';
export type { BuildLogClients, ReadBuildLogOptions } from './pipeline/build-log.ts';
export { Timeline } from './pipeline/timeline.ts';
export type { TimelineEntry } from './pipeline/timeline.ts';
export type {
  ActionObservation,
  ExecutionRef,
  PipelineContext,
  StageObservation,
} from './pipeline/observe.ts';

// Deploy
export {
  deploymentOf,
  deploymentPhase,
  deploymentsSince,
  expectedRollback,
  tryWaitForDeployment,
  waitForDeployment,
  waitForDeploymentEnd,
} from './deploy/deployment.ts';
export { assertStoppable, pushUnhealthyRevision, stopDeploymentWithRollback } from './deploy/force.ts';
export type {
  PushUnhealthyRevisionOptions,
  StopDeploymentOptions,
  StopDeploymentResult,
} from './deploy/force.ts';
export { expectRollback, checkRollback } from './deploy/rollback.ts';
export type { RollbackCheck, RollbackOptions, RollbackProof } from './deploy/rollback.ts';
export type {
  DeploymentObservation,
  DeploymentOfOptions,
  DeploymentOutcome,
  DeploymentPhase,
  DeploymentsSinceOptions,
  WaitForDeploymentOptions,
} from './deploy/deployment.ts';
export { lifecycleEvents } from './deploy/targets.ts';
export type { LifecycleEventInfo, TargetLifecycle } from './deploy/targets.ts';

// Traffic
export { loadBalancerUrl } from './traffic/url.ts';
export type { LoadBalancerUrlOptions } from './traffic/url.ts';
export { checkLive, expectLive } from './traffic/live.ts';
export type { LiveOptions, LiveResult } from './traffic/live.ts';
export { probeTraffic } from './traffic/probe.ts';
export type { Outage, ProbeOptions, ProbeReport, TrafficProbe, VersionSpan } from './traffic/probe.ts';
export type { Sample, SampleKind } from './traffic/sample.ts';

// Stacks and teardown
export { isRunResourceName, RUN_ID_PATTERN, RUN_ID_RULE, RUN_TAG, TEST_TARGET_TAG } from './stack/names.ts';
export type { StackNames } from './stack/names.ts';
export type { DeployTarget, PipelineShape } from './stack/pipeline-shape.ts';
export type { AdoptedStack } from './stack/existing-stack.ts';
export type { LedgerLike, StackOptions } from './stack/stack.ts';
export { Ledger } from './teardown/ledger.ts';
export type { LedgerEntry, TeardownOptions, TeardownReport } from './teardown/ledger.ts';
export { expectNoLeaks, checkLeaks } from './teardown/leaks.ts';
export type { LeakCheckOptions, LeakReport, Leftover, RunTag } from './teardown/leaks.ts';
export { Guard } from './teardown/guard.ts';
export type { GuardDecision, GuardedAction, GuardOptions, TagLookup } from './teardown/guard.ts';
export { expectSwept, sweep } from './teardown/sweep.ts';
export { narrowReport, runMatcher } from './teardown/sweep-match.ts';
export type { SweepOptions, SweepReport } from './teardown/sweep.ts';
export { BucketNotEmptiedError, emptyBucket, MAX_DELETE_BATCH } from './teardown/empty-bucket.ts';
export type { EmptyBucketOptions, EmptyBucketReport, KeyFailure } from './teardown/empty-bucket.ts';
