/**
 * One sandbox serves every region at once, as AWS keeps each region its own world
 * (aws-semantics-events-auth-regions §6): through the real SDK v3 clients, a resource created from eu-west-1 has
 * eu-west-1 in its ARN, ids, clone URLs and DNS name, and from us-east-1 it does not exist (each service's own
 * not-found error). git clones a region's repository at its clone URL, a push there runs that region's
 * pipeline (build, logs, deployment all in eu-west-1), a load balancer answers on its regional DNS name,
 * cross-region references AWS refuses are refused, and reset/stop cover every region.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  GetRepositoryCommand,
  ListRepositoriesCommand,
} from '@aws-sdk/client-codecommit';
import {
  CreateApplicationCommand,
  CreateDeploymentGroupCommand,
  GetApplicationCommand,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CreatePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  ListPipelinesCommand,
  type PipelineDeclaration,
} from '@aws-sdk/client-codepipeline';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateBucketCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type Sandbox, signSandboxRequest, startSandbox } from '../../src/sandbox/index.ts';
import { FAKE_CREDENTIALS, type SdkClients, sdkClients } from './helpers/clients.ts';
import { commitFile, gitRun } from './helpers/git.ts';
import { rawRequest } from './helpers/http.ts';
import { buildStage, declarePipeline, deployStage, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const run = promisify(execFile);
const EU = 'eu-west-1';
const ROLE = 'arn:aws:iam::000000000000:role/codedeploy';

const BUILDSPEC = `version: 0.2
phases:
  build:
    commands:
      - echo "built in $AWS_REGION"
artifacts:
  files:
    - '**/*'
`;
const APPSPEC = `version: 0.0
os: linux
files:
  - source: /
    destination: /srv/regional-app
`;

/** A clone URL carrying the sandbox's HTTPS Git credentials (user = access key id, password = secret key). */
function gitUrl(sandbox: Sandbox, url: string): string {
  const withCredentials = new URL(url);
  withCredentials.username = sandbox.credentials.accessKeyId;
  withCredentials.password = sandbox.credentials.secretAccessKey;
  return withCredentials.toString();
}

/** A signed request to a path on the edge port (control routes, build logs). */
async function control(sandbox: Sandbox, method: string, route: string) {
  const url = `${sandbox.endpoint}${route}`;
  const headers = await signSandboxRequest({ method, url }, { credentials: sandbox.credentials });
  return rawRequest(sandbox.endpoint, { method, path: route, headers });
}

/** The error name an SDK call rejects with (fails the test when it resolves). */
async function errorOf(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('one sandbox, every region (SDK v3)', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });
  let eu: SdkClients;
  let work: string;
  const logsIn = (region: string) =>
    new CloudWatchLogsClient({ endpoint: sb.sandbox.endpoint, region, credentials: FAKE_CREDENTIALS });
  const codebuildIn = (region: string) =>
    new CodeBuildClient({ endpoint: sb.sandbox.endpoint, region, credentials: FAKE_CREDENTIALS });

  /** Each action's status and summary, for an execution that did not end as expected. */
  async function actionsOf(client: SdkClients, pipelineName: string, pipelineExecutionId: string) {
    const out = await client.codepipeline.send(
      new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId } }),
    );
    return (out.actionExecutionDetails ?? [])
      .map((a) => {
        const r = a.output?.executionResult;
        return `${a.actionName}: ${a.status} ${r?.externalExecutionSummary ?? ''} ${r?.errorDetails?.message ?? ''}`;
      })
      .join('; ');
  }

  beforeAll(async () => {
    eu = sdkClients(sb.sandbox.endpoint, { region: EU, maxAttempts: 1 });
    work = await mkdtemp(path.join(tmpdir(), 'cph-regions-'));
  });
  afterAll(async () => {
    eu?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('CodeCommit: a repository of eu-west-1 has its ARN and clone URLs there, and is not found from us-east-1', async () => {
    const us = sb.clients;
    const created = (
      await eu.codecommit.send(
        new CreateRepositoryCommand({ repositoryName: 'shared-name', repositoryDescription: 'eu' }),
      )
    ).repositoryMetadata!;
    expect(created.Arn).toBe('arn:aws:codecommit:eu-west-1:000000000000:shared-name');
    expect(created.accountId).toBe('000000000000');
    expect(created.cloneUrlSsh).toBe('ssh://git-codecommit.eu-west-1.amazonaws.com/v1/repos/shared-name');
    expect(created.cloneUrlHttp).toBe(`${sb.sandbox.endpoint}/eu-west-1/v1/repos/shared-name`);

    const missing = await errorOf(
      us.codecommit.send(new GetRepositoryCommand({ repositoryName: 'shared-name' })),
    );
    expect(missing.name).toBe('RepositoryDoesNotExistException');

    // The same name in another region is another repository.
    const usRepo = (await us.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'shared-name' })))
      .repositoryMetadata!;
    expect(usRepo.Arn).toBe('arn:aws:codecommit:us-east-1:000000000000:shared-name');
    expect(usRepo.cloneUrlHttp).toBe(`${sb.sandbox.endpoint}/us-east-1/v1/repos/shared-name`);
    expect(usRepo.repositoryId).not.toBe(created.repositoryId);
    const euAgain = (await eu.codecommit.send(new GetRepositoryCommand({ repositoryName: 'shared-name' })))
      .repositoryMetadata!;
    expect(euAgain.repositoryDescription).toBe('eu');
    expect(usRepo.repositoryDescription).toBeUndefined();
    expect(sb.sandbox.region(EU).codecommit.store.get('shared-name')?.repositoryId).toBe(
      created.repositoryId,
    );
    expect(sb.sandbox.services.codecommit.store.get('shared-name')?.repositoryId).toBe(usRepo.repositoryId);
  });

  it('git: each region clone URL reaches its own repository; an unknown one is not found', async () => {
    const euUrl = `${sb.sandbox.endpoint}/eu-west-1/v1/repos/shared-name`;
    await gitRun(work, ['clone', '-q', gitUrl(sb.sandbox, euUrl), 'eu-clone']);
    const commit = await commitFile(path.join(work, 'eu-clone'), 'REGION', 'eu-west-1\n', 'eu commit');
    await gitRun(path.join(work, 'eu-clone'), ['push', '-q', 'origin', 'HEAD:main']);

    expect(await gitRun(work, ['ls-remote', gitUrl(sb.sandbox, euUrl)])).toContain(
      `${commit}\trefs/heads/main`,
    );
    expect(
      (
        await gitRun(work, [
          'ls-remote',
          gitUrl(sb.sandbox, `${sb.sandbox.endpoint}/us-east-1/v1/repos/shared-name`),
        ])
      ).trim(),
    ).toBe('');
    // Without a region segment: the default region (us-east-1), as before regions.
    expect(
      (
        await gitRun(work, ['ls-remote', gitUrl(sb.sandbox, `${sb.sandbox.endpoint}/v1/repos/shared-name`)])
      ).trim(),
    ).toBe('');
    await expect(
      gitRun(work, [
        'ls-remote',
        gitUrl(sb.sandbox, `${sb.sandbox.endpoint}/ap-south-1/v1/repos/shared-name`),
      ]),
    ).rejects.toThrow(/not found/);
  });

  it('ELBv2: ARNs and the DNS name carry eu-west-1; us-east-1 does not find them; the load balancer answers on its DNS name', async () => {
    const tg = (
      await eu.elbv2.send(
        new CreateTargetGroupCommand({ Name: 'regional-tg', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }),
      )
    ).TargetGroups![0]!;
    expect(tg.TargetGroupArn).toMatch(
      /^arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup\/regional-tg\/[0-9a-f]{16}$/,
    );
    const lb = (
      await eu.elbv2.send(new CreateLoadBalancerCommand({ Name: 'regional-alb', Subnets: ['s-1', 's-2'] }))
    ).LoadBalancers![0]!;
    expect(lb.LoadBalancerArn).toMatch(
      /^arn:aws:elasticloadbalancing:eu-west-1:000000000000:loadbalancer\/app\//,
    );
    expect(lb.DNSName).toMatch(/^regional-alb-\d{9,10}\.eu-west-1\.elb\.localhost$/);
    expect(lb.AvailabilityZones?.[0]?.ZoneName).toMatch(/^eu-west-1[a-f]$/);
    await eu.elbv2.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [
          {
            Type: 'fixed-response',
            FixedResponseConfig: {
              StatusCode: '200',
              ContentType: 'text/plain',
              MessageBody: 'served in eu-west-1',
            },
          },
        ],
      }),
    );

    const us = sb.clients.elbv2;
    expect((await errorOf(us.send(new DescribeLoadBalancersCommand({ Names: ['regional-alb'] })))).name).toBe(
      'LoadBalancerNotFoundException',
    );
    expect(
      (await errorOf(us.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn })))).name,
    ).toBe('TargetGroupNotFoundException');

    // The data plane: curl resolves *.localhost to 127.0.0.1; the region in the name picks the region.
    const { stdout } = await run(
      'curl',
      ['-sS', '--max-time', '10', `http://${lb.DNSName}:${sb.sandbox.port}/`],
      { timeout: 15_000 },
    );
    expect(stdout).toBe('served in eu-west-1');
    // The same name in us-east-1 is another load balancer, with another DNS name.
    const usLb = (await us.send(new CreateLoadBalancerCommand({ Name: 'regional-alb', Subnets: ['s-1'] })))
      .LoadBalancers![0]!;
    expect(usLb.DNSName).toMatch(/^regional-alb-\d{9,10}\.us-east-1\.elb\.localhost$/);
    expect(usLb.LoadBalancerArn).not.toBe(lb.LoadBalancerArn);
    const noListener = await rawRequest(`http://127.0.0.1:${sb.sandbox.port}`, {
      method: 'GET',
      headers: { host: `${usLb.DNSName}:${sb.sandbox.port}` },
    });
    expect(noListener.body).not.toContain('served in eu-west-1');
  });

  it('AutoScaling: the group and its instances live in eu-west-1; us-east-1 lists none of them', async () => {
    await eu.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'regional-asg',
        LaunchConfigurationName: 'regional-lc',
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
      }),
    );
    const group = await poll(
      async () =>
        (
          await eu.autoscaling.send(
            new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['regional-asg'] }),
          )
        ).AutoScalingGroups?.[0],
      {
        timeout: 30_000,
        what: 'regional-asg to have an InService instance',
        isDone: (g) => (g?.Instances ?? []).some((i) => i.LifecycleState === 'InService'),
        describe: (g) => (g?.Instances ?? []).map((i) => i.LifecycleState).join(','),
      },
    );
    expect(group!.AutoScalingGroupARN).toMatch(
      /^arn:aws:autoscaling:eu-west-1:000000000000:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/regional-asg$/,
    );
    expect(group!.AvailabilityZones).toEqual(['eu-west-1a']);
    const usGroups = await sb.clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['regional-asg'] }),
    );
    expect(usGroups.AutoScalingGroups).toEqual([]);
    const instanceId = group!.Instances![0]!.InstanceId!;
    expect(
      sb.sandbox
        .region(EU)
        .fleet.list()
        .map((i) => i.instanceId),
    ).toContain(instanceId);
    expect(sb.sandbox.services.fleet.list().map((i) => i.instanceId)).not.toContain(instanceId);
  });

  it('CodeDeploy: the application is not found from us-east-1; a deployment group there cannot name the eu-west-1 group', async () => {
    await eu.codedeploy.send(
      new CreateApplicationCommand({ applicationName: 'regional-app', computePlatform: 'Server' }),
    );
    await eu.codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'regional-app',
        deploymentGroupName: 'regional-dg',
        serviceRoleArn: ROLE,
        deploymentConfigName: 'CodeDeployDefault.AllAtOnce',
        autoScalingGroups: ['regional-asg'],
      }),
    );
    const arn = 'arn:aws:codedeploy:eu-west-1:000000000000:application:regional-app';
    await eu.codedeploy.send(
      new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'region', Value: EU }] }),
    );
    expect((await eu.codedeploy.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual([
      { Key: 'region', Value: EU },
    ]);

    const us = sb.clients.codedeploy;
    const missing = await errorOf(us.send(new GetApplicationCommand({ applicationName: 'regional-app' })));
    expect(missing).toEqual({
      name: 'ApplicationDoesNotExistException',
      message: 'The application regional-app does not exist with the user or AWS account.',
    });
    // A deployment group refers to auto scaling groups of its own region only.
    await us.send(
      new CreateApplicationCommand({ applicationName: 'regional-app', computePlatform: 'Server' }),
    );
    const crossRegion = await errorOf(
      us.send(
        new CreateDeploymentGroupCommand({
          applicationName: 'regional-app',
          deploymentGroupName: 'regional-dg',
          serviceRoleArn: ROLE,
          autoScalingGroups: ['regional-asg'],
        }),
      ),
    );
    expect(crossRegion.name).toBe('InvalidAutoScalingGroupException');
    expect(crossRegion.message).toContain("'regional-asg' does not exist");
  });

  it('CodePipeline, CodeBuild, Logs: a push to the eu-west-1 repository runs the eu-west-1 pipeline end to end; us-east-1 sees none of it', async () => {
    const declaration = declarePipeline('regional-pipeline', [
      sourceStage('shared-name'),
      buildStage('regional-build'),
      deployStage('regional-app', 'regional-dg'),
    ]);
    await eu.codepipeline.send(new CreatePipelineCommand({ pipeline: declaration }));
    const got = await eu.codepipeline.send(new GetPipelineCommand({ name: 'regional-pipeline' }));
    expect(got.metadata?.pipelineArn).toBe('arn:aws:codepipeline:eu-west-1:000000000000:regional-pipeline');
    const us = sb.clients.codepipeline;
    expect((await errorOf(us.send(new GetPipelineCommand({ name: 'regional-pipeline' })))).name).toBe(
      'PipelineNotFoundException',
    );
    expect((await us.send(new ListPipelinesCommand({}))).pipelines ?? []).toEqual([]);

    const tree = path.join(work, 'eu-clone');
    await writeFile(path.join(tree, 'buildspec.yml'), BUILDSPEC);
    await writeFile(path.join(tree, 'appspec.yml'), APPSPEC);
    await gitRun(tree, ['add', '-A']);
    const commit = await commitFile(tree, 'VERSION', 'eu-1\n', 'Release in eu-west-1');
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);

    const execution = await poll(
      async () =>
        (
          await eu.codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: 'regional-pipeline' }))
        ).pipelineExecutionSummaries?.find((s) => s.sourceRevisions?.[0]?.revisionId === commit),
      {
        timeout: 90_000,
        what: `the eu-west-1 execution of ${commit.slice(0, 7)} to end`,
        isDone: (s) => s !== undefined && s.status !== 'InProgress',
        describe: (s) => s?.status ?? 'not listed',
      },
    );
    expect(execution?.status, await actionsOf(eu, 'regional-pipeline', execution!.pipelineExecutionId!)).toBe(
      'Succeeded',
    );
    const id = execution!.pipelineExecutionId!;
    expect(
      (
        await errorOf(
          us.send(
            new GetPipelineExecutionCommand({ pipelineName: 'regional-pipeline', pipelineExecutionId: id }),
          ),
        )
      ).name,
    ).toBe('PipelineNotFoundException');

    const actions = (
      await eu.codepipeline.send(
        new ListActionExecutionsCommand({
          pipelineName: 'regional-pipeline',
          filter: { pipelineExecutionId: id },
        }),
      )
    ).actionExecutionDetails!;
    const build = actions.find((a) => a.stageName === 'BuildAndTest')!.output!.executionResult!;
    const deploy = actions.find((a) => a.stageName === 'Deploy')!.output!.executionResult!;

    // The build log URL carries the region and is served on the edge port.
    expect(build.externalExecutionUrl).toBe(
      `${sb.sandbox.endpoint}/eu-west-1/_sandbox/builds/${encodeURIComponent(build.externalExecutionId!)}/log`,
    );
    const log = await control(sb.sandbox, 'GET', new URL(build.externalExecutionUrl!).pathname);
    expect(log.status).toBe(200);
    expect(log.body).toContain('built in eu-west-1');

    const euBuild = codebuildIn(EU);
    const usBuild = codebuildIn('us-east-1');
    const euLogs = logsIn(EU);
    const usLogs = logsIn('us-east-1');
    try {
      const found = await euBuild.send(new BatchGetBuildsCommand({ ids: [build.externalExecutionId!] }));
      const record = found.builds![0]!;
      expect(record.arn).toBe(`arn:aws:codebuild:eu-west-1:000000000000:build/${build.externalExecutionId}`);
      expect(record.logs?.cloudWatchLogsArn).toMatch(/^arn:aws:logs:eu-west-1:000000000000:log-group:/);
      const notThere = await usBuild.send(new BatchGetBuildsCommand({ ids: [build.externalExecutionId!] }));
      expect(notThere.builds).toEqual([]);
      expect(notThere.buildsNotFound).toEqual([build.externalExecutionId]);

      const stream = { logGroupName: record.logs!.groupName!, logStreamName: record.logs!.streamName! };
      const events = await euLogs.send(new GetLogEventsCommand({ ...stream, startFromHead: true }));
      expect(events.events?.map((e) => e.message).join('')).toContain('built in eu-west-1');
      expect((await errorOf(usLogs.send(new GetLogEventsCommand(stream)))).name).toBe(
        'ResourceNotFoundException',
      );
    } finally {
      for (const c of [euBuild, usBuild, euLogs, usLogs]) c.destroy();
    }

    // The deployment is eu-west-1's, on the eu-west-1 group's instance.
    const deploymentId = deploy.externalExecutionId!;
    expect(deploy.externalExecutionUrl).toContain('region=eu-west-1');
    const deployment = (await eu.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo!;
    expect(deployment.status).toBe('Succeeded');
    expect(deployment.applicationName).toBe('regional-app');
    expect((await errorOf(sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId })))).name).toBe(
      'DeploymentDoesNotExistException',
    );
  });

  it('cross-region pipeline actions: refused where AWS refuses them; a declared one deploys in its region', async () => {
    const us = sb.clients.codepipeline;
    const crossRegionDeploy = deployStage('regional-app', 'regional-dg', { inputArtifact: 'SourceArtifact' });
    crossRegionDeploy.actions![0]!.region = EU;
    const base = declarePipeline('cross-region', [sourceStage('shared-name'), crossRegionDeploy]);

    const withOneStore = await errorOf(us.send(new CreatePipelineCommand({ pipeline: base })));
    expect(withOneStore.name).toBe('InvalidStructureException');
    expect(withOneStore.message).toContain('must use artifactStores');
    expect(withOneStore.message).toContain('eu-west-1');

    const stores = (regions: string[]): PipelineDeclaration => {
      const { artifactStore: _one, ...rest } = base;
      return {
        ...rest,
        artifactStores: Object.fromEntries(
          regions.map((r) => [r, { type: 'S3', location: `artifacts-${r}` }]),
        ),
      };
    };
    const missingRegion = await errorOf(
      us.send(new CreatePipelineCommand({ pipeline: stores(['us-east-1']) })),
    );
    expect(missingRegion.name).toBe('InvalidStructureException');
    expect(missingRegion.message).toContain("no artifact store for region 'eu-west-1'");

    const crossSource = sourceStage('shared-name');
    crossSource.actions![0]!.region = EU;
    const sourceElsewhere = await errorOf(
      us.send(
        new CreatePipelineCommand({
          pipeline: { ...stores(['us-east-1', EU]), stages: [crossSource, crossRegionDeploy] },
        }),
      ),
    );
    expect(sourceElsewhere.name).toBe('InvalidActionDeclarationException');

    // Declared as AWS wants it: the us-east-1 pipeline's Deploy action deploys with eu-west-1's CodeDeploy.
    await us.send(new CreatePipelineCommand({ pipeline: stores(['us-east-1', EU]) }));
    const tree = path.join(work, 'us-clone');
    await gitRun(work, [
      'clone',
      '-q',
      gitUrl(sb.sandbox, `${sb.sandbox.endpoint}/us-east-1/v1/repos/shared-name`),
      'us-clone',
    ]);
    await writeFile(path.join(tree, 'appspec.yml'), APPSPEC);
    await gitRun(tree, ['add', '-A']);
    const commit = await commitFile(tree, 'VERSION', 'us-1\n', 'Release from us-east-1 into eu-west-1');
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);
    const execution = await poll(
      async () =>
        (
          await us.send(new ListPipelineExecutionsCommand({ pipelineName: 'cross-region' }))
        ).pipelineExecutionSummaries?.find((s) => s.sourceRevisions?.[0]?.revisionId === commit),
      {
        timeout: 90_000,
        what: 'the cross-region execution to end',
        isDone: (s) => s !== undefined && s.status !== 'InProgress',
        describe: (s) => s?.status ?? 'not listed',
      },
    );
    expect(
      execution?.status,
      await actionsOf(sb.clients, 'cross-region', execution!.pipelineExecutionId!),
    ).toBe('Succeeded');
    const euDeployments = await eu.codedeploy.send(
      new ListDeploymentsCommand({ applicationName: 'regional-app', deploymentGroupName: 'regional-dg' }),
    );
    expect(euDeployments.deployments).toHaveLength(2);
  });

  it('a Deploy action naming an application of another region fails as CodeDeploy answers there', async () => {
    const us = sb.clients.codepipeline;
    await us.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline('wrong-region', [
          sourceStage('shared-name'),
          deployStage('eu-only-app', 'eu-only-dg', { inputArtifact: 'SourceArtifact' }),
        ]),
      }),
    );
    await eu.codedeploy.send(
      new CreateApplicationCommand({ applicationName: 'eu-only-app', computePlatform: 'Server' }),
    );
    const tree = path.join(work, 'us-clone');
    const commit = await commitFile(tree, 'VERSION', 'us-2\n', 'Release to an app of another region');
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);
    const execution = await poll(
      async () =>
        (
          await us.send(new ListPipelineExecutionsCommand({ pipelineName: 'wrong-region' }))
        ).pipelineExecutionSummaries?.find((s) => s.sourceRevisions?.[0]?.revisionId === commit),
      {
        timeout: 60_000,
        what: 'the wrong-region execution to end',
        isDone: (s) => s !== undefined && s.status !== 'InProgress',
        describe: (s) => s?.status ?? 'not listed',
      },
    );
    expect(execution?.status).toBe('Failed');
    const actions = await us.send(
      new ListActionExecutionsCommand({
        pipelineName: 'wrong-region',
        filter: { pipelineExecutionId: execution!.pipelineExecutionId! },
      }),
    );
    const failed = actions.actionExecutionDetails!.find((a) => a.stageName === 'Deploy')!;
    expect(failed.status).toBe('Failed');
    expect(failed.output?.executionResult?.errorDetails?.message).toContain(
      'ApplicationDoesNotExistException',
    );
    expect(failed.output?.executionResult?.errorDetails?.message).toContain('eu-only-app');
  });

  it('CloudFormation: a stack of eu-west-1 creates its resources there; us-east-1 does not find it', async () => {
    const cfnIn = (region: string) =>
      new CloudFormationClient({
        endpoint: sb.sandbox.endpoint,
        region,
        credentials: FAKE_CREDENTIALS,
        maxAttempts: 1,
      });
    const euCfn = cfnIn(EU);
    const usCfn = cfnIn('us-east-1');
    try {
      const template = {
        AWSTemplateFormatVersion: '2010-09-09',
        Resources: {
          App: {
            Type: 'AWS::CodeDeploy::Application',
            Properties: { ApplicationName: 'stack-app', ComputePlatform: 'Server' },
          },
          Artifacts: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'regional-stack-artifacts' } },
        },
      };
      const { StackId } = await euCfn.send(
        new CreateStackCommand({ StackName: 'regional-stack', TemplateBody: JSON.stringify(template) }),
      );
      expect(StackId).toMatch(
        /^arn:aws:cloudformation:eu-west-1:000000000000:stack\/regional-stack\/[0-9a-f-]{36}$/,
      );
      const stack = await poll(
        async () =>
          (await euCfn.send(new DescribeStacksCommand({ StackName: 'regional-stack' }))).Stacks?.[0],
        {
          timeout: 30_000,
          what: 'regional-stack to be created',
          isDone: (st) => st?.StackStatus !== 'CREATE_IN_PROGRESS',
          describe: (st) => `${st?.StackStatus} ${st?.StackStatusReason ?? ''}`,
        },
      );
      expect(stack?.StackStatus, stack?.StackStatusReason).toBe('CREATE_COMPLETE');
      const missing = await errorOf(usCfn.send(new DescribeStacksCommand({ StackName: 'regional-stack' })));
      expect(missing).toEqual({
        name: 'ValidationError',
        message: 'Stack with id regional-stack does not exist',
      });
      await eu.codedeploy.send(new GetApplicationCommand({ applicationName: 'stack-app' }));
      expect(
        (
          await errorOf(
            sb.clients.codedeploy.send(new GetApplicationCommand({ applicationName: 'stack-app' })),
          )
        ).name,
      ).toBe('ApplicationDoesNotExistException');
    } finally {
      euCfn.destroy();
      usCfn.destroy();
    }
  });

  it('S3: one namespace of bucket names, each bucket in its region; a call signed for another region is told where it is', async () => {
    const s3In = (region: string) =>
      new S3Client({
        endpoint: sb.sandbox.endpoint,
        region,
        credentials: FAKE_CREDENTIALS,
        forcePathStyle: true,
        maxAttempts: 1,
      });
    const euS3 = s3In(EU);
    const usS3 = s3In('us-east-1');
    try {
      // Created by the eu-west-1 stack above.
      expect(
        (await usS3.send(new GetBucketLocationCommand({ Bucket: 'regional-stack-artifacts' })))
          .LocationConstraint,
      ).toBe(EU);
      await euS3.send(
        new CreateBucketCommand({
          Bucket: 'regional-bucket',
          CreateBucketConfiguration: { LocationConstraint: EU },
        }),
      );
      await euS3.send(new PutObjectCommand({ Bucket: 'regional-bucket', Key: 'k', Body: 'eu' }));
      const wrongRegion = await errorOf(
        usS3.send(new GetObjectCommand({ Bucket: 'regional-bucket', Key: 'k' })),
      );
      expect(wrongRegion.name).toBe('AuthorizationHeaderMalformed');
      expect(wrongRegion.message).toContain("expecting 'eu-west-1'");
      const taken = await errorOf(usS3.send(new CreateBucketCommand({ Bucket: 'regional-bucket' })));
      expect(taken.name).toMatch(/^BucketAlready(OwnedByYou|Exists)$/);
      expect(sb.sandbox.region(EU).s3.hasBucket('regional-bucket')).toBe(true);
    } finally {
      euS3.destroy();
      usS3.destroy();
    }
  });

  it('a credential scope naming no region is refused as AWS refuses it', async () => {
    const odd = sdkClients(sb.sandbox.endpoint, { region: 'local', maxAttempts: 1 });
    try {
      const refused = await errorOf(odd.codepipeline.send(new ListPipelinesCommand({})));
      expect(refused.name).toBe('InvalidSignatureException');
      expect(refused.message).toContain("Credential should be scoped to a valid region, not 'local'");
      const query = await errorOf(odd.elbv2.send(new DescribeLoadBalancersCommand({})));
      expect(query.name).toBe('SignatureDoesNotMatch');
    } finally {
      odd.destroy();
    }
  });

  it('reset forgets every region; the health route lists the regions called', async () => {
    const health = JSON.parse((await control(sb.sandbox, 'GET', '/_sandbox/health')).body);
    expect(health.regions).toEqual(expect.arrayContaining(['us-east-1', EU]));
    expect(health.regions[0]).toBe('us-east-1');
    expect(sb.sandbox.regions()).toEqual(health.regions);
    expect((await control(sb.sandbox, 'POST', '/_sandbox/reset')).status).toBe(200);
    expect((await eu.codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
    expect((await sb.clients.codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
    expect((await eu.codepipeline.send(new ListPipelinesCommand({}))).pipelines).toEqual([]);
  });
});

describe('stopping a sandbox with several regions', () => {
  it("ends every region's instances and processes and frees the port", async () => {
    const sandbox = await startSandbox({ timeScale: 0.01 });
    const clients = sdkClients(sandbox.endpoint, { region: 'ap-southeast-2', maxAttempts: 1 });
    try {
      await clients.autoscaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'far-asg',
          LaunchConfigurationName: 'far-lc',
          MinSize: 2,
          MaxSize: 2,
          DesiredCapacity: 2,
        }),
      );
      const fleet = sandbox.region('ap-southeast-2').fleet;
      await poll(async () => fleet.list().filter((i) => i.state === 'running'), {
        timeout: 30_000,
        what: 'two running instances in ap-southeast-2',
        isDone: (running) => running.length === 2,
        describe: (running) => String(running.length),
      });
      const roots = fleet.list().map((i) => i.root);
      expect(roots.every((r) => r.includes(path.join('regions', 'ap-southeast-2')))).toBe(true);
      expect(sandbox.regions()).toEqual(['us-east-1', 'ap-southeast-2']);
    } finally {
      clients.destroy();
      await sandbox.stop();
    }
    expect(sandbox.runtime.processes.groups()).toEqual([]);
    await expect(stat(sandbox.runtime.dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(control(sandbox, 'GET', '/_sandbox/health')).rejects.toThrow();
    expect(() => sandbox.region('sa-east-1')).toThrow(/stopped/);
  });
});
