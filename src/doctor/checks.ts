/**
 * The doctor's checks, one function each. A check reads (never writes) what a run will need and answers with a
 * one-line `detail` and, when it fails, a one-line `fix`; it never throws for what it finds (an unexpected error
 * is caught by the runner in `index.ts`). Each takes the deadline's `signal` and passes it to its own SDK calls.
 */
import { type CodeCommitClient, GetRepositoryCommand } from '@aws-sdk/client-codecommit';
import { type DeploymentGroupInfo, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import {
  GetPipelineCommand,
  type GetPipelineCommandOutput,
  ListPipelinesCommand,
} from '@aws-sdk/client-codepipeline';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { request } from 'undici';
import type { HarnessClients } from '../aws/clients.ts';
import type { HarnessConfig } from '../config.ts';
import { formatDuration, GuardRefusedError, HarnessError } from '../errors.ts';
import { errorLine } from '../poll.ts';
import { redact } from '../source/git.ts';
import {
  assertPipelineSource,
  type PipelineShape,
  pipelineShapeOf,
  suggestPipelineNames,
} from '../stack/pipeline-shape.ts';
import { awsTagLookup, Guard } from '../teardown/guard.ts';
import { Ledger } from '../teardown/ledger.ts';
import { localhostAgent } from '../traffic/agent.ts';
import { describeSample, sample } from '../traffic/sample.ts';
import { targetsBehind } from '../traffic/targets.ts';
import { loadBalancerUrl } from '../traffic/url.ts';
import { type ExplainContext, type Explained, explainAwsError, expiredFix } from './explain.ts';

/** What one check found. */
export interface CheckOutcome {
  ok: boolean;
  detail: string;
  /** One line: what to set or do. Present when `ok` is false. */
  fix?: string;
  /**
   * Set when the failure will fail every later AWS call the same way (credentials AWS does not take, an endpoint
   * that does not answer): the later checks are skipped with this reason instead of repeating it.
   */
  blocks?: string;
}

/** What every check of a stack gets. */
export interface CheckContext {
  config: HarnessConfig;
  clients: HarnessClients & { codecommit: CodeCommitClient };
  env: Record<string, string | undefined>;
  destructive: boolean;
  /** Aborted at the check's deadline. */
  signal: AbortSignal;
}

const ok = (detail: string): CheckOutcome => ({ ok: true, detail });
const fail = (detail: string, fix: string): CheckOutcome => ({ ok: false, detail, fix });

/** `NAME=value`, quoted for a shell when the value needs it. */
function setting(variable: string, value: string): string {
  return /^[A-Za-z0-9_.:/@+-]+$/.test(value)
    ? `${variable}=${value}`
    : `${variable}='${value.replace(/'/g, "'\\''")}'`;
}

function explainContext(ctx: CheckContext, iamAction: string, resource: string): ExplainContext {
  return {
    iamAction,
    resource,
    region: ctx.config.region,
    endpoint: ctx.config.endpoint,
    env: ctx.env,
  };
}

/** An outcome for a failed AWS call: the explained cause (credentials, denied action, network), else `fallback`. */
function awsFailure(
  ctx: CheckContext,
  error: unknown,
  call: { iamAction: string; resource: string },
  fallback: { detail?: string; fix: string },
): CheckOutcome {
  const explained = explainAwsError(error, explainContext(ctx, call.iamAction, call.resource));
  if (explained) return outcomeOf(explained);
  return fail(fallback.detail ?? `${call.resource} cannot be read (${errorLine(error)})`, fallback.fix);
}

/** A failed outcome from an explained error; credentials and reachability block the checks after it. */
export function outcomeOf(explained: Explained): CheckOutcome {
  const blocks =
    explained.kind === 'credentials'
      ? 'needs working credentials'
      : explained.kind === 'unreachable'
        ? 'needs the AWS API to answer'
        : undefined;
  return { ok: false, detail: explained.detail, fix: explained.fix, ...(blocks ? { blocks } : {}) };
}

/** Up to `max` names, for "... in eu-west-1: a, b, c". */
function someNames(names: readonly string[], max = 10): string {
  return names.length > max ? `${names.slice(0, max).join(', ')}, ... (${names.length})` : names.join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// 2. The sandbox

/**
 * The sandbox answers its health route at the endpoint, to a request signed with the run's sandbox credentials
 * (`sandboxCredentials`): a sandbox started with other credentials is named here, before any API call fails.
 */
export async function checkSandbox(
  endpoint: string,
  signal: AbortSignal,
  credentials: { accessKeyId: string; secretAccessKey: string } = {
    accessKeyId: 'test',
    secretAccessKey: 'test',
  },
): Promise<CheckOutcome> {
  const start = 'start it with `npx codepipeline-harness sandbox` or unset HARNESS_ENDPOINT';
  try {
    const url = new URL('/_sandbox/health', endpoint);
    // Loaded here only: the doctor reaches the sandbox's module graph on the sandbox target alone.
    const { signSandboxRequest } = await import('../sandbox/index.ts');
    const res = await request(url, { signal, headers: await signSandboxRequest({ url }, { credentials }) });
    const text = await res.body.text();
    let body: { status?: string; services?: string[]; __type?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not JSON: not the sandbox.
    }
    if (res.statusCode === 200 && body.status === 'ok') {
      return ok(`the sandbox answers at ${endpoint} (${(body.services ?? []).join(', ')})`);
    }
    if (res.statusCode === 403 && /Signature|ClientToken|Unrecognized/.test(body.__type ?? '')) {
      return fail(
        `the sandbox at ${endpoint} refuses the credentials of access key ${credentials.accessKeyId} (${body.__type})`,
        'set HARNESS_SANDBOX_ACCESS_KEY_ID and HARNESS_SANDBOX_SECRET_ACCESS_KEY to the credentials the sandbox printed at start (or start it without --credentials for test/test)',
      );
    }
    return fail(
      `something answers at ${endpoint}, but not as the sandbox (HTTP ${res.statusCode} on /_sandbox/health)`,
      'point HARNESS_ENDPOINT at the sandbox (`npx codepipeline-harness sandbox` prints its endpoint), or set HARNESS_TARGET=aws',
    );
  } catch (error) {
    const e = error as { code?: string; cause?: { code?: string } };
    const why = signal.aborted ? 'no answer in time' : (e.code ?? e.cause?.code ?? errorLine(error));
    return fail(`the sandbox does not answer at ${endpoint} (${why})`, start);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Credentials and region

/** What the credentials check learnt: the strings to keep out of every output. */
export interface CredentialsSeen {
  accessKeyId?: string;
  secrets: string[];
}

const SOURCES: Record<string, string> = {
  CREDENTIALS_CODE: 'code',
  CREDENTIALS_ENV_VARS: 'environment (AWS_ACCESS_KEY_ID)',
  CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'web identity token (environment)',
  CREDENTIALS_PROFILE: 'profile',
  CREDENTIALS_PROFILE_SOURCE_PROFILE: 'profile (source_profile)',
  CREDENTIALS_PROFILE_NAMED_PROVIDER: 'profile (credential_source)',
  CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN: 'profile (web identity)',
  CREDENTIALS_PROFILE_SSO: 'profile (SSO)',
  CREDENTIALS_PROFILE_SSO_LEGACY: 'profile (SSO)',
  CREDENTIALS_PROFILE_PROCESS: 'profile (credential_process)',
  CREDENTIALS_SSO: 'SSO',
  CREDENTIALS_SSO_LEGACY: 'SSO',
  CREDENTIALS_PROCESS: 'credential_process',
  CREDENTIALS_STS_ASSUME_ROLE: 'assumed role',
  CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'assumed role (web identity)',
  CREDENTIALS_HTTP: 'container role',
  CREDENTIALS_IMDS: 'instance role',
};

/** Where the SDK's chain found them (the SDK records it in `$source`), in words. */
function sourceOf(
  credentials: { $source?: Record<string, unknown> },
  env: Record<string, string | undefined>,
) {
  const keys = Object.keys(credentials.$source ?? {});
  const named = [...new Set(keys.map((k) => SOURCES[k] ?? k.replace(/^CREDENTIALS_/, '').toLowerCase()))];
  if (!named.length) return ''; // A provider of the caller's own: it does not say.
  const from = named.join(', ');
  return ` from ${/profile|SSO/.test(from) && env.AWS_PROFILE ? `${from} ${env.AWS_PROFILE}` : from}`;
}

/**
 * Resolves the credentials the way every SDK call will (the client's own provider: the default chain on AWS,
 * the fixed test credentials on the sandbox) and names the region. Prints at most the access key id's last 4
 * characters; `seen` collects the values to scrub from the report.
 */
export async function checkCredentials(ctx: CheckContext, seen: CredentialsSeen): Promise<CheckOutcome> {
  const client = ctx.clients.codepipeline;
  const region = await client.config.region();
  const regionNote =
    region === ctx.config.region
      ? `region ${region}`
      : `region ${region} (the client's; HARNESS_REGION says ${ctx.config.region})`;
  let credentials: Awaited<ReturnType<typeof client.config.credentials>>;
  try {
    credentials = await client.config.credentials();
  } catch (error) {
    return awsFailure(
      ctx,
      error,
      { iamAction: 'sts:GetCallerIdentity', resource: 'the caller' },
      { detail: `credentials cannot be resolved (${errorLine(error)})`, fix: expiredFix(ctx.env) },
    );
  }
  seen.accessKeyId = credentials.accessKeyId;
  seen.secrets.push(credentials.secretAccessKey, credentials.sessionToken ?? '');
  const key = `access key …${credentials.accessKeyId.slice(-4)}`;
  if (ctx.config.target === 'sandbox') return ok(`the sandbox's test credentials (${key}), ${regionNote}`);
  const from = sourceOf(credentials as { $source?: Record<string, unknown> }, ctx.env);
  const expiration = credentials.expiration;
  if (expiration && expiration.getTime() <= Date.now()) {
    return fail(
      `the credentials${from} (${key}) expired at ${expiration.toISOString()}`,
      expiredFix(ctx.env),
    );
  }
  const left = expiration ? `, expire in ${formatDuration(expiration.getTime() - Date.now())}` : '';
  return ok(`${regionNote}; credentials${from} (${key}${left})`);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. The pipeline

const STAGE_ENV = {
  source: 'HARNESS_STAGE_SOURCE',
  build: 'HARNESS_STAGE_BUILD',
  approval: 'HARNESS_STAGE_APPROVAL',
  deploy: 'HARNESS_STAGE_DEPLOY',
} as const;

/** The pipeline as read, for the checks that compare with it. */
export interface PipelineSeen {
  shape?: PipelineShape;
}

/**
 * The pipeline exists and has the configured stages and approval action. When a name is wrong it suggests the
 * right `HARNESS_STAGE_*` / `HARNESS_APPROVAL_ACTION` values from what the stages' actions are, and (when those
 * names make a whole shape) still returns the shape, so the checks after it run on the pipeline as it is.
 */
export async function checkPipeline(ctx: CheckContext, seen: PipelineSeen): Promise<CheckOutcome> {
  const { config } = ctx;
  const name = config.pipelineName;
  const resource = `pipeline ${name}`;
  let out: GetPipelineCommandOutput;
  try {
    out = await ctx.clients.codepipeline.send(new GetPipelineCommand({ name }), { abortSignal: ctx.signal });
  } catch (error) {
    if ((error as { name?: string }).name === 'PipelineNotFoundException') {
      const names = await listPipelines(ctx);
      return fail(
        `no pipeline ${name} in ${config.region}`,
        `set HARNESS_PIPELINE_NAME to your pipeline${names ? ` (pipelines in ${config.region}: ${names})` : ''}, ` +
          'and HARNESS_REGION if it is in another region',
      );
    }
    return awsFailure(
      ctx,
      error,
      { iamAction: 'codepipeline:GetPipeline', resource },
      {
        fix: 'set HARNESS_PIPELINE_NAME and HARNESS_REGION to your pipeline',
      },
    );
  }
  const options = {
    pipelineName: name,
    stages: config.stages,
    approvalActionName: config.approvalActionName,
    region: config.region,
  };
  try {
    const shape = pipelineShapeOf(out, options);
    seen.shape = shape;
    return ok(
      `${name}: stages ${shape.stages.join(', ')}; approval action ${config.approvalActionName}; ` +
        `${shape.executionMode} mode`,
    );
  } catch (error) {
    if (!(error instanceof HarnessError)) throw error;
    const suggested = suggestPipelineNames(out.pipeline);
    const settings: string[] = [];
    for (const key of ['source', 'build', 'approval', 'deploy'] as const) {
      const real = suggested.stages[key];
      if (real && real !== config.stages[key]) settings.push(setting(STAGE_ENV[key], real));
    }
    const approval = suggested.approvalActionName;
    if (approval && approval !== config.approvalActionName) {
      settings.push(setting('HARNESS_APPROVAL_ACTION', approval));
    }
    try {
      seen.shape = pipelineShapeOf(out, {
        ...options,
        stages: { ...config.stages, ...suggested.stages },
        approvalActionName: approval ?? config.approvalActionName,
      });
    } catch {
      // The pipeline does not tell its stages by their actions either: the checks that need it are skipped.
    }
    // The library's message ends with its own advice ("set HARNESS_STAGE_DEPLOY to yours"): the fix says it exactly.
    const detail = error.message.replace(/[:;] set HARNESS_[A-Z_]+.*$/, '');
    return fail(
      detail,
      settings.length
        ? `set ${settings.join(' ')}`
        : (/[:;] (set HARNESS_[A-Z_]+.*)$/.exec(error.message)?.[1] ?? error.message),
    );
  }
}

async function listPipelines(ctx: CheckContext): Promise<string | undefined> {
  try {
    const out = await ctx.clients.codepipeline.send(new ListPipelinesCommand({}), {
      abortSignal: ctx.signal,
    });
    const names = (out.pipelines ?? []).map((p) => p.name ?? '').filter(Boolean);
    return names.length ? someNames(names) : 'none';
  } catch {
    return undefined; // Only a hint: ListPipelines may well be denied.
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. The source repository and branch

/** The clone URL of the repository the Source action watches, as far as it can be told. */
async function cloneUrlOf(ctx: CheckContext, shape: PipelineShape): Promise<string | undefined> {
  const { provider, repository } = shape.source;
  if (!repository) return undefined;
  if (provider === 'CodeCommit') {
    try {
      const out = await ctx.clients.codecommit.send(
        new GetRepositoryCommand({ repositoryName: repository }),
        {
          abortSignal: ctx.signal,
        },
      );
      if (out.repositoryMetadata?.cloneUrlHttp) return out.repositoryMetadata.cloneUrlHttp;
    } catch {
      // Only a hint.
    }
    return `https://git-codecommit.${shape.region || ctx.config.region}.amazonaws.com/v1/repos/${repository}`;
  }
  if (provider === 'CodeStarSourceConnection' || provider === 'GitHub') {
    return `https://github.com/${repository}.git`;
  }
  return undefined;
}

/**
 * The repository and branch the run pushes to are the ones the pipeline's Source action watches (the guard's own
 * check, `assertPipelineSource`), and the token env var a `github-token` auth names is set (its value is never
 * read into the report).
 */
export async function checkSource(ctx: CheckContext, shape: PipelineShape): Promise<CheckOutcome> {
  const { config } = ctx;
  const { provider, repository, branch } = shape.source;
  const watched = `${repository ?? 'an unknown repository'} branch ${branch ?? '?'}`;
  if (provider === 'S3') {
    return fail(
      `the Source action of ${shape.name} is S3 (bucket ${repository ?? '?'}); the harness pushes to git only`,
      'point the harness at a pipeline whose Source action is a git repository (CodeCommit, GitHub)',
    );
  }
  const repoUrl = config.source.repositoryUrl;
  if (!repoUrl) {
    const url = await cloneUrlOf(ctx, shape);
    return fail(
      `no source repository set; the Source action (${provider}) of ${shape.name} watches ${watched}`,
      `set ${url ? setting('HARNESS_SOURCE_REPOSITORY_URL', url) : 'HARNESS_SOURCE_REPOSITORY_URL to its clone URL'}` +
        (branch && branch !== config.source.branch ? ` ${setting('HARNESS_SOURCE_BRANCH', branch)}` : ''),
    );
  }
  try {
    assertPipelineSource(shape, repoUrl, config.source.branch);
  } catch (error) {
    if (!(error instanceof GuardRefusedError)) throw error;
    const url = await cloneUrlOf(ctx, shape);
    const settings = [
      url && !url.endsWith(repoUrl) ? setting('HARNESS_SOURCE_REPOSITORY_URL', url) : '',
      branch && branch !== config.source.branch ? setting('HARNESS_SOURCE_BRANCH', branch) : '',
    ].filter(Boolean);
    return fail(
      `pushes would go to ${redact(repoUrl)} branch ${config.source.branch}, but the Source action (${provider}) ` +
        `of ${shape.name} watches ${watched}`,
      settings.length
        ? `set ${settings.join(' ')}`
        : 'set HARNESS_SOURCE_REPOSITORY_URL and HARNESS_SOURCE_BRANCH to the repository and branch it watches',
    );
  }
  const auth = config.source.auth;
  if (auth.type === 'github-token' && !ctx.env[auth.tokenEnv]) {
    return fail(
      `source auth is github-token, but ${auth.tokenEnv} is not set`,
      `export ${auth.tokenEnv} with a token that may push to ${repository ?? 'the repository'} ` +
        '(HARNESS_SOURCE_TOKEN_ENV names the variable)',
    );
  }
  return ok(
    `pushes go to ${redact(repoUrl)} branch ${config.source.branch} (${provider}), which ${shape.name} watches`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 6. The deployment group

/** What the deployment group says the load balancer check should find. */
export interface DeploymentGroupSeen {
  /** Target group names of its load balancer info. */
  targetGroups?: string[];
}

/**
 * The deployment group the pipeline's Deploy action deploys to: the configured names match it, it exists, and
 * what kind it is (in-place / blue/green, traffic control, automatic rollback, load balancer info). With
 * `destructive`, the forced-failure scenarios need automatic rollback on DEPLOYMENT_FAILURE.
 */
export async function checkDeploymentGroup(
  ctx: CheckContext,
  shape: PipelineShape,
  seen: DeploymentGroupSeen,
): Promise<CheckOutcome> {
  const { config } = ctx;
  const { applicationName, deploymentGroupName } = shape.deploy;
  const resource = `deployment group ${applicationName}/${deploymentGroupName}`;
  let info: DeploymentGroupInfo;
  try {
    const out = await ctx.clients.codedeploy.send(
      new GetDeploymentGroupCommand({ applicationName, deploymentGroupName }),
      { abortSignal: ctx.signal },
    );
    if (!out.deploymentGroupInfo)
      throw new HarnessError(`GetDeploymentGroup returned no deploymentGroupInfo`);
    info = out.deploymentGroupInfo;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name === 'ApplicationDoesNotExistException' || name === 'DeploymentGroupDoesNotExistException') {
      return fail(
        `the Deploy action of ${shape.name} deploys to ${resource}, which does not exist in ${config.region} (${name})`,
        'fix the Deploy action of the pipeline, or HARNESS_REGION if the pipeline is in another region',
      );
    }
    return awsFailure(
      ctx,
      error,
      { iamAction: 'codedeploy:GetDeploymentGroup', resource },
      {
        fix: `check the Deploy action of ${shape.name} and HARNESS_REGION`,
      },
    );
  }
  const style = info.deploymentStyle;
  const kind = style?.deploymentType === 'BLUE_GREEN' ? 'blue/green' : 'in-place';
  const traffic =
    style?.deploymentOption === 'WITH_TRAFFIC_CONTROL' ? 'with traffic control' : 'no traffic control';
  const rollback = info.autoRollbackConfiguration;
  const events = rollback?.enabled ? (rollback.events ?? []) : [];
  const rollbackNote = events.length ? `auto-rollback on ${events.join(', ')}` : 'auto-rollback off';
  const lb = info.loadBalancerInfo;
  const targetGroups = (lb?.targetGroupInfoList ?? []).map((t) => t.name ?? '').filter(Boolean);
  const classic = (lb?.elbInfoList ?? []).map((e) => e.name ?? '').filter(Boolean);
  seen.targetGroups = targetGroups;
  const lbNote = targetGroups.length
    ? `target group ${targetGroups.join(', ')}`
    : classic.length
      ? `classic load balancer ${classic.join(', ')}`
      : 'no load balancer info';
  const detail = `${resource}: ${kind} (${traffic}), ${rollbackNote}, ${lbNote}`;

  const configured = `${config.applicationName}/${config.deploymentGroupName}`;
  if (configured !== `${applicationName}/${deploymentGroupName}`) {
    const settings = [
      config.applicationName !== applicationName ? setting('HARNESS_APPLICATION_NAME', applicationName) : '',
      config.deploymentGroupName !== deploymentGroupName
        ? setting('HARNESS_DEPLOYMENT_GROUP', deploymentGroupName)
        : '',
    ].filter(Boolean);
    return fail(
      `the harness is set to ${configured}, but the Deploy action of ${shape.name} deploys to ` +
        `${applicationName}/${deploymentGroupName} (${kind}, ${rollbackNote})`,
      `set ${settings.join(' ')}`,
    );
  }
  if (ctx.destructive && !events.includes('DEPLOYMENT_FAILURE')) {
    return fail(
      `${detail}: a forced failure (@destructive) would not roll back`,
      `enable automatic rollback on DEPLOYMENT_FAILURE for ${resource}, or run without --destructive`,
    );
  }
  return ok(detail);
}

// ---------------------------------------------------------------------------------------------------------------
// 7. The load balancer

/** What the load balancer check found, for the app check. */
export interface LoadBalancerSeen {
  url?: string;
}

const targetGroupName = (arn: string) => /:targetgroup\/([^/]+)\//.exec(arn)?.[1] ?? arn;

/**
 * The load balancer exists with a listener on the configured port (its URL, as `Harness.url()` makes it), its
 * listeners forward to the deployment group's target group, and at least one target behind them is healthy
 * (every target's state and reason named when none is).
 */
export async function checkLoadBalancer(
  ctx: CheckContext,
  deploymentGroup: DeploymentGroupSeen,
  seen: LoadBalancerSeen,
): Promise<CheckOutcome> {
  const { config } = ctx;
  const name = config.loadBalancerName;
  const resource = `load balancer ${name}`;
  const denied = {
    iamAction: 'elasticloadbalancing:DescribeLoadBalancers, DescribeListeners and DescribeTargetHealth',
    resource,
  };
  try {
    seen.url = await loadBalancerUrl(ctx.clients.elbv2, name, {
      port: config.listenerPort,
      ...(config.target === 'sandbox' && config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  } catch (error) {
    if (!(error instanceof HarnessError))
      return awsFailure(ctx, error, denied, { fix: 'check HARNESS_LOAD_BALANCER' });
    if (/not found/.test(error.message)) {
      const names = await listLoadBalancers(ctx);
      return fail(
        `no load balancer ${name} in ${config.region}`,
        `set HARNESS_LOAD_BALANCER to the load balancer in front of the app` +
          (names ? ` (load balancers in ${config.region}: ${names})` : ''),
      );
    }
    // No listener on the port: the library's message names the listeners there are.
    const ports = /\(listeners: ([^)]*)\)/.exec(error.message)?.[1];
    const http = /HTTPS?:(\d+)/.exec(ports ?? '')?.[1];
    return fail(
      error.message.replace(/; check listenerPort.*$/, ''),
      http
        ? `set ${setting('HARNESS_LISTENER_PORT', http)}`
        : 'set HARNESS_LISTENER_PORT to the port of its listener',
    );
  }
  let targets: Awaited<ReturnType<typeof targetsBehind>>;
  try {
    targets = await targetsBehind(ctx.clients.elbv2, name);
  } catch (error) {
    return awsFailure(ctx, error, denied, { fix: 'check HARNESS_LOAD_BALANCER' });
  }
  const served = [...new Set(targets.map((t) => targetGroupName(t.targetGroupArn)))];
  const expected = deploymentGroup.targetGroups ?? [];
  if (expected.length && served.length && !expected.some((g) => served.includes(g))) {
    return fail(
      `${name} serves from target group ${served.join(', ')}, but the deployment group deploys behind ` +
        `${expected.join(', ')}`,
      `set HARNESS_LOAD_BALANCER to the load balancer whose listener forwards to ${expected.join(', ')}`,
    );
  }
  const healthy = targets.filter((t) => t.state === 'healthy');
  const others = targets.filter((t) => t.state !== 'healthy');
  const describe = (t: (typeof targets)[number]) => `${t.id} ${t.state}${t.reason ? ` (${t.reason})` : ''}`;
  if (!healthy.length) {
    return fail(
      targets.length
        ? `no healthy target behind ${name}: ${targets.map(describe).join(', ')}`
        : `no healthy target behind ${name}: no target is registered in ${served.length ? served.join(', ') : 'the target groups of its listeners'}`,
      targets.length
        ? 'make the targets pass the target group health check (its path, port and matcher), or deploy a revision that does'
        : 'register the instances (or the auto scaling group) of the deployment group with the target group',
    );
  }
  const unhealthyNote = others.length ? `; not serving: ${others.map(describe).join(', ')}` : '';
  return ok(
    `${seen.url}: ${healthy.length} healthy target${healthy.length === 1 ? '' : 's'} ` +
      `(${healthy.map((t) => t.id).join(', ')})${unhealthyNote}`,
  );
}

async function listLoadBalancers(ctx: CheckContext): Promise<string | undefined> {
  try {
    const out = await ctx.clients.elbv2.send(new DescribeLoadBalancersCommand({}), {
      abortSignal: ctx.signal,
    });
    const names = (out.LoadBalancers ?? []).map((l) => l.LoadBalancerName ?? '').filter(Boolean);
    return names.length ? someNames(names) : 'none';
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 8. The app answers with a version

/** One GET of `probe.path` through the load balancer: it answers 2xx with `x-app-version`. */
export async function checkAppVersion(ctx: CheckContext, url: string): Promise<CheckOutcome> {
  const { config } = ctx;
  const target = new URL(config.probe.path, url).toString();
  const dispatcher = localhostAgent();
  const answer = await sample(target, { dispatcher, timeoutMs: config.probe.requestTimeoutMs }).finally(() =>
    dispatcher.close(),
  );
  if (answer.kind === 'ok' && answer.version) {
    return ok(
      `${target} answers ${answer.status} with version ${answer.version}` +
        (answer.instanceId ? ` (${answer.instanceId})` : '') +
        ` in ${answer.ms}ms`,
    );
  }
  const seen = describeSample(answer);
  if (answer.kind === 'connect' || answer.kind === 'timeout' || answer.kind === 'other') {
    return fail(
      `${target} does not answer: ${seen}`,
      `let this machine reach the load balancer (its security group, scheme internal/internet-facing, a VPN) on port ${config.listenerPort}`,
    );
  }
  if (answer.status === 503 || answer.status === 502) {
    return fail(
      `${target} answers ${answer.status}: the load balancer has no target that answers`,
      'see the load-balancer check: a healthy target must serve the app',
    );
  }
  if (answer.kind === 'ok') {
    return fail(
      `${target} answers ${answer.status} without a version (${seen})`,
      `make the app send an x-app-version header (or JSON {"version"}) at ${config.probe.path}, or set probe.path in the config file to a path that does`,
    );
  }
  return fail(
    `${target} answers ${answer.status} (${seen})`,
    `set probe.path in the config file to the app's version path (now ${config.probe.path})`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 9. The test-target tag

/**
 * For `@destructive` runs: the pipeline carries `<testTargetTag>=true`, decided by the guard itself (with an
 * empty ledger: nothing of an existing stack is the run's own).
 */
export async function checkTestTargetTag(ctx: CheckContext, shape: PipelineShape): Promise<CheckOutcome> {
  const { config } = ctx;
  const lookup = awsTagLookup(ctx.clients);
  let unreadable: unknown;
  const guard = new Guard({
    ledger: new Ledger(),
    testTargetTag: config.testTargetTag,
    tagsOf: (kind, id) =>
      lookup(kind, id).catch((error: unknown) => {
        unreadable = error;
        throw error;
      }),
  });
  const decision = await guard.check({ kind: 'pipeline', id: shape.name, action: 'force failures on' });
  if (decision.allowed) {
    return ok(`${shape.name} is ${decision.reason}: @destructive scenarios may force failures on it`);
  }
  if (unreadable !== undefined) {
    return awsFailure(
      ctx,
      unreadable,
      { iamAction: 'codepipeline:ListTagsForResource', resource: `pipeline ${shape.name}` },
      {
        detail: `the tags of ${shape.name} cannot be read (${errorLine(unreadable)})`,
        fix: 'allow codepipeline:ListTagsForResource to the caller',
      },
    );
  }
  const arn = shape.arn || `<the ARN of ${shape.name}>`;
  return fail(
    `${shape.name} is ${decision.reason}: @destructive scenarios would be refused`,
    `tag it: aws codepipeline tag-resource --resource-arn ${arn} --tags key=${config.testTargetTag},value=true ` +
      '(or run without @destructive)',
  );
}
