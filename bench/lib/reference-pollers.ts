/**
 * The pollers users follow a CodeDeploy deployment with today, each on its own SDK client with an
 * {@link ApiRecorder}: the SDK's `waitUntilDeploymentSuccessful` with its defaults (minDelay 15 s, maxDelay
 * 120 s, first check at once) and a fixed-interval GetDeployment loop like `aws deploy wait
 * deployment-successful` (15 s) or a script's `sleep 10`.
 *
 * @example
 * const run = await fixedIntervalPoller({ endpoint, deploymentId, intervalMs: 15_000, signal });
 * run.recorder.calls.length;
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  waitUntilDeploymentSuccessful,
} from '@aws-sdk/client-codedeploy';
import { ApiRecorder } from './recorder.ts';

export interface PollerOptions {
  endpoint: string;
  /** The region the deployment is in (the harness config's). @default 'us-east-1' */
  region?: string;
  deploymentId: string;
  signal: AbortSignal;
  /** Give up after this long. @default 120_000 */
  maxWaitMs?: number;
}

export interface PollerRun {
  name: string;
  recorder: ApiRecorder;
  /** Final status seen, or the error that ended the poller. */
  outcome: string;
}

const FINAL = new Set(['Succeeded', 'Failed', 'Stopped']);

function client(endpoint: string, recorder: ApiRecorder, region = 'us-east-1'): CodeDeployClient {
  return recorder.attach(
    new CodeDeployClient({
      endpoint,
      region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
}

/** `waitUntilDeploymentSuccessful({ client, maxWaitTime }, { deploymentId })` with the SDK's default delays. */
export async function sdkWaiter(options: PollerOptions): Promise<PollerRun> {
  const recorder = new ApiRecorder();
  const codedeploy = client(options.endpoint, recorder, options.region);
  try {
    const result = await waitUntilDeploymentSuccessful(
      {
        client: codedeploy,
        maxWaitTime: Math.ceil((options.maxWaitMs ?? 120_000) / 1000),
        abortSignal: options.signal,
      },
      { deploymentId: options.deploymentId },
    );
    return { name: 'SDK waitUntilDeploymentSuccessful', recorder, outcome: result.state };
  } catch (error) {
    return {
      name: 'SDK waitUntilDeploymentSuccessful',
      recorder,
      outcome: `error: ${(error as Error).message}`,
    };
  } finally {
    codedeploy.destroy();
  }
}

/** GetDeployment, then sleep `intervalMs`, until the status is final (first call at once, as the CLI does). */
export async function fixedIntervalPoller(
  options: PollerOptions & { intervalMs: number },
): Promise<PollerRun> {
  const recorder = new ApiRecorder();
  const codedeploy = client(options.endpoint, recorder, options.region);
  const name = `fixed ${options.intervalMs / 1000} s GetDeployment loop`;
  const deadline = Date.now() + (options.maxWaitMs ?? 120_000);
  try {
    for (;;) {
      const out = await codedeploy.send(new GetDeploymentCommand({ deploymentId: options.deploymentId }));
      const status = out.deploymentInfo?.status ?? 'unknown';
      if (FINAL.has(status)) return { name, recorder, outcome: status };
      if (Date.now() + options.intervalMs > deadline)
        return { name, recorder, outcome: `gave up at ${status}` };
      await sleep(options.intervalMs, undefined, { signal: options.signal });
    }
  } catch (error) {
    return { name, recorder, outcome: `error: ${(error as Error).message}` };
  } finally {
    codedeploy.destroy();
  }
}
