/**
 * SDK v3 clients pointed at a sandbox (or any endpoint), with fake credentials.
 *
 * @example
 * const { codepipeline } = sdkClients(sandbox.endpoint);
 * await codepipeline.send(new ListPipelinesCommand({}));
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

export interface SdkClientOptions {
  /** SDK attempts per call (1 = no retries, so injected faults surface at once). @default 3 */
  maxAttempts?: number;
  /** @default 'us-east-1' */
  region?: string;
}

export interface SdkClients {
  codepipeline: CodePipelineClient;
  codedeploy: CodeDeployClient;
  elbv2: ElasticLoadBalancingV2Client;
  autoscaling: AutoScalingClient;
  codecommit: CodeCommitClient;
  /** Closes every client's sockets. */
  destroy(): void;
}

/** The fake credentials every sandbox test uses. */
export const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** One client per sandbox service, all on `endpoint`. Call `destroy()` in `afterAll`. */
export function sdkClients(endpoint: string, options: SdkClientOptions = {}): SdkClients {
  const config = {
    endpoint,
    region: options.region ?? 'us-east-1',
    credentials: FAKE_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 3,
  };
  const clients = {
    codepipeline: new CodePipelineClient(config),
    codedeploy: new CodeDeployClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    autoscaling: new AutoScalingClient(config),
    codecommit: new CodeCommitClient(config),
  };
  return {
    ...clients,
    destroy() {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}
