/**
 * SDK v3 clients for the harness. The only module that knows where AWS is: the sandbox target gets the
 * sandbox endpoint and the sandbox's credentials (`sandboxCredentials`, test/test by default), the aws target the
 * SDK's default credential chain. Every client built here retries with the harness's policy (`retry.ts`): every
 * AWS call the library makes, in a wait or not.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient, type CodePipelineClientConfig } from '@aws-sdk/client-codepipeline';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { HarnessConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { explainDenialsOf } from './denied.ts';
import { DEFAULT_RETRY_POLICY, HarnessRetryStrategy, type RetryPolicy } from './retry.ts';

export { DEFAULT_RETRY_POLICY, HarnessRetryStrategy };
export type { RetryPolicy, RetryStats } from './retry.ts';

/** The clients every harness module takes. */
export interface HarnessClients {
  codepipeline: CodePipelineClient;
  codedeploy: CodeDeployClient;
  elbv2: ElasticLoadBalancingV2Client;
  autoscaling: AutoScalingClient;
  /** For repositories the run creates (the sandbox stack) and the leak check; optional for callers. */
  codecommit?: CodeCommitClient;
  /** With `logs`: reads a failed build (BatchGetBuilds) to name the failing test; optional for callers. */
  codebuild?: CodeBuildClient;
  /** With `codebuild`: reads a failed build's log (GetLogEvents); optional for callers. */
  logs?: CloudWatchLogsClient;
  /** Empties the run's versioned artifact bucket before its stack is deleted (`emptyBucket`); optional for callers. */
  s3?: S3Client;
  /** Creates and deletes the run's stack (`stack: ephemeral`) and finds a killed run's stacks; optional for callers. */
  cloudformation?: CloudFormationClient;
  /** With `sqs`: the run's rule for AWS's state-change events (src/watch, setting `events`); optional for callers. */
  events?: EventBridgeClient;
  /** With `events`: the run's queue the rule delivers to, long-polled; optional for callers. */
  sqs?: SQSClient;
}

/** The sandbox's default credentials (it accepts only its own: test/test unless started with others). */
const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Options of {@link createClients}. */
export interface CreateClientsOptions {
  /**
   * The retry policy of the clients built here (not of clients passed in `given`).
   * @default {@link DEFAULT_RETRY_POLICY}: 10 attempts, full-jitter backoff from 100 ms (500 ms after throttling)
   *   capped at 5 s, throttling / 5xx / network errors only, 3 attempts when nothing accepts the connection
   */
  retry?: RetryPolicy;
}

/**
 * Builds the clients from config; any client passed in `given` is used as is (e.g. one whose `send`
 * aws-sdk-client-mock stubs, or one with the caller's own credentials).
 *
 * The clients built here share one {@link HarnessRetryStrategy}: a call answered with throttling, a 5xx or a
 * network error is retried up to 10 attempts with capped, fully jittered exponential backoff, and no retry quota
 * runs dry under a sustained throttle (the SDK's default is 3 attempts and a 500-token quota per client). Clients
 * passed in `given` are the caller's and keep their own retry settings: to give them the same policy, build them
 * with `retryStrategy: new HarnessRetryStrategy()`.
 *
 * @throws ConfigError when the target is `sandbox` and no endpoint is configured.
 * @example
 * ```ts
 * const clients = createClients(loadConfig({ overrides: { endpoint: sandbox.endpoint } }));
 * await clients.codepipeline.send(new GetPipelineStateCommand({ name: 'awscicd-cap-pipeline' }));
 * ```
 */
export function createClients(
  config: Pick<HarnessConfig, 'target' | 'region' | 'endpoint'> &
    Partial<Pick<HarnessConfig, 'sandboxCredentials' | 'stack'>>,
  given: Partial<HarnessClients> = {},
  options: CreateClientsOptions = {},
): HarnessClients & {
  codecommit: CodeCommitClient;
  codebuild: CodeBuildClient;
  logs: CloudWatchLogsClient;
  s3: S3Client;
  cloudformation: CloudFormationClient;
  events: EventBridgeClient;
  sqs: SQSClient;
} {
  const missing = (
    [
      'codepipeline',
      'codedeploy',
      'elbv2',
      'autoscaling',
      'codecommit',
      'codebuild',
      'logs',
      's3',
      'cloudformation',
      'events',
      'sqs',
    ] as const
  ).some((k) => !given[k]);
  const retryStrategy = new HarnessRetryStrategy(options.retry) satisfies NonNullable<
    CodePipelineClientConfig['retryStrategy']
  >;
  // maxAttempts only feeds the `amz-sdk-request: attempt=n; max=m` header here: the strategy decides.
  const retry = { retryStrategy, maxAttempts: retryStrategy.policy.maxAttempts };
  let settings: ConstructorParameters<typeof CodePipelineClient>[0] = { region: config.region, ...retry };
  if (config.target === 'sandbox') {
    if (!config.endpoint && missing) {
      throw new ConfigError(
        'HARNESS_ENDPOINT (endpoint) is required when target is sandbox; start the sandbox and pass its ' +
          'endpoint (e.g. http://127.0.0.1:4566), or set HARNESS_TARGET=aws',
        { key: 'endpoint', source: 'default' },
      );
    }
    // The sandbox's own credentials (sandboxCredentials), never the AWS_* ones of the environment.
    const own = config.sandboxCredentials;
    const credentials = own
      ? { accessKeyId: own.accessKeyId, secretAccessKey: own.secretAccessKey }
      : SANDBOX_CREDENTIALS;
    settings = { ...settings, endpoint: config.endpoint, credentials };
  } else if (config.endpoint) {
    // An explicit endpoint on aws (VPC endpoint, another emulator) with the default credential chain.
    settings = { ...settings, endpoint: config.endpoint };
  }
  // The same settings for clients whose config type differs from CodePipeline's (EventBridge, SQS).
  const plain = {
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...retry,
  };
  const clients = {
    codepipeline: given.codepipeline ?? new CodePipelineClient(settings),
    codedeploy: given.codedeploy ?? new CodeDeployClient(settings),
    elbv2: given.elbv2 ?? new ElasticLoadBalancingV2Client(settings),
    autoscaling: given.autoscaling ?? new AutoScalingClient(settings),
    codecommit: given.codecommit ?? new CodeCommitClient(settings),
    codebuild: given.codebuild ?? new CodeBuildClient(settings),
    logs: given.logs ?? new CloudWatchLogsClient(settings),
    cloudformation: given.cloudformation ?? new CloudFormationClient(settings),
    events: given.events ?? new EventBridgeClient(plain),
    // With an endpoint (the sandbox) the SDK sends queue calls there, not to the queue URL's host.
    sqs: given.sqs ?? new SQSClient(plain),
    // The sandbox serves S3 path-style only (`http://127.0.0.1:<port>/<bucket>/<key>`): no bucket subdomains.
    s3:
      given.s3 ??
      new S3Client({
        region: settings.region,
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
        ...(settings.credentials ? { credentials: settings.credentials } : {}),
        ...retry,
        forcePathStyle: config.target === 'sandbox',
      }),
  };
  // Denials on the clients built here say which policy statement allows the refused action.
  for (const [name, client] of Object.entries(clients)) {
    if (!given[name as keyof HarnessClients]) explainDenialsOf(client, config.stack);
  }
  return clients;
}

/** Closes the clients' sockets (call at the end of a run). */
export function destroyClients(clients: HarnessClients): void {
  clients.codepipeline.destroy();
  clients.codedeploy.destroy();
  clients.elbv2.destroy();
  clients.autoscaling.destroy();
  clients.codecommit?.destroy();
  clients.codebuild?.destroy();
  clients.logs?.destroy();
  clients.s3?.destroy();
  clients.cloudformation?.destroy();
  clients.events?.destroy();
  clients.sqs?.destroy();
}
