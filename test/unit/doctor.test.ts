/**
 * The doctor on the `aws` target, where the sandbox cannot stand in: no credentials, expired ones, a denied IAM
 * action, a call that hangs, a team's pipeline named unlike our defaults. AWS is aws-sdk-client-mock; the load
 * balancer is a real HTTP server.
 */
import { TEAM_PIPELINE_ARN, teamPipeline } from './helpers/team-pipeline.ts';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { CodeCommitClient, GetRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CodeDeployClient, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import {
  CodePipelineClient,
  GetPipelineCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-codepipeline';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DoctorOptions, type DoctorReport, formatDoctor, runDoctor } from '../../src/doctor/index.ts';
import type { HarnessConfigInput } from '../../src/index.ts';

const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKENxyz0123456789';
const PIPELINE_ARN = TEAM_PIPELINE_ARN;
const TARGET_GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/team-tg/1';

const TEAM = teamPipeline({ approvalAction: 'QA-Signoff', deployStage: 'DeployBlueGreen' });

const codepipeline = mockClient(CodePipelineClient);
const codedeploy = mockClient(CodeDeployClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const codecommit = mockClient(CodeCommitClient);
let server: Server;
let port: number;

/** An AWS error as the SDK throws it. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

beforeEach(async () => {
  for (const mock of [codepipeline, codedeploy, elbv2, codecommit]) mock.reset();
  server = createServer((_req, res) => {
    res.writeHead(200, { 'x-app-version': 'v41', 'x-instance-id': 'i-00000000000000000' });
    res.end('{}');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
  codepipeline.on(GetPipelineCommand).resolves(TEAM);
  codepipeline.on(ListTagsForResourceCommand).resolves({ tags: [] });
  codedeploy.on(GetDeploymentGroupCommand).resolves({
    deploymentGroupInfo: {
      applicationName: 'team-app',
      deploymentGroupName: 'team-dg',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
      loadBalancerInfo: { targetGroupInfoList: [{ name: 'team-tg' }] },
    },
  });
  codecommit.on(GetRepositoryCommand).rejects(awsError('AccessDeniedException', 'denied'));
  elbv2.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [
      {
        LoadBalancerName: 'team-alb',
        DNSName: '127.0.0.1',
        LoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/team-alb/1',
      },
    ],
  });
  elbv2.on(DescribeListenersCommand).resolves({
    Listeners: [
      { Port: port, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: TARGET_GROUP }] },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: 'i-00000000000000000', Port: 80 }, TargetHealth: { State: 'healthy' } },
      {
        Target: { Id: 'i-00000000000000001', Port: 80 },
        TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' },
      },
    ],
  });
});
afterEach(() => {
  server.close();
  server.closeAllConnections();
});

type Credentials = ConstructorParameters<typeof CodePipelineClient>[0] extends infer C
  ? C extends { credentials?: infer P }
    ? P
    : never
  : never;

const temporary: Credentials = async () => ({
  accessKeyId: ACCESS_KEY,
  secretAccessKey: SECRET,
  sessionToken: SESSION,
  expiration: new Date(Date.now() + 3_600_000),
});

/** The doctor against the mocked AWS; `credentials` is what the SDK's chain would have resolved. */
function doctor(
  options: { credentials?: Credentials; config?: HarnessConfigInput } & Omit<DoctorOptions, 'config'> = {},
): Promise<DoctorReport> {
  const { credentials = temporary, config = {}, ...rest } = options;
  const client = { region: 'eu-west-1', credentials };
  return runDoctor({
    env: {},
    config: {
      target: 'aws',
      region: 'eu-west-1',
      pipelineName: 'team-pipeline',
      applicationName: 'team-app',
      deploymentGroupName: 'team-dg',
      loadBalancerName: 'team-alb',
      listenerPort: port,
      stages: { deploy: 'DeployBlueGreen' },
      approvalActionName: 'QA-Signoff',
      source: { repositoryUrl: 'codecommit::eu-west-1://team-repo', branch: 'release' },
      ...config,
    },
    // aws-sdk-client-mock stubs every instance's send; only the credentials provider is the client's own.
    clients: {
      codepipeline: new CodePipelineClient(client),
      codedeploy: new CodeDeployClient(client),
      elbv2: new ElasticLoadBalancingV2Client(client),
      codecommit: new CodeCommitClient(client),
    },
    ...rest,
  });
}

const check = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name)!;
const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.name, c.ok]));

describe('doctor on AWS', () => {
  it('passes a team stack named right, naming the credentials by their source and last 4 characters only', async () => {
    const report = await doctor();
    expect(report.ok, formatDoctor(report)).toBe(true);
    expect(check(report, 'credentials').detail).toMatch(
      /^region eu-west-1; credentials \(access key …MPLE, expire in (59m \d+s|1h)\)$/,
    );
    expect(check(report, 'load-balancer').detail).toBe(
      `http://127.0.0.1:${port}/: 1 healthy target (i-00000000000000000); not serving: i-00000000000000001 ` +
        'unhealthy (Target.FailedHealthChecks)',
    );
  });

  it('says "no credentials" once, and what to do, when the default chain finds none', async () => {
    const none = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
        tryNextLink: false,
      });
    };
    const report = await doctor({ credentials: none });
    expect(check(report, 'credentials')).toMatchObject({
      ok: false,
      detail: 'no AWS credentials (CredentialsProviderError: Could not load credentials from any providers)',
      fix:
        'no credentials: set AWS_PROFILE or run `aws sso login` (or export AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY; on CI give the job a role)',
    });
    expect(report.checks.filter((c) => c.ok === false)).toHaveLength(1);
    expect(check(report, 'pipeline')).toMatchObject({ ok: 'skipped', detail: 'needs working credentials' });
    expect(codepipeline.calls()).toHaveLength(0);

    const profiled = await doctor({ credentials: none, env: { AWS_PROFILE: 'team-staging' } });
    expect(check(profiled, 'credentials').fix).toBe(
      'no credentials from AWS_PROFILE=team-staging: run `aws sso login --profile team-staging` if it is an SSO ' +
        'profile, or check [profile team-staging] in ~/.aws/config',
    );
  });

  it('tells an SSO session that ran out, and credentials past their expiration, to log in again', async () => {
    const ssoExpired = async () => {
      throw Object.assign(
        new Error(
          'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.',
        ),
        { name: 'CredentialsProviderError' },
      );
    };
    const env = { AWS_PROFILE: 'team-staging' };
    const fix =
      'credentials expired: run `aws sso login --profile team-staging` (or renew the session behind ' +
      'AWS_SESSION_TOKEN / your role), then run the doctor again';
    expect(check(await doctor({ credentials: ssoExpired, env }), 'credentials').fix).toBe(fix);

    const stale = async () => ({
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET,
      sessionToken: SESSION,
      expiration: new Date('2026-01-01T00:00:00Z'),
    });
    const report = await doctor({ credentials: stale, env });
    expect(check(report, 'credentials')).toMatchObject({
      ok: false,
      detail: 'the credentials (access key …MPLE) expired at 2026-01-01T00:00:00.000Z',
      fix,
    });
  });

  it('maps ExpiredTokenException on the first call to "log in again", and checks nothing more', async () => {
    const expired = awsError(
      'ExpiredTokenException',
      'The security token included in the request is expired',
    );
    codepipeline.on(GetPipelineCommand).rejects(expired);
    elbv2.onAnyCommand().rejects(expired);
    const report = await doctor();
    expect(check(report, 'pipeline')).toMatchObject({
      ok: false,
      detail:
        'AWS refused the credentials (ExpiredTokenException: The security token included in the request is expired)',
      fix:
        'credentials expired: run `aws sso login` (or renew the session behind AWS_SESSION_TOKEN / your role), ' +
        'then run the doctor again',
    });
    expect(report.checks.filter((c) => c.ok === false)).toHaveLength(1);
    expect(statuses(report)).toMatchObject({
      source: 'skipped',
      'deployment-group': 'skipped',
      'load-balancer': 'skipped',
      'app-version': 'skipped',
    });
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('names the IAM action to allow when AWS denies a read', async () => {
    codepipeline
      .on(GetPipelineCommand)
      .rejects(
        awsError(
          'AccessDeniedException',
          'User: arn:aws:sts::123456789012:assumed-role/nightly/ci is not authorized to perform: ' +
            `codepipeline:GetPipeline on resource: ${PIPELINE_ARN}`,
        ),
      );
    const report = await doctor();
    expect(check(report, 'pipeline').fix).toBe(
      'allow codepipeline:GetPipeline on pipeline team-pipeline to the caller (the IAM policy of its role or user)',
    );
    // A denied read is about that action: what does not need it is still checked.
    expect(statuses(report)).toMatchObject({ source: 'skipped', 'load-balancer': true, 'app-version': true });
    expect(check(report, 'source').detail).toBe('needs the pipeline');

    // Denied with a terse message: the action the call needs is named all the same.
    codedeploy.reset();
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    codedeploy.on(GetDeploymentGroupCommand).rejects(awsError('AccessDeniedException', 'Access denied'));
    expect(check(await doctor(), 'deployment-group').fix).toBe(
      'allow codedeploy:GetDeploymentGroup on deployment group team-app/team-dg to the caller (the IAM policy of ' +
        'its role or user)',
    );
  });

  it("suggests the team's stage and approval names from what the actions are, and checks the rest in the same pass", async () => {
    const report = await doctor({ config: { stages: {}, approvalActionName: undefined } });
    expect(check(report, 'pipeline')).toMatchObject({
      ok: false,
      detail:
        'pipeline team-pipeline has no stage "Deploy" (stages.deploy); its stages are Source, BuildAndTest, ' +
        'Approval, DeployBlueGreen',
      fix: 'set HARNESS_STAGE_DEPLOY=DeployBlueGreen HARNESS_APPROVAL_ACTION=QA-Signoff',
    });
    expect(statuses(report)).toMatchObject({ source: true, 'deployment-group': true, 'app-version': true });
  });

  it('names the clone URL and branch to set when the source is not the pipeline’s', async () => {
    const unset = await doctor({ config: { source: { repositoryUrl: undefined, branch: 'main' } } });
    expect(check(unset, 'source')).toMatchObject({
      ok: false,
      detail:
        'no source repository set; the Source action (CodeCommit) of team-pipeline watches team-repo branch release',
      fix:
        'set HARNESS_SOURCE_REPOSITORY_URL=https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/team-repo ' +
        'HARNESS_SOURCE_BRANCH=release',
    });
    const other = await doctor({
      config: { source: { repositoryUrl: 'https://u:p4ss@git.example.com/other.git', branch: 'release' } },
    });
    expect(check(other, 'source').detail).toBe(
      'pushes would go to https://***@git.example.com/other.git branch release, but the Source action (CodeCommit) ' +
        'of team-pipeline watches team-repo branch release',
    );
    const token = await doctor({
      config: {
        source: {
          repositoryUrl: 'https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/team-repo',
          branch: 'release',
          auth: { type: 'github-token', tokenEnv: 'TEAM_TOKEN' },
        },
      },
    });
    expect(check(token, 'source').fix).toBe(
      'export TEAM_TOKEN with a token that may push to team-repo (HARNESS_SOURCE_TOKEN_ENV names the variable)',
    );
  });

  it('points at the deployment group the pipeline deploys to, and at automatic rollback for --destructive', async () => {
    const wrong = await doctor({ config: { deploymentGroupName: 'awscicd-cap-dg' } });
    expect(check(wrong, 'deployment-group').fix).toBe('set HARNESS_DEPLOYMENT_GROUP=team-dg');
    codedeploy.on(GetDeploymentGroupCommand).resolves({
      deploymentGroupInfo: {
        deploymentStyle: { deploymentType: 'IN_PLACE' },
        autoRollbackConfiguration: { enabled: false },
      },
    });
    const report = await doctor({ destructive: true });
    expect(check(report, 'deployment-group')).toMatchObject({
      ok: false,
      detail:
        'deployment group team-app/team-dg: in-place (no traffic control), auto-rollback off, no load balancer ' +
        'info: a forced failure (@destructive) would not roll back',
      fix: 'enable automatic rollback on DEPLOYMENT_FAILURE for deployment group team-app/team-dg, or run without --destructive',
    });
    expect(check(report, 'test-target-tag').fix).toBe(
      `tag it: aws codepipeline tag-resource --resource-arn ${PIPELINE_ARN} --tags ` +
        'key=codepipeline-harness:test-target,value=true (or run without @destructive)',
    );
  });

  it('gives up on a call that hangs at the check deadline, and says so', async () => {
    codepipeline.on(GetPipelineCommand).callsFake(() => new Promise(() => {}));
    const started = performance.now();
    const report = await doctor({ timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(check(report, 'pipeline')).toMatchObject({
      ok: false,
      detail: 'the pipeline check: no answer within 300ms',
      fix: 'AWS did not answer in time: check the network (proxy, VPN) and HARNESS_REGION (eu-west-1)',
    });
    expect(check(report, 'load-balancer')).toMatchObject({
      ok: 'skipped',
      detail: 'needs the AWS API to answer',
    });
  });

  it('prints nothing secret: no secret key, no session token, the access key id by its last 4 only', async () => {
    codepipeline
      .on(GetPipelineCommand)
      .rejects(
        awsError('InvalidSignatureException', `signature of ${ACCESS_KEY} with ${SECRET} / ${SESSION}`),
      );
    const report = await doctor();
    for (const text of [formatDoctor(report), formatDoctor(report, { json: true })]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SESSION);
      expect(text).not.toContain(ACCESS_KEY);
    }
    expect(check(report, 'pipeline').detail).toBe(
      'AWS does not accept these credentials (InvalidSignatureException: signature of …MPLE with *** / ***)',
    );
  });

  it('never echoes a token put where the NAME of its env var belongs', async () => {
    const report = await runDoctor({
      env: { HARNESS_SOURCE_AUTH: 'github-token', HARNESS_SOURCE_TOKEN_ENV: 'github_pat-11AB-secret' },
    });
    expect(report.ok).toBe(false);
    expect(check(report, 'config').fix).toMatch(
      /^HARNESS_SOURCE_TOKEN_ENV \(source.auth.tokenEnv\): must be the NAME/,
    );
    expect(formatDoctor(report, { json: true })).not.toContain('github_pat-11AB-secret');
  });

  it('reads as one ✓/✗ line per check, each ✗ with its fix on the next line', async () => {
    elbv2
      .on(DescribeLoadBalancersCommand, { Names: ['awscicd-cap-alb'] })
      .rejects(awsError('LoadBalancerNotFoundException', "Load balancers '[awscicd-cap-alb]' not found"));
    const report = await doctor({ config: { stages: {}, loadBalancerName: 'awscicd-cap-alb' } });
    const text = formatDoctor({
      ...report,
      durationMs: 1234,
      checks: report.checks.map((c) => ({ ...c, durationMs: 0 })),
    }).replace(/expire in [^)]*/, 'expire in 1h');
    expect(text).toMatchInlineSnapshot(`
      "✓ config            target aws, stack existing, region eu-west-1, pipeline team-pipeline
      ✓ credentials       region eu-west-1; credentials (access key …MPLE, expire in 1h)
      ✗ pipeline          pipeline team-pipeline has no stage "Deploy" (stages.deploy); its stages are Source, BuildAndTest, Approval, DeployBlueGreen
          fix: set HARNESS_STAGE_DEPLOY=DeployBlueGreen
      ✓ source            pushes go to codecommit::eu-west-1://team-repo branch release (CodeCommit), which team-pipeline watches
      ✓ deployment-group  deployment group team-app/team-dg: blue/green (with traffic control), auto-rollback on DEPLOYMENT_FAILURE, target group team-tg
      ✗ load-balancer     no load balancer awscicd-cap-alb in eu-west-1
          fix: set HARNESS_LOAD_BALANCER to the load balancer in front of the app (load balancers in eu-west-1: team-alb)
      - app-version       skipped: needs the load balancer's URL
      2 failed, 4 passed, 1 skipped (1.2s)
      "
    `);
  });
});
