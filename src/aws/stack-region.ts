/**
 * A harness in one region against a stack in another fails before its first call. AWS keeps each region its
 * own world (a pipeline of us-east-1 is "not found" from eu-west-1), so a wrong `HARNESS_REGION` would
 * otherwise show up as a puzzling `PipelineNotFoundException` minutes into a run. Settings that name a region
 * of their own (a CodeCommit clone URL, a load balancer DNS name, a regional endpoint, a pipeline ARN) are read
 * for it, and one that disagrees with the configured region stops the run with both regions named.
 */
import { type HarnessConfig, settingSource } from '../config.ts';
import { ConfigError } from '../errors.ts';

/** A setting that names a region. */
export interface RegionHint {
  /** Config path, e.g. `source.repositoryUrl`. */
  readonly key: string;
  /** The env var that sets it, e.g. `HARNESS_SOURCE_REPOSITORY_URL`. */
  readonly env: string;
  readonly value: string;
  /** The region the value names. */
  readonly region: string;
}

const REGION = '([a-z]{2}(?:-[a-z]+)+-\\d{1,2})';

/**
 * Where AWS (and the sandbox) put the region in a URL or ARN, most specific first:
 * CodeCommit HTTPS/SSH (`git-codecommit[-fips].<region>.amazonaws.com`), git-remote-codecommit
 * (`codecommit::<region>://`), an ALB (`….<region>.elb.amazonaws.com`) or NLB (`….elb.<region>.amazonaws.com`)
 * DNS name, the sandbox's own forms (`/<region>/v1/repos/…`, `….<region>.elb.localhost`), a regional service
 * endpoint (`<service>[-fips].<region>.amazonaws.com`, `….<region>.api.aws`) and an ARN
 * (`arn:<partition>:<service>:<region>:…`).
 */
const PATTERNS: readonly RegExp[] = [
  new RegExp(`^codecommit::${REGION}://`),
  new RegExp(`^arn:[^:]+:[^:]+:${REGION}:`),
  new RegExp(
    `^[a-z+]+://(?:[^/@]+@)?git-codecommit(?:-fips)?\\.${REGION}\\.amazonaws\\.com(?:\\.cn)?(?:[:/]|$)`,
  ),
  new RegExp(`^[a-z]+://[^/]*\\.${REGION}\\.elb\\.(?:amazonaws\\.com(?:\\.cn)?|localhost)(?:[:/]|$)`),
  new RegExp(`^[a-z]+://[^/]*\\.elb\\.${REGION}\\.amazonaws\\.com(?:\\.cn)?(?:[:/]|$)`),
  new RegExp(`^https?://(?:127\\.0\\.0\\.1|localhost|\\[::1\\])(?::\\d+)?/${REGION}/v1/repos/`),
  new RegExp(
    `^https?://[a-z0-9-]+(?:-fips)?\\.${REGION}\\.(?:amazonaws\\.com(?:\\.cn)?|api\\.aws)(?:[:/]|$)`,
  ),
];

/**
 * The region a URL or ARN names, or undefined when it names none.
 *
 * @example
 * regionOfUrl('https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/web'); // 'eu-west-1'
 * regionOfUrl('http://web-123.us-east-1.elb.localhost:4566/'); // 'us-east-1'
 * regionOfUrl('https://app.example.com/'); // undefined
 */
export function regionOfUrl(value: string): string | undefined {
  const text = value.trim().toLowerCase();
  for (const pattern of PATTERNS) {
    const match = pattern.exec(text);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * The settings of `config` that name a region of their own.
 *
 * @example
 * regionHints(loadConfig({ env: { HARNESS_APP_URL: 'http://web-1.us-east-1.elb.amazonaws.com/' } }));
 * // [{ key: 'appUrl', env: 'HARNESS_APP_URL', value: 'http://web-1…', region: 'us-east-1' }]
 */
export function regionHints(config: HarnessConfig): RegionHint[] {
  const candidates: [key: string, env: string, value: string | undefined][] = [
    ['source.repositoryUrl', 'HARNESS_SOURCE_REPOSITORY_URL', config.source.repositoryUrl],
    ['appUrl', 'HARNESS_APP_URL', config.appUrl],
    ['pipelineName', 'HARNESS_PIPELINE_NAME', config.pipelineName],
    // The sandbox's endpoint serves every region; an AWS endpoint belongs to one.
    ['endpoint', 'HARNESS_ENDPOINT', config.target === 'aws' ? config.endpoint : undefined],
  ];
  const hints: RegionHint[] = [];
  for (const [key, env, value] of candidates) {
    if (value === undefined) continue;
    const region = regionOfUrl(value);
    if (region) hints.push({ key, env, value, region });
  }
  return hints;
}

/**
 * Throws when a setting names another region than the configured one: the error names both regions, the
 * setting and what to change. Call it before the first AWS call.
 *
 * @throws ConfigError (`key` = the disagreeing setting) naming both regions.
 * @example
 * assertStackRegion(config); // HARNESS_REGION eu-west-1, HARNESS_APP_URL on us-east-1 → throws
 */
export function assertStackRegion(config: HarnessConfig): void {
  const other = regionHints(config).filter((h) => h.region !== config.region);
  if (other.length === 0) return;
  const from = settingSource(config, 'region');
  const said =
    from === 'default'
      ? `the region is ${config.region} (the default: no HARNESS_REGION, AWS_REGION or profile region is set)`
      : `the region is ${config.region}${from === 'unknown' ? '' : ` (${from})`}`;
  const first = other[0]!;
  const regions = [...new Set(other.map((h) => h.region))];
  const named = other.map((h) => `${whereSet(config, h)} names ${h.region} (${h.value})`).join('; ');
  throw new ConfigError(
    `${said}, but ${named}. AWS regions share nothing: a stack in ${regions.join(' and ')} is not found ` +
      `from ${config.region}. Set HARNESS_REGION=${first.region} to run against that stack, or point ` +
      `${other.map((h) => h.env).join(', ')} at the stack in ${config.region}`,
    { key: first.key, source: settingSource(config, first.key) },
  );
}

/** `HARNESS_APP_URL`, or `appUrl (harness.yaml)` when a file or code set it. */
function whereSet(config: HarnessConfig, hint: RegionHint): string {
  const source = settingSource(config, hint.key);
  return source === hint.env || source === 'default' || source === 'unknown'
    ? hint.env
    : `${hint.key} (${source})`;
}
