/**
 * One provisioning path: the AWS CLI creates the capstone stack from `sample-app/infra/capstone.yaml`, unchanged,
 * on the sandbox's CloudFormation (issue 14 item 4), the stack's outputs name real sandbox resources, a push to
 * its repository runs its pipeline (whose artifacts then keep the versioned bucket from being deleted, as on AWS),
 * and `delete-stack` after emptying the bucket leaves nothing of it in any sandbox service.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListApplicationsCommand } from '@aws-sdk/client-codedeploy';
import { ListPipelineExecutionsCommand, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { startSandbox } from '../../src/sandbox/index.ts';
import { ProcessTracker } from '../../src/sandbox/processes.ts';
import { emptyBucket } from '../../src/teardown/empty-bucket.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { commitFile, gitRun } from './helpers/git.ts';
import { type SandboxFixture, useSandbox } from './helpers/sandbox.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const STACK = 'cph-cap1';

interface CliStack {
  StackId: string;
  StackStatus: string;
  StackStatusReason?: string;
  Outputs?: { OutputKey: string; OutputValue: string }[];
  Parameters?: { ParameterKey: string; ParameterValue: string; ResolvedValue?: string }[];
  Tags?: { Key: string; Value: string }[];
}

/** The AWS CLI on a test's sandbox, run from the repository root (for `file://` templates). */
function capstoneCli(sb: SandboxFixture) {
  const cli = (args: string[]) => awsCli(sb.sandbox.endpoint, args, { cwd: REPO_ROOT, timeoutMs: 60_000 });

  /** describe-stacks through the CLI until the stack leaves `*_IN_PROGRESS`. */
  const settled = (id: string) =>
    poll(
      async () => {
        const r = await cli(['cloudformation', 'describe-stacks', '--stack-name', id]);
        if (r.code !== 0) throw new Error(`describe-stacks of ${id} failed: ${r.stderr}`);
        return r.json.Stacks[0] as CliStack;
      },
      {
        timeout: 90_000,
        isDone: (s) => !s.StackStatus.endsWith('_IN_PROGRESS'),
        describe: (s) => s.StackStatus,
        what: `stack ${id} to settle`,
        interval: { min: 300, max: 1000 },
      },
    );

  /** delete-stack by name, then the stack as it settled, read by id (a deleted stack is gone by name). */
  const deleteStack = async (name: string, id: string) => {
    const r = await cli(['cloudformation', 'delete-stack', '--stack-name', name]);
    if (r.code !== 0) throw new Error(`delete-stack ${name} failed (exit ${r.code}): ${r.stderr}`);
    return settled(id);
  };

  /** `aws cloudformation deploy` of the capstone template as stack `name` with parameter RunId=`runId`. */
  const deploy = (name: string, runId: string, ...flags: string[]) =>
    cli([
      'cloudformation',
      'deploy',
      '--template-file',
      'sample-app/infra/capstone.yaml',
      '--stack-name',
      name,
      '--capabilities',
      'CAPABILITY_NAMED_IAM',
      '--parameter-overrides',
      `RunId=${runId}`,
      ...flags,
    ]);

  return { cli, settled, deleteStack, deploy };
}

describe('the capstone template on the sandbox, through the AWS CLI', () => {
  const sb = useSandbox({ timeScale: 0.01, faults: [] });
  const { cli, settled, deleteStack } = capstoneCli(sb);
  let work: string;
  let stackId: string;
  let outputs: Record<string, string> = {};

  /** Runs `use` with an S3 client of the sandbox (path-style, as the sandbox serves S3), destroyed after. */
  const withS3 = async <T>(use: (s3: S3Client) => Promise<T>): Promise<T> => {
    const s3 = new S3Client({
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      forcePathStyle: true,
    });
    try {
      return await use(s3);
    } finally {
      s3.destroy();
    }
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cfn-capstone-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('creates the stack with create-stack --template-body file://sample-app/infra/capstone.yaml', async () => {
    const created = await cli([
      'cloudformation',
      'create-stack',
      '--stack-name',
      STACK,
      '--template-body',
      'file://sample-app/infra/capstone.yaml',
      '--capabilities',
      'CAPABILITY_NAMED_IAM',
      '--parameters',
      'ParameterKey=RunId,ParameterValue=cap1',
      '--tags',
      'Key=codepipeline-harness:run,Value=cap1',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    stackId = created.json.StackId;
    expect(stackId).toMatch(/^arn:aws:cloudformation:us-east-1:000000000000:stack\/cph-cap1\/[0-9a-f-]{36}$/);

    const stack = await settled(stackId);
    expect(stack.StackStatusReason).toBeUndefined();
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    // The SSM-typed AMI parameter: the key as given, the AMI id it resolved to.
    const image = stack.Parameters?.find((p) => p.ParameterKey === 'ImageId');
    expect(image?.ParameterValue).toBe(
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    );
    expect(image?.ResolvedValue).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(stack.Tags).toEqual([{ Key: 'codepipeline-harness:run', Value: 'cap1' }]);
  });

  it('outputs name the sandbox resources the stack made', async () => {
    expect(outputs).toMatchObject({
      PipelineName: 'cph-cap1-pipeline',
      ApplicationName: 'cph-cap1-app',
      DeploymentGroupName: 'cph-cap1-dg',
      AutoScalingGroupName: 'cph-cap1-asg',
      RepositoryName: 'cph-cap1-repo',
      ArtifactBucketName: 'cph-cap1-artifacts-000000000000',
      BuildLogGroupName: '/aws/codebuild/cph-cap1-build',
      SourceProvider: 'CodeCommit',
    });
    const { clients, sandbox } = sb;
    const lbs = await clients.elbv2.send(new DescribeLoadBalancersCommand({ Names: ['cph-cap1-alb'] }));
    expect(lbs.LoadBalancers?.[0]?.LoadBalancerArn).toBe(outputs.LoadBalancerArn);
    expect(outputs.LoadBalancerDnsName).toBe(lbs.LoadBalancers?.[0]?.DNSName);
    const groups = await clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['cph-cap1-asg'] }),
    );
    const group = groups.AutoScalingGroups?.[0];
    // CreationPolicy: CREATE_COMPLETE came once InstanceCount instances were in service.
    expect(group?.Instances?.filter((i) => i.LifecycleState === 'InService')).toHaveLength(2);
    expect(group?.TargetGroupARNs).toEqual([outputs.TargetGroupArn]);
    // Stack tags and CloudFormation's own tags reach taggable resources (reference §2.8).
    const tags = await clients.elbv2.send(
      new DescribeTagsCommand({ ResourceArns: [outputs.LoadBalancerArn!] }),
    );
    expect(tags.TagDescriptions?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'codepipeline-harness:run', Value: 'cap1' },
        { Key: 'aws:cloudformation:stack-name', Value: STACK },
        { Key: 'aws:cloudformation:stack-id', Value: stackId },
        { Key: 'aws:cloudformation:logical-id', Value: 'LoadBalancer' },
      ]),
    );
    expect(sandbox.services.s3.hasBucket('cph-cap1-artifacts-000000000000')).toBe(true);
    expect(sandbox.services.logs.store.groups.has('/aws/codebuild/cph-cap1-build')).toBe(true);
  });

  it('lists every resource of the template with list-stack-resources, recorded-only ones with AWS-shaped ids', async () => {
    const r = await cli(['cloudformation', 'list-stack-resources', '--stack-name', STACK]);
    expect(r.code).toBe(0);
    const byId = new Map<
      string,
      { PhysicalResourceId: string; ResourceStatus: string; ResourceType: string }
    >(r.json.StackResourceSummaries.map((s: { LogicalResourceId: string }) => [s.LogicalResourceId, s]));
    expect(byId.size).toBe(33);
    expect([...byId.values()].every((s) => s.ResourceStatus === 'CREATE_COMPLETE')).toBe(true);
    expect(byId.get('Vpc')?.PhysicalResourceId).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(byId.get('GatewayAttachment')?.PhysicalResourceId).toMatch(/^IGW\|vpc-[0-9a-f]{17}$/);
    expect(byId.get('InstanceRole')?.PhysicalResourceId).toBe('cph-cap1-instance');
    expect(byId.get('InstanceArtifactReadPolicy')?.PhysicalResourceId).toBe(
      'arn:aws:iam::000000000000:policy/cph-cap1-instance-artifacts',
    );
    // CodeCommit's Ref is the repository id, not its name (reference §3.1).
    expect(byId.get('Repository')?.PhysicalResourceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('runs the pipeline when its repository gets a push', async () => {
    const repo = path.join(work, 'repo');
    // HTTPS git credentials, as CodeCommit takes them: the access key id and the secret key.
    const url = new URL(outputs.RepositoryCloneUrlHttp!);
    url.username = FAKE_CREDENTIALS.accessKeyId;
    url.password = FAKE_CREDENTIALS.secretAccessKey;
    await gitRun(work, ['clone', '-q', url.href, 'repo']);
    await commitFile(repo, 'VERSION', '1.0.1\n', 'Bump to 1.0.1');
    const before = await sb.clients.codepipeline.send(
      new ListPipelineExecutionsCommand({ pipelineName: outputs.PipelineName }),
    );
    const known = new Set(before.pipelineExecutionSummaries?.map((e) => e.pipelineExecutionId));
    await gitRun(repo, ['push', '-q', 'origin', 'HEAD:main']);
    // The execution the push started, once its Source action has read the pushed commit.
    const started = await poll(
      async () => {
        const out = await sb.clients.codepipeline.send(
          new ListPipelineExecutionsCommand({ pipelineName: outputs.PipelineName }),
        );
        return out.pipelineExecutionSummaries?.find((e) => !known.has(e.pipelineExecutionId));
      },
      {
        timeout: 30_000,
        isDone: (e) => (e?.sourceRevisions?.length ?? 0) > 0,
        describe: (e) => `${e?.status ?? 'no execution'} ${e?.sourceRevisions?.length ?? 0} revisions`,
        what: 'the execution started by the push to read its commit',
      },
    );
    expect(started?.trigger?.triggerType).toBe('CloudWatchEvent');
    expect(started?.sourceRevisions?.[0]?.revisionSummary).toContain('Bump to 1.0.1');
    // The Source action's output artifact lands in the stack's artifact bucket, as on AWS.
    await withS3(async (s3) => {
      const versions = await poll(
        async () =>
          (await s3.send(new ListObjectVersionsCommand({ Bucket: outputs.ArtifactBucketName }))).Versions ??
          [],
        { timeout: 20_000, isDone: (v) => v.length > 0, what: 'the source artifact in the artifact bucket' },
      );
      expect(versions[0]?.Key).toMatch(/^cph-cap1-pipeline\//);
    });
  });

  it('fails delete-stack on the bucket holding the pipeline artifacts, as AWS does', async () => {
    const stack = await deleteStack(STACK, stackId);
    expect(stack.StackStatus).toBe('DELETE_FAILED');
    expect(stack.StackStatusReason).toBe('The following resource(s) failed to delete: [ArtifactBucket]. ');
    const resources = await cli(['cloudformation', 'list-stack-resources', '--stack-name', STACK]);
    const left = resources.json.StackResourceSummaries.filter(
      (s: { ResourceStatus: string }) => s.ResourceStatus !== 'DELETE_COMPLETE',
    );
    expect(left).toMatchObject([
      {
        LogicalResourceId: 'ArtifactBucket',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: expect.stringContaining('Error Code: BucketNotEmpty'),
      },
    ]);
  });

  it('deletes the stack once the bucket is empty and leaves nothing of it in the sandbox', async () => {
    await withS3((s3) => emptyBucket(s3, outputs.ArtifactBucketName!));
    const stack = await deleteStack(STACK, stackId);
    expect(stack.StackStatus).toBe('DELETE_COMPLETE');
    // By name the stack is gone, which is what `aws cloudformation wait stack-delete-complete` waits for.
    const byName = await cli(['cloudformation', 'describe-stacks', '--stack-name', STACK]);
    expect(byName.errorCode).toBe('ValidationError');
    expect(byName.stderr).toContain(`Stack with id ${STACK} does not exist`);

    const { clients, sandbox } = sb;
    expect((await clients.codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
    expect((await clients.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers).toEqual([]);
    expect((await clients.elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups).toEqual([]);
    expect(
      (await clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups,
    ).toEqual([]);
    expect((await clients.codedeploy.send(new ListApplicationsCommand({}))).applications).toEqual([]);
    expect((await clients.codepipeline.send(new ListPipelinesCommand({}))).pipelines).toEqual([]);
    expect(sandbox.services.s3.hasBucket('cph-cap1-artifacts-000000000000')).toBe(false);
    expect(sandbox.services.logs.store.groups.has('/aws/codebuild/cph-cap1-build')).toBe(false);
    expect(sandbox.services.events.rules.size).toBe(0);
    expect(sandbox.services.fleet.list().filter((i) => i.state !== 'terminated')).toEqual([]);
  });
});

describe('the capstone template through aws cloudformation deploy (a CREATE change set)', () => {
  const sb = useSandbox({ timeScale: 0.01, faults: [] });
  const { cli, settled, deleteStack, deploy: deployCapstone } = capstoneCli(sb);

  it('creates the change set, shows every resource as an Add, executes it; a re-deploy changes nothing', async () => {
    const deploy = await deployCapstone('cph-dep1', 'dep1', '--no-execute-changeset');
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const changeSetArn = /(arn:aws:cloudformation:\S+:changeSet\/\S+)/.exec(deploy.stdout)?.[1];
    expect(changeSetArn).toBeDefined();

    const review = await cli(['cloudformation', 'describe-stacks', '--stack-name', 'cph-dep1']);
    expect(review.json.Stacks[0].StackStatus).toBe('REVIEW_IN_PROGRESS');
    const described = await cli([
      'cloudformation',
      'describe-change-set',
      '--change-set-name',
      changeSetArn!,
    ]);
    expect(described.json).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    expect(described.json.Changes).toHaveLength(33);
    expect(described.json.Changes[0].ResourceChange.Action).toBe('Add');

    const executed = await cli(['cloudformation', 'execute-change-set', '--change-set-name', changeSetArn!]);
    expect(executed.code).toBe(0);
    const stack = await settled('cph-dep1');
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const after = await cli(['cloudformation', 'describe-change-set', '--change-set-name', changeSetArn!]);
    expect(after.json.ExecutionStatus).toBe('EXECUTE_COMPLETE');

    // Deploying it again as it is: an empty change set, "No changes to deploy", as on AWS.
    const deployAgain = (runId: string) => deployCapstone('cph-dep1', runId, '--no-fail-on-empty-changeset');
    const again = await deployAgain('dep1');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes to deploy. Stack cph-dep1 is up to date');
    // A real change would be an update, which the sandbox does not make: refused, saying what to do.
    const changed = await deployAgain('dep2');
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('makes no updates; delete stack [cph-dep1] and create it again');

    expect((await deleteStack('cph-dep1', stack.StackId)).StackStatus).toBe('DELETE_COMPLETE');
  });
});

describe('a sandbox stopped while the capstone stack is being created', () => {
  it('stops within its deadline, ending the stack operation and every process it started', async () => {
    const sandbox = await startSandbox({ timeScale: 0.01, faults: [] });
    try {
      const body = await readFile(path.join(REPO_ROOT, 'sample-app/infra/capstone.yaml'), 'utf8');
      await sandbox.services.cloudformation.handlers.CreateStack?.(
        {
          StackName: 'cph-stopped',
          TemplateBody: body,
          Capabilities: ['CAPABILITY_NAMED_IAM'],
          Parameters: [{ ParameterKey: 'RunId', ParameterValue: 'stopped' }],
        },
        { requestId: 'test', region: sandbox.runtime.region, accountId: sandbox.runtime.accountId },
      );
      // Wait until the fleet is launching: the create is well under way.
      await poll(() => sandbox.services.autoscaling.group('cph-stopped-asg'), {
        timeout: 30_000,
        isDone: (g) => g !== undefined,
        what: 'the stack to create its auto scaling group',
        interval: { min: 50, max: 200 },
      });
    } finally {
      const started = Date.now();
      await sandbox.stop();
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    expect(sandbox.services.cloudformation.store.find('cph-stopped')?.status).toBe('CREATE_IN_PROGRESS');
    expect(sandbox.runtime.processes.groups().filter((g) => ProcessTracker.alive(g.pgid))).toEqual([]);
  });
});
