/**
 * SDK v3 clients for the harness. The only module that knows where AWS is: the sandbox target gets the
 * sandbox endpoint and fake static credentials, the aws target the SDK's default credential chain.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HarnessConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';

/** The clients every harness module takes. */
export interface HarnessClients {
  codepipeline: CodePipelineClient;
  codedeploy: CodeDeployClient;
  elbv2: ElasticLoadBalancingV2Client;
  autoscaling: AutoScalingClient;
  /** For repositories the run creates (the sandbox stack) and the leak check; optional for callers. */
  codecommit?: CodeCommitClient;
}

/** Fake credentials for the sandbox: it checks nothing, but the SDK must sign. */
const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * Builds the four clients from config; any client passed in `given` is used as is (e.g. one whose `send`
 * aws-sdk-client-mock stubs, or one with the caller's own credentials).
 *
 * @throws ConfigError when the target is `sandbox` and no endpoint is configured.
 * @example
 * ```ts
 * const clients = createClients(loadConfig({ overrides: { endpoint: sandbox.endpoint } }));
 * await clients.codepipeline.send(new GetPipelineStateCommand({ name: 'awscicd-cap-pipeline' }));
 * ```
 */
export function createClients(
  config: Pick<HarnessConfig, 'target' | 'region' | 'endpoint'>,
  given: Partial<HarnessClients> = {},
): HarnessClients & { codecommit: CodeCommitClient } {
  const missing = (['codepipeline', 'codedeploy', 'elbv2', 'autoscaling', 'codecommit'] as const).some(
    (k) => !given[k],
  );
  let options: ConstructorParameters<typeof CodePipelineClient>[0] = { region: config.region };
  if (config.target === 'sandbox') {
    if (!config.endpoint && missing) {
      throw new ConfigError(
        'HARNESS_ENDPOINT (endpoint) is required when target is sandbox; start the sandbox and pass its ' +
          'endpoint (e.g. http://127.0.0.1:4566), or set HARNESS_TARGET=aws',
        { key: 'endpoint', source: 'default' },
      );
    }
    options = { region: config.region, endpoint: config.endpoint, credentials: SANDBOX_CREDENTIALS };
  } else if (config.endpoint) {
    // An explicit endpoint on aws (VPC endpoint, another emulator) with the default credential chain.
    options = { region: config.region, endpoint: config.endpoint };
  }
  return {
    codepipeline: given.codepipeline ?? new CodePipelineClient(options),
    codedeploy: given.codedeploy ?? new CodeDeployClient(options),
    elbv2: given.elbv2 ?? new ElasticLoadBalancingV2Client(options),
    autoscaling: given.autoscaling ?? new AutoScalingClient(options),
    codecommit: given.codecommit ?? new CodeCommitClient(options),
  };
}

/** Closes the clients' sockets (call at the end of a run). */
export function destroyClients(clients: HarnessClients): void {
  clients.codepipeline.destroy();
  clients.codedeploy.destroy();
  clients.elbv2.destroy();
  clients.autoscaling.destroy();
  clients.codecommit?.destroy();
}
