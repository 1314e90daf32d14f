/**
 * Adopting a team's stack: the version every target of its load balancer serves now, which becomes the
 * scenario's "previous version". The pipeline itself is read by `readPipelineShape` (its stages, source and
 * deployment group); nothing of the stack is created.
 */
import { HarnessError } from '../errors.ts';
import { localhostAgent } from '../traffic/agent.ts';
import type { LiveResult } from '../traffic/live.ts';
import { describeSample, sample } from '../traffic/sample.ts';

export interface AdoptOptions {
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
 * @throws HarnessError when the app does not tell its version, or the targets serve different versions (a
 *   deployment may be running: try again later).
 * @example
 * ```ts
 * const { version } = await adoptExistingStack({ url, checkLive: (v) => checkLive(url, v, options) });
 * ```
 */
export async function adoptExistingStack(options: AdoptOptions): Promise<AdoptedStack> {
  const { url } = options;
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
