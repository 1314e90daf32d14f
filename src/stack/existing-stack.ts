/**
 * `ExistingStack`: a team's pipeline on AWS, used as it is. The harness creates nothing of it (so teardown
 * deletes nothing of it); adopting it checks the pipeline can be read and learns the version every target of
 * its load balancer serves now, which becomes the scenario's "previous version".
 */
import { type CodePipelineClient, GetPipelineCommand } from '@aws-sdk/client-codepipeline';
import { HarnessError } from '../errors.ts';
import { errorLine } from '../poll.ts';
import { localhostAgent } from '../traffic/agent.ts';
import type { LiveResult } from '../traffic/live.ts';
import { describeSample, sample } from '../traffic/sample.ts';

export interface AdoptOptions {
  codepipeline: CodePipelineClient;
  pipelineName: string;
  region: string;
  /** The load balancer's URL (see `loadBalancerUrl`). */
  url: string;
  /** Path that answers with the version headers. @default '/version' */
  path?: string;
  /** @default 2000 (ms) */
  requestTimeoutMs?: number;
  /** The live check of the harness, bound to its options (every target, consecutive answers, deadline). */
  checkLive: (version: string) => Promise<LiveResult>;
}

/** What adopting found: the version served everywhere, and the responses that prove it. */
export interface AdoptedStack {
  version: string;
  evidence: LiveResult['evidence'];
}

/**
 * @throws HarnessError when the pipeline cannot be read, the app does not tell its version, or the targets
 *   serve different versions (a deployment may be running: try again later).
 * @example
 * ```ts
 * const { version } = await adoptExistingStack({ codepipeline, pipelineName, region, url, checkLive });
 * ```
 */
export async function adoptExistingStack(options: AdoptOptions): Promise<AdoptedStack> {
  const { pipelineName, region, url } = options;
  await options.codepipeline.send(new GetPipelineCommand({ name: pipelineName })).catch((error) => {
    throw new HarnessError(
      `pipeline ${pipelineName} cannot be read in ${region} (${errorLine(error)}); ` +
        'set HARNESS_PIPELINE_NAME and HARNESS_REGION to your pipeline',
      { cause: error },
    );
  });
  const dispatcher = localhostAgent();
  const first = await sample(new URL(options.path ?? '/version', url).toString(), {
    dispatcher,
    timeoutMs: options.requestTimeoutMs ?? 2000,
  }).finally(() => dispatcher.close());
  if (!first.version) {
    throw new HarnessError(
      `the load balancer at ${url} does not tell its version (${describeSample(first)}); the app must send x-app-version`,
      { lastState: first },
    );
  }
  const live = await options.checkLive(first.version);
  if (!live.live) {
    throw new HarnessError(`the targets behind ${url} do not all serve one version: ${live.reason}`, {
      lastState: live.instances,
    });
  }
  return { version: first.version, evidence: live.evidence };
}
