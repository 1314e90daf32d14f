import { createServer } from 'node:net';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateRepositoryCommand, GetRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  GetPipelineCommand,
  GetPipelineStateCommand,
  ListPipelinesCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import {
  DeleteTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRoute } from '../../src/sandbox/control.ts';
import { EventLog } from '../../src/sandbox/events.ts';
import { Faults } from '../../src/sandbox/faults.ts';
import { Dispatcher } from '../../src/sandbox/protocol/dispatch.ts';
import { ServiceError } from '../../src/sandbox/protocol/errors.ts';
import { EdgeServer } from '../../src/sandbox/server.ts';
import type { Handler, SandboxService, ServiceName } from '../../src/sandbox/types.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { FAKE_CREDENTIALS, type SdkClients, sdkClients } from './helpers/clients.ts';
import { jsonCall, queryCall, rawRequest } from './helpers/http.ts';

/** A throw-away service: just a name and handlers, so the edge can be tested without real service logic. */
function fakeService(name: ServiceName, handlers: Record<string, Handler>): SandboxService {
  return { name, handlers, reset: async () => {}, stop: async () => {} };
}

const seen: unknown[] = [];
const services = [
  fakeService('codepipeline', {
    GetPipeline: (input: { name: string }) => {
      seen.push(input);
      if (input.name === 'missing') {
        throw new ServiceError(
          'PipelineNotFoundException',
          `Account '000000000000' does not have a pipeline with name 'missing'`,
        );
      }
      return {
        pipeline: { name: input.name, roleArn: 'arn:aws:iam::000000000000:role/r', stages: [], version: 1 },
        metadata: {
          created: new Date('2025-01-01T00:00:00.123Z'),
          updated: new Date('2025-01-02T00:00:00Z'),
        },
      };
    },
    GetPipelineState: () => {
      throw new Error('boom in handler');
    },
    PutApprovalResult: () => ({ approvedAt: new Date() }),
  }),
  fakeService('elbv2', {
    DescribeTargetHealth: (input: { TargetGroupArn: string; Targets?: { Id: string; Port?: number }[] }) => ({
      TargetHealthDescriptions: (input.Targets ?? [{ Id: 'i-0a', Port: 8080 }]).map((t) => ({
        Target: t,
        HealthCheckPort: String(t.Port ?? 80),
        TargetHealth: { State: 'healthy' },
      })),
    }),
    DeleteTargetGroup: () => {
      throw new ServiceError('ResourceInUse', 'Target group is in use by a listener or a rule');
    },
  }),
  fakeService('autoscaling', {
    DescribeAutoScalingGroups: (input: { AutoScalingGroupNames?: string[] }) => ({
      AutoScalingGroups: (input.AutoScalingGroupNames ?? []).map((n) => ({
        AutoScalingGroupName: n,
        MinSize: 1,
        MaxSize: 2,
        DesiredCapacity: 1,
        DefaultCooldown: 300,
        AvailabilityZones: ['us-east-1a'],
        HealthCheckType: 'EC2',
        CreatedTime: new Date('2025-01-01T00:00:00Z'),
        Instances: [],
      })),
    }),
  }),
];

describe('edge server with throw-away services', () => {
  const faults = new Faults();
  const internalErrors: string[] = [];
  const edge = new EdgeServer({
    routes: () => [],
    control: controlRoute({
      faults,
      events: new EventLog(),
      services: () => services,
      reset: async () => {},
    }),
    dispatcher: new Dispatcher(services, {
      faults,
      context: () => ({ region: 'us-east-1', accountId: '000000000000' }),
      onInternalError: (_e, where) => internalErrors.push(where),
    }),
  });
  let endpoint: string;
  let clients: SdkClients;

  beforeAll(async () => {
    endpoint = `http://127.0.0.1:${await edge.listen(0)}`;
    clients = sdkClients(endpoint, { maxAttempts: 1 });
  });
  afterAll(async () => {
    clients.destroy();
    await edge.close();
  });

  it('serves JSON 1.1 calls of the SDK with typed output and modeled errors', async () => {
    const out = await clients.codepipeline.send(new GetPipelineCommand({ name: 'web' }));
    expect(out.pipeline?.name).toBe('web');
    expect(out.metadata?.created).toEqual(new Date('2025-01-01T00:00:00.123Z'));
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(
      clients.codepipeline.send(new GetPipelineCommand({ name: 'missing' })),
    ).rejects.toMatchObject({
      name: 'PipelineNotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('answers ValidationException before the handler sees invalid input', async () => {
    const before = seen.length;
    await expect(
      clients.codepipeline.send(new GetPipelineCommand({ name: 'bad name!' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^1 validation error detected: Value 'bad name!' at 'name' failed to satisfy constraint/,
      ),
    });
    expect(seen.length).toBe(before);
    await expect(
      clients.codepipeline.send(
        new PutApprovalResultCommand({
          pipelineName: 'p',
          stageName: 's',
          actionName: 'a',
          token: 'not-a-uuid',
          result: { summary: 'x', status: 'Approved' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining("at 'token'") });
  });

  it('answers NotImplemented (400, not retried) for an operation the sandbox does not serve', async () => {
    await expect(clients.codepipeline.send(new ListPipelinesCommand({}))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: expect.stringContaining('does not implement CodePipeline ListPipelines'),
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  it('turns a handler crash into a 500 InternalFailure and keeps serving', async () => {
    await expect(
      clients.codepipeline.send(new GetPipelineStateCommand({ name: 'web' })),
    ).rejects.toMatchObject({
      name: 'InternalFailure',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
      message: expect.stringContaining('boom in handler'),
    });
    expect(internalErrors).toContain('codepipeline GetPipelineState');
    expect(
      (await clients.codepipeline.send(new GetPipelineCommand({ name: 'still-up' }))).pipeline?.name,
    ).toBe('still-up');
  });

  it('routes Query calls of ELBv2 and AutoScaling by credential scope, with typed output and wire-code errors', async () => {
    const health = await clients.elbv2.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: 'arn:tg',
        Targets: [{ Id: 'i-1', Port: 8080 }, { Id: 'i-2' }],
      }),
    );
    expect(health.TargetHealthDescriptions).toEqual([
      { Target: { Id: 'i-1', Port: 8080 }, HealthCheckPort: '8080', TargetHealth: { State: 'healthy' } },
      { Target: { Id: 'i-2' }, HealthCheckPort: '80', TargetHealth: { State: 'healthy' } },
    ]);
    await expect(
      clients.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: 'arn:tg' })),
    ).rejects.toMatchObject({
      name: 'ResourceInUseException',
      $metadata: { httpStatusCode: 400 },
    });
    const asg = await clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['blue'] }),
    );
    expect(asg.AutoScalingGroups?.[0]).toMatchObject({
      AutoScalingGroupName: 'blue',
      MinSize: 1,
      Instances: [],
    });
    expect(asg.AutoScalingGroups?.[0]?.CreatedTime).toEqual(new Date('2025-01-01T00:00:00Z'));
  });

  it('tells Query services apart by Version when there is no signature, and refuses unknown or unversioned Actions', async () => {
    const byVersion = await queryCall(endpoint, {
      Action: 'DescribeAutoScalingGroups',
      Version: '2011-01-01',
    });
    expect(byVersion.status).toBe(200);
    expect(byVersion.body).toContain('<DescribeAutoScalingGroupsResult>');
    const unknown = await queryCall(
      endpoint,
      { Action: 'LaunchRockets', Version: '2015-12-01' },
      'elasticloadbalancing',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain('<Code>InvalidAction</Code>');
    expect(unknown.body).toContain('Could not find operation LaunchRockets for version 2015-12-01');
    const noVersion = await queryCall(endpoint, { Action: 'DescribeTargetHealth' }, 'elasticloadbalancing');
    expect(noVersion.body).toContain('for version NO_VERSION_SPECIFIED');
  });

  it('answers unknown JSON targets and services with AWS-shaped errors', async () => {
    const unknownOp = await jsonCall(endpoint, 'CodePipeline_20150709.LaunchRockets', {});
    expect(unknownOp.status).toBe(400);
    expect(JSON.parse(unknownOp.body).__type).toBe('UnknownOperationException');
    expect(unknownOp.headers['x-amzn-requestid']).toBeTruthy();
    const unknownService = await jsonCall(endpoint, 'DynamoDB_20120810.ListTables', {});
    expect(JSON.parse(unknownService.body)).toMatchObject({
      __type: 'UnknownOperationException',
      message: expect.stringContaining('CodePipeline_20150709'),
    });
  });

  it('works with the AWS CLI for both protocols (errors included)', async () => {
    const got = await awsCli(endpoint, ['codepipeline', 'get-pipeline', '--name', 'cli']);
    expect(got.json.pipeline.name).toBe('cli');
    const missing = await awsCli(endpoint, ['codepipeline', 'get-pipeline', '--name', 'missing']);
    expect(missing.errorCode).toBe('PipelineNotFoundException');
    const health = await awsCli(endpoint, [
      'elbv2',
      'describe-target-health',
      '--target-group-arn',
      'arn:tg',
    ]);
    expect(health.json.TargetHealthDescriptions[0].Target).toEqual({ Id: 'i-0a', Port: 8080 });
    const inUse = await awsCli(endpoint, ['elbv2', 'delete-target-group', '--target-group-arn', 'arn:tg']);
    expect(inUse.errorCode).toBe('ResourceInUse');
  });

  it('refuses a body over 10 MiB with an AWS-shaped 413', async () => {
    const res = await rawRequest(endpoint, {
      headers: {
        'x-amz-target': 'CodePipeline_20150709.GetPipeline',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: Buffer.alloc(11 * 1024 * 1024, 'a'),
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).__type).toBe('RequestEntityTooLarge');
  });
});

describe('startSandbox', () => {
  it('starts fast, serves control routes, and stop() frees the port, kills process groups and removes its data dir', async () => {
    const { startSandbox } = await import('../../src/sandbox/index.ts');
    const { existsSync } = await import('node:fs');
    const { ProcessTracker } = await import('../../src/sandbox/processes.ts');
    const started = performance.now();
    const sandbox = await startSandbox();
    const startupMs = performance.now() - started;
    console.log(`sandbox start-up: ${startupMs.toFixed(1)} ms`);

    const health = await rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/health' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'ok',
      services: [
        'sqs',
        'events',
        'autoscaling',
        'elbv2',
        'codedeploy',
        'codecommit',
        'logs',
        'codebuild',
        'codepipeline',
        'cloudformation',
        's3',
      ],
    });
    const unknown = await rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/nope' });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).message).toContain('/_sandbox/health');

    // A keep-alive connection stays open until stop() ends it.
    const client = sdkClients(sandbox.endpoint, { maxAttempts: 1 });
    await client.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'r' }));
    const events = JSON.parse(
      (await rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/events?after=0' })).body,
    );
    expect(Array.isArray(events)).toBe(true);
    const badAfter = await rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/events?after=x' });
    expect(badAfter.status).toBe(400);

    const reset = await rawRequest(sandbox.endpoint, { method: 'POST', path: '/_sandbox/reset' });
    expect(reset.status).toBe(200);
    await expect(
      client.codecommit.send(new GetRepositoryCommand({ repositoryName: 'r' })),
    ).rejects.toMatchObject({
      name: 'RepositoryDoesNotExistException',
    });

    const child = sandbox.runtime.processes.spawn('test:sleeper', 'sh', ['-c', 'sleep 60 & sleep 60'], {
      stdio: 'ignore',
    });
    const pgid = child.pid!;
    expect(ProcessTracker.alive(pgid)).toBe(true);
    const dataDir = sandbox.runtime.dataDir;
    expect(existsSync(dataDir)).toBe(true);

    await sandbox.stop();
    await sandbox.stop(); // idempotent
    client.destroy();
    expect(ProcessTracker.alive(pgid)).toBe(false);
    expect(sandbox.runtime.processes.groups().filter((g) => ProcessTracker.alive(g.pgid))).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(sandbox.port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  it('refuses a port in use with a message naming it', async () => {
    const { startSandbox } = await import('../../src/sandbox/index.ts');
    const first = await startSandbox();
    try {
      await expect(startSandbox({ port: first.port })).rejects.toThrow(
        `sandbox port ${first.port} on 127.0.0.1 is already in use`,
      );
    } finally {
      await first.stop();
    }
  });

  it('signs Query calls for AutoScaling through its own client class too', async () => {
    const { startSandbox } = await import('../../src/sandbox/index.ts');
    const sandbox = await startSandbox();
    const client = new AutoScalingClient({
      endpoint: sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    });
    const elb = new ElasticLoadBalancingV2Client({
      endpoint: sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      // Whatever the services implement, the answer is a well-formed AWS response or a typed AWS error.
      const outcome = await client.send(new DescribeAutoScalingGroupsCommand({})).then(
        (out) => ({ ok: Array.isArray(out.AutoScalingGroups ?? []) }),
        (error: Error) => ({ ok: false, name: error.name }),
      );
      expect(outcome.ok || ['NotImplemented'].includes((outcome as { name?: string }).name ?? '')).toBe(true);
      const elbOutcome = await elb
        .send(
          new DescribeTargetHealthCommand({
            TargetGroupArn:
              'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/none/0123456789abcdef',
          }),
        )
        .catch((e: Error) => e);
      expect(elbOutcome).toBeInstanceOf(Error);
      expect((elbOutcome as Error).name).toMatch(/TargetGroupNotFoundException|NotImplemented/);
    } finally {
      client.destroy();
      elb.destroy();
      await sandbox.stop();
    }
  });
});
