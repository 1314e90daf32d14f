/**
 * The region of a run on AWS, as the AWS SDK itself finds it. `HARNESS_REGION`, `AWS_REGION` and
 * `AWS_DEFAULT_REGION` are read by `loadConfig`; when none is set, the SDK's own chain decides (the `region` of
 * the profile `AWS_PROFILE` names, or of the default profile, in `~/.aws/config` — SSO profiles included), so a
 * harness and the AWS CLI on the same machine agree. `us-east-1` is used only when the chain has no region
 * either, and the run says so.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { type HarnessConfig, settingSource, withSettings } from '../config.ts';

/** A config with its region settled, and how it was settled (for the log and the report). */
export interface ResolvedRegion {
  readonly config: HarnessConfig;
  /** E.g. `eu-west-1 (HARNESS_REGION)`, `ap-south-1 (the AWS SDK's profile chain)`. */
  readonly said: string;
}

/**
 * The region the SDK's default chain gives a client built without one (the profile `env.AWS_PROFILE` names, or
 * the default one, in the shared config file); undefined when it has none.
 */
export async function sdkChainRegion(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string | undefined> {
  const client = new CodePipelineClient(env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {});
  try {
    return (await client.config.region()) || undefined;
  } catch {
    // "Region is missing": the chain has none; the caller falls back and says so.
    return undefined;
  } finally {
    client.destroy();
  }
}

/**
 * Settles the region of an `aws` run: a region set in config or env stays; otherwise the SDK's chain (profile)
 * gives it; otherwise `us-east-1`, said as a default. The sandbox target keeps its config region.
 *
 * @example
 * ```ts
 * const { config, said } = await resolveRegion(loadConfig());
 * log(`region ${said}`); // region ap-south-1 (the AWS SDK's profile chain)
 * ```
 */
export async function resolveRegion(
  config: HarnessConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ResolvedRegion> {
  const source = settingSource(config, 'region');
  if (config.target !== 'aws' || (source !== 'default' && source !== 'unknown')) {
    return { config, said: `${config.region} (${source})` };
  }
  if (source === 'unknown') return { config, said: config.region };
  const region = await sdkChainRegion(env);
  if (region) {
    return {
      config: withSettings(config, { region }, 'profile'),
      said: `${region} (the AWS SDK's chain: the profile ${env.AWS_PROFILE ?? 'default'})`,
    };
  }
  return {
    config,
    said: `${config.region} (the default: no HARNESS_REGION, AWS_REGION or profile region is set)`,
  };
}
