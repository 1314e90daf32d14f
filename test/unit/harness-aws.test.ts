/**
 * The Harness on the `aws` target, where the sandbox cannot stand in: adopting an existing stack reads the
 * pipeline through the (mocked) AWS API and the version from a real HTTP server playing the load balancer;
 * sandbox-only actions are refused with a message saying what to do; destructive actions need the guard.
 */
import { teamPipeline } from './helpers/team-pipeline.ts';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import {
  CodePipelineClient,
  GetPipelineCommand,
  PipelineNotFoundException,
} from '@aws-sdk/client-codepipeline';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuardRefusedError, Harness, HarnessError } from '../../src/index.ts';

const TARGET_GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/team-tg/1';
const TEAM = teamPipeline();
const codepipeline = mockClient(CodePipelineClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
let server: Server;
let port: number;
const versions: string[] = [];

beforeEach(async () => {
  codepipeline.reset();
  elbv2.reset();
  versions.length = 0;
  let n = 0;
  server = createServer((_req, res) => {
    const i = n++ % 2;
    const version = versions[i] ?? 'v41';
    res.writeHead(200, { 'x-app-version': version, 'x-instance-id': `i-0000000000000000${i}` });
    res.end(JSON.stringify({ version, instanceId: `i-0000000000000000${i}` }));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
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
    TargetHealthDescriptions: [0, 1].map((i) => ({
      Target: { Id: `i-0000000000000000${i}`, Port: 80 },
      TargetHealth: { State: 'healthy' },
    })),
  });
});
afterEach(async () => {
  server.close();
  server.closeAllConnections();
});

async function awsHarness() {
  return Harness.start({
    env: {},
    config: {
      target: 'aws',
      region: 'eu-west-1',
      pipelineName: 'team-pipeline',
      loadBalancerName: 'team-alb',
      listenerPort: port,
      probe: { consecutive: 4, intervalMs: 10 },
      timeouts: { live: '2s' },
    },
    // aws-sdk-client-mock stubs every instance's send; these clients never reach AWS.
    clients: {
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      elbv2: new ElasticLoadBalancingV2Client({ region: 'eu-west-1' }),
    },
  });
}

describe('Harness on AWS', () => {
  it('adopts an existing stack: the version every target serves becomes the previous version', async () => {
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    versions.push('v41', 'v41');
    const harness = await awsHarness();
    const ready = await harness.ready();
    expect(ready.version).toBe('v41');
    expect(harness.currentVersion).toBe('v41');
    expect(new Set(ready.evidence.map((s) => s.instanceId))).toEqual(
      new Set(['i-00000000000000000', 'i-00000000000000001']),
    );
    expect((await harness.teardown()).deleted).toEqual([]); // nothing of an adopted stack is ours to delete
  });

  it('refuses to adopt when the targets serve different versions, naming them', async () => {
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    versions.push('v41', 'v42');
    const harness = await awsHarness();
    await expect(harness.adopt()).rejects.toThrow(/do not all serve one version: .*i-00000000000000001=v42/);
  }, 15_000);

  it('says which pipeline is missing and what to set', async () => {
    codepipeline
      .on(GetPipelineCommand)
      .rejects(new PipelineNotFoundException({ message: 'no such pipeline', $metadata: {} }));
    const harness = await awsHarness();
    const error = await harness.adopt().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as Error).message).toMatch(
      /pipeline team-pipeline cannot be read in eu-west-1 .*set HARNESS_PIPELINE_NAME/,
    );
  });

  it('says which configured stage the pipeline lacks, listing its own, before anything is read of the app', async () => {
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    const harness = await Harness.start({
      env: { HARNESS_STAGE_DEPLOY: 'DeployBlueGreen' },
      config: {
        target: 'aws',
        region: 'eu-west-1',
        pipelineName: 'team-pipeline',
        loadBalancerName: 'team-alb',
      },
      clients: { codepipeline: new CodePipelineClient({ region: 'eu-west-1' }) },
    });
    await expect(harness.adopt()).rejects.toThrow(
      'pipeline team-pipeline has no stage "DeployBlueGreen" (stages.deploy); its stages are Source, BuildAndTest, ' +
        'Approval, Deploy: set HARNESS_STAGE_DEPLOY to yours',
    );
  });

  it('checks the URL users reach (HARNESS_APP_URL) when the load balancer is internal', async () => {
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    elbv2.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        {
          LoadBalancerName: 'team-alb',
          DNSName: 'internal-team-alb-1.eu-west-1.elb.amazonaws.invalid',
          LoadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/team-alb/1',
        },
      ],
    });
    versions.push('v41', 'v41');
    const harness = await Harness.start({
      env: { HARNESS_APP_URL: `http://127.0.0.1:${port}/` },
      config: {
        target: 'aws',
        region: 'eu-west-1',
        pipelineName: 'team-pipeline',
        loadBalancerName: 'team-alb',
        probe: { consecutive: 4, intervalMs: 10 },
        timeouts: { live: '2s' },
      },
      clients: {
        codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
        elbv2: new ElasticLoadBalancingV2Client({ region: 'eu-west-1' }),
      },
    });
    expect(await harness.url()).toBe(`http://127.0.0.1:${port}/`);
    const adopted = await harness.adopt();
    expect(adopted.version).toBe('v41');
  });

  it('adopts, never provisions, on AWS: an existing stack by default, no ephemeral one until asked for', async () => {
    const harness = await awsHarness();
    expect(harness.config.stack).toBe('existing');
    await expect(harness.provision()).rejects.toThrow(/stack is "existing" \(HARNESS_STACK\)/);
    // Asked for, it creates one through CloudFormation: test/unit/ephemeral-on-aws.test.ts.
  });

  it('refuses to force a failed deploy on a pipeline it did not create and that is not tagged for tests', async () => {
    codepipeline.on(GetPipelineCommand).resolves(TEAM);
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [] });
    const harness = await awsHarness();
    const error = await harness.forceFailedDeploy('bad-revision').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as Error).message).toMatch(
      /refusing to force a failed deploy .* pipeline team-pipeline: not created by this run/,
    );
  });
});

describe('poll settings', () => {
  it("reach the deployment waits: GetDeployment is asked at the configured pace, not poll's defaults", async () => {
    const codedeploy = mockClient(CodeDeployClient);
    const statuses = ['Created', 'InProgress', 'InProgress', 'InProgress', 'InProgress', 'Succeeded'];
    let calls = 0;
    codedeploy.on(GetDeploymentCommand).callsFake(() => ({
      deploymentInfo: {
        deploymentId: 'd-ABCDEFGH1',
        status: statuses[Math.min(calls++, statuses.length - 1)],
      },
    }));
    const start = (poll: { minIntervalMs: number; maxIntervalMs: number }) =>
      Harness.start({
        env: {},
        config: { target: 'aws', region: 'eu-west-1', poll, timeouts: { deploy: '4s' } },
        clients: { codedeploy: new CodeDeployClient({ region: 'eu-west-1' }) },
      });
    // At 5 ms a poll, six answers come well within the deadline.
    const fast = await start({ minIntervalMs: 5, maxIntervalMs: 5 });
    expect((await fast.waitForDeployment('d-ABCDEFGH1')).status).toBe('Succeeded');
    // At 10 s a poll, the 4 s deadline passes after the first answer and the one at the deadline (poll's own
    // defaults, 250 ms growing x1.5, would have seen Succeeded by then): the setting was applied.
    calls = 0;
    const slow = await start({ minIntervalMs: 10_000, maxIntervalMs: 10_000 });
    const timedOut = await slow.tryWaitForDeployment('d-ABCDEFGH1');
    expect(timedOut.ok).toBe(false);
    expect(calls).toBeLessThan(statuses.length);
    codedeploy.restore();
  });
});
