/**
 * Regions through the AWS CLI, as a new user tries it (issue 17): `--region eu-west-1` against one sandbox gives
 * eu-west-1 ARNs, clone URLs and DNS names, and the same call with `--region us-east-1` does not find what
 * eu-west-1 holds — each service answering its own error code — for every service the sandbox serves.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { type AwsCliResult, awsCli } from './helpers/aws-cli.ts';
import { declarePipeline, deployStage, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const EU = 'eu-west-1';

describe('regions through the AWS CLI (--region)', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  /** `aws <args> --region <region>`; the CLI's environment says us-east-1, so the flag alone decides. */
  const aws = (region: string, args: readonly string[]): Promise<AwsCliResult> =>
    awsCli(sb.sandbox.endpoint, [...args, '--region', region], { cwd: work });
  const ok = (r: AwsCliResult): any => {
    expect(r.code, r.stderr).toBe(0);
    return r.json;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cph-regions-cli-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('codecommit: ARN and clone URLs of eu-west-1; RepositoryDoesNotExistException from us-east-1', async () => {
    const repo = ok(
      await aws(EU, ['codecommit', 'create-repository', '--repository-name', 'cli-web']),
    ).repositoryMetadata;
    expect(repo.Arn).toBe('arn:aws:codecommit:eu-west-1:000000000000:cli-web');
    expect(repo.cloneUrlSsh).toBe('ssh://git-codecommit.eu-west-1.amazonaws.com/v1/repos/cli-web');
    expect(repo.cloneUrlHttp).toBe(`${sb.sandbox.endpoint}/eu-west-1/v1/repos/cli-web`);
    const missing = await aws('us-east-1', ['codecommit', 'get-repository', '--repository-name', 'cli-web']);
    expect(missing.errorCode).toBe('RepositoryDoesNotExistException');
    expect(ok(await aws('us-east-1', ['codecommit', 'list-repositories'])).repositories).toEqual([]);
  });

  it('elbv2: ARNs and DNS name of eu-west-1; LoadBalancerNotFound / TargetGroupNotFound from us-east-1', async () => {
    const tg = ok(
      await aws(EU, [
        'elbv2',
        'create-target-group',
        '--name',
        'cli-tg',
        '--protocol',
        'HTTP',
        '--port',
        '80',
        '--vpc-id',
        'vpc-1',
      ]),
    ).TargetGroups[0];
    expect(tg.TargetGroupArn).toMatch(
      /^arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup\/cli-tg\//,
    );
    const lb = ok(
      await aws(EU, ['elbv2', 'create-load-balancer', '--name', 'cli-alb', '--subnets', 's-1', 's-2']),
    ).LoadBalancers[0];
    expect(lb.LoadBalancerArn).toMatch(
      /^arn:aws:elasticloadbalancing:eu-west-1:000000000000:loadbalancer\/app\/cli-alb\//,
    );
    expect(lb.DNSName).toMatch(/^cli-alb-\d{9,10}\.eu-west-1\.elb\.localhost$/);
    expect(
      (await aws('us-east-1', ['elbv2', 'describe-load-balancers', '--names', 'cli-alb'])).errorCode,
    ).toBe('LoadBalancerNotFound');
    expect(
      (await aws('us-east-1', ['elbv2', 'describe-target-health', '--target-group-arn', tg.TargetGroupArn]))
        .errorCode,
    ).toBe('TargetGroupNotFound');
  });

  it('autoscaling: the group is eu-west-1 only (us-east-1 lists none); deploy: a us-east-1 group cannot name it', async () => {
    ok(
      await aws(EU, [
        'autoscaling',
        'create-auto-scaling-group',
        '--auto-scaling-group-name',
        'cli-asg',
        '--launch-configuration-name',
        'cli-lc',
        '--min-size',
        '0',
        '--max-size',
        '1',
      ]),
    );
    const eu = ok(
      await aws(EU, ['autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', 'cli-asg']),
    );
    expect(eu.AutoScalingGroups[0].AutoScalingGroupARN).toMatch(
      /^arn:aws:autoscaling:eu-west-1:000000000000:/,
    );
    const us = ok(
      await aws('us-east-1', [
        'autoscaling',
        'describe-auto-scaling-groups',
        '--auto-scaling-group-names',
        'cli-asg',
      ]),
    );
    expect(us.AutoScalingGroups).toEqual([]);

    ok(await aws(EU, ['deploy', 'create-application', '--application-name', 'cli-app']));
    expect(
      (await aws('us-east-1', ['deploy', 'get-application', '--application-name', 'cli-app'])).errorCode,
    ).toBe('ApplicationDoesNotExistException');
    ok(await aws('us-east-1', ['deploy', 'create-application', '--application-name', 'cli-app']));
    const crossRegion = await aws('us-east-1', [
      'deploy',
      'create-deployment-group',
      '--application-name',
      'cli-app',
      '--deployment-group-name',
      'cli-dg',
      '--service-role-arn',
      'arn:aws:iam::000000000000:role/codedeploy',
      '--auto-scaling-groups',
      'cli-asg',
    ]);
    expect(crossRegion.errorCode).toBe('InvalidAutoScalingGroupException');
  });

  it('codepipeline: pipeline ARN of eu-west-1; PipelineNotFoundException from us-east-1', async () => {
    const file = path.join(work, 'pipeline.json');
    await writeFile(
      file,
      JSON.stringify({
        pipeline: declarePipeline('cli-pipeline', [
          sourceStage('cli-web'),
          deployStage('cli-app', 'cli-dg', { inputArtifact: 'SourceArtifact' }),
        ]),
      }),
    );
    ok(await aws(EU, ['codepipeline', 'create-pipeline', '--cli-input-json', `file://${file}`]));
    const got = ok(await aws(EU, ['codepipeline', 'get-pipeline', '--name', 'cli-pipeline']));
    expect(got.metadata.pipelineArn).toBe('arn:aws:codepipeline:eu-west-1:000000000000:cli-pipeline');
    expect(
      (await aws('us-east-1', ['codepipeline', 'get-pipeline', '--name', 'cli-pipeline'])).errorCode,
    ).toBe('PipelineNotFoundException');
  });

  it("codebuild and logs: an eu-west-1 build and its log stream are eu-west-1's", async () => {
    // A build as the eu-west-1 pipelines' build runner records one (the SDK test runs a real pipeline build).
    const build = sb.sandbox
      .region(EU)
      .codebuild.startBuild({ projectName: 'cli-build', initiator: 'cli-test' });
    build.write('hello from eu-west-1\n');
    build.finish('SUCCEEDED');
    const found = ok(await aws(EU, ['codebuild', 'batch-get-builds', '--ids', build.id]));
    expect(found.builds[0].arn).toBe(`arn:aws:codebuild:eu-west-1:000000000000:build/${build.id}`);
    const notFound = ok(await aws('us-east-1', ['codebuild', 'batch-get-builds', '--ids', build.id]));
    expect(notFound.buildsNotFound).toEqual([build.id]);

    const stream = [
      '--log-group-name',
      build.record.logs.groupName,
      '--log-stream-name',
      build.record.logs.streamName,
    ];
    const events = ok(await aws(EU, ['logs', 'get-log-events', ...stream, '--start-from-head']));
    expect(events.events.map((e: { message: string }) => e.message).join('')).toContain(
      'hello from eu-west-1',
    );
    expect((await aws('us-east-1', ['logs', 'get-log-events', ...stream])).errorCode).toBe(
      'ResourceNotFoundException',
    );
  });

  it('cloudformation and s3: a stack and a bucket of eu-west-1', async () => {
    const template = path.join(work, 'stack.json');
    await writeFile(
      template,
      JSON.stringify({
        Resources: {
          Repo: { Type: 'AWS::CodeCommit::Repository', Properties: { RepositoryName: 'cli-stack-repo' } },
        },
      }),
    );
    const created = ok(
      await aws(EU, [
        'cloudformation',
        'create-stack',
        '--stack-name',
        'cli-stack',
        '--template-body',
        `file://${template}`,
      ]),
    );
    expect(created.StackId).toMatch(/^arn:aws:cloudformation:eu-west-1:000000000000:stack\/cli-stack\//);
    const stack = await poll(
      async () =>
        ok(await aws(EU, ['cloudformation', 'describe-stacks', '--stack-name', 'cli-stack'])).Stacks[0],
      {
        timeout: 60_000,
        what: 'cli-stack to be created',
        isDone: (s: { StackStatus: string }) => s.StackStatus !== 'CREATE_IN_PROGRESS',
        describe: (s: { StackStatus: string }) => s.StackStatus,
      },
    );
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const missing = await aws('us-east-1', [
      'cloudformation',
      'describe-stacks',
      '--stack-name',
      'cli-stack',
    ]);
    expect(missing.errorCode).toBe('ValidationError');
    expect(missing.stderr).toContain('Stack with id cli-stack does not exist');
    expect(
      ok(await aws(EU, ['codecommit', 'get-repository', '--repository-name', 'cli-stack-repo']))
        .repositoryMetadata.Arn,
    ).toBe('arn:aws:codecommit:eu-west-1:000000000000:cli-stack-repo');

    ok(
      await aws(EU, [
        's3api',
        'create-bucket',
        '--bucket',
        'cli-regional-bucket',
        '--create-bucket-configuration',
        'LocationConstraint=eu-west-1',
      ]),
    );
    const location = ok(
      await aws('us-east-1', ['s3api', 'get-bucket-location', '--bucket', 'cli-regional-bucket']),
    );
    expect(location.LocationConstraint).toBe(EU);
  });
});
