// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub strings use CloudFormation's ${Name} syntax, not JavaScript's.
/**
 * Stack operations of the sandbox CloudFormation through the real SDK v3 client: dependency order (independent
 * resources at once), events as AWS writes them, a failed create rolling back with the failed resource's reason,
 * the blue/green refusal CloudFormation makes, DELETE_FAILED on a bucket that is not empty, the SDK waiters, and
 * the "does not exist" family of errors (reference §2.2–§2.7).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackEvent,
  ValidateTemplateCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { ListRepositoriesCommand } from '@aws-sdk/client-codecommit';
import { GetApplicationCommand, ListApplicationsCommand } from '@aws-sdk/client-codedeploy';
import { DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { useSandbox } from './helpers/sandbox.ts';

const WAIT = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };

describe('sandbox CloudFormation stacks', () => {
  const sb = useSandbox({ timeScale: 0.01, faults: [] });
  let cfn: CloudFormationClient;

  beforeAll(() => {
    cfn = new CloudFormationClient({
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(() => cfn?.destroy());

  /** Events oldest first. */
  const events = async (stack: string): Promise<StackEvent[]> => {
    const out = await cfn.send(new DescribeStackEventsCommand({ StackName: stack }));
    return [...(out.StackEvents ?? [])].reverse();
  };
  const at = (list: StackEvent[], logical: string, status: string, reason?: string) => {
    const i = list.findIndex(
      (e) =>
        e.LogicalResourceId === logical &&
        e.ResourceStatus === status &&
        (reason === undefined || e.ResourceStatusReason === reason),
    );
    if (i < 0) throw new Error(`no ${logical} ${status} event among ${list.length}`);
    return i;
  };
  /** The stack's first event with that resource status (oldest first). */
  const firstEvent = async (stack: string, status: string) =>
    (await events(stack)).find((e) => e.ResourceStatus === status);
  /** DeleteStack (keeping `retain`), then the SDK waiter until the stack is deleted. */
  const deleteStack = async (stack: string, retain?: string[]) => {
    await cfn.send(
      new DeleteStackCommand({ StackName: stack, ...(retain ? { RetainResources: retain } : {}) }),
    );
    await waitUntilStackDeleteComplete({ client: cfn, ...WAIT }, { StackName: stack });
  };
  const settled = (stack: string) =>
    poll(async () => (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0], {
      timeout: 60_000,
      isDone: (s) => s?.StackStatus !== undefined && !s.StackStatus.endsWith('_IN_PROGRESS'),
      describe: (s) => s?.StackStatus ?? 'none',
      what: `stack ${stack} to settle`,
      interval: { min: 100, max: 500 },
    });

  it('creates in dependency order, independent resources at once, and deletes in reverse', async () => {
    const template = [
      'Resources:',
      '  Group:',
      '    Type: AWS::ElasticLoadBalancingV2::TargetGroup',
      '    Properties: {Protocol: HTTP, Port: 80, VpcId: vpc-0123456789abcdef0, Tags: [{Key: team, Value: web}]}',
      '  Balancer:',
      '    Type: AWS::ElasticLoadBalancingV2::LoadBalancer',
      '    Properties: {Subnets: [subnet-a, subnet-b]}',
      '  Front:',
      '    Type: AWS::ElasticLoadBalancingV2::Listener',
      '    Properties:',
      '      LoadBalancerArn: !Ref Balancer',
      '      Protocol: HTTP',
      '      Port: 80',
      '      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Group}]',
      'Outputs:',
      '  Dns: {Value: !GetAtt Balancer.DNSName}',
      '  GroupName: {Value: !GetAtt Group.TargetGroupName, Export: {Name: !Sub "${AWS::StackName}-group"}}',
    ].join('\n');
    const { StackId } = await cfn.send(
      new CreateStackCommand({
        StackName: 'ordered',
        TemplateBody: template,
        Tags: [{ Key: 'cost-center', Value: '42' }],
        ClientRequestToken: 'token-create-ordered',
      }),
    );
    const during = (await cfn.send(new DescribeStacksCommand({ StackName: 'ordered' }))).Stacks?.[0];
    expect(during?.StackStatus).toBe('CREATE_IN_PROGRESS');
    expect(during?.Outputs).toBeUndefined();
    await waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'ordered' });

    const list = await events('ordered');
    expect(list[0]).toMatchObject({
      LogicalResourceId: 'ordered',
      PhysicalResourceId: StackId,
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'CREATE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
      ClientRequestToken: 'token-create-ordered',
    });
    expect(list.at(-1)).toMatchObject({ LogicalResourceId: 'ordered', ResourceStatus: 'CREATE_COMPLETE' });
    // Two CREATE_IN_PROGRESS per resource: without a physical id, then "Resource creation Initiated" with it.
    const group = list.filter((e) => e.LogicalResourceId === 'Group');
    expect(group.map((e) => [e.ResourceStatus, e.ResourceStatusReason])).toEqual([
      ['CREATE_IN_PROGRESS', undefined],
      ['CREATE_IN_PROGRESS', 'Resource creation Initiated'],
      ['CREATE_COMPLETE', undefined],
    ]);
    expect(group[0]?.PhysicalResourceId).toBe('');
    expect(group[1]?.PhysicalResourceId).toMatch(
      /^arn:aws:elasticloadbalancing:.*:targetgroup\/ordered-Group-/,
    );
    expect(group[2]?.EventId).toMatch(/^Group-CREATE_COMPLETE-\d{4}-\d\d-\d\dT/);
    // Independent: the load balancer started before the target group finished.
    expect(at(list, 'Balancer', 'CREATE_IN_PROGRESS')).toBeLessThan(at(list, 'Group', 'CREATE_COMPLETE'));
    // The listener waits for both.
    const listenerStart = at(list, 'Front', 'CREATE_IN_PROGRESS');
    expect(listenerStart).toBeGreaterThan(at(list, 'Group', 'CREATE_COMPLETE'));
    expect(listenerStart).toBeGreaterThan(at(list, 'Balancer', 'CREATE_COMPLETE'));
    const stamps = list.map((e) => e.Timestamp!.getTime());
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(new Set(stamps).size).toBe(stamps.length);

    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: StackId }))).Stacks?.[0];
    const lbArn = (
      await cfn.send(
        new DescribeStackResourcesCommand({ StackName: 'ordered', LogicalResourceId: 'Balancer' }),
      )
    ).StackResources?.[0]?.PhysicalResourceId;
    expect(stack?.Outputs).toEqual(
      expect.arrayContaining([
        { OutputKey: 'Dns', OutputValue: expect.stringMatching(/^ordered-balancer-.*\.elb\.localhost$/i) },
        {
          OutputKey: 'GroupName',
          OutputValue: expect.stringMatching(/^ordered-Group-/),
          ExportName: 'ordered-group',
        },
      ]),
    );
    // Stack tags and CloudFormation's tags on the resources; the resource's own tag too.
    const tags = await sb.clients.elbv2.send(new DescribeTagsCommand({ ResourceArns: [lbArn!] }));
    expect(tags.TagDescriptions?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'cost-center', Value: '42' },
        { Key: 'aws:cloudformation:stack-name', Value: 'ordered' },
        { Key: 'aws:cloudformation:logical-id', Value: 'Balancer' },
      ]),
    );

    await deleteStack('ordered');
    const gone = (await events(StackId!)).slice(list.length);
    expect(gone[0]).toMatchObject({
      ResourceStatus: 'DELETE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
    });
    expect(at(gone, 'Front', 'DELETE_COMPLETE')).toBeLessThan(at(gone, 'Balancer', 'DELETE_IN_PROGRESS'));
    expect(at(gone, 'Front', 'DELETE_COMPLETE')).toBeLessThan(at(gone, 'Group', 'DELETE_IN_PROGRESS'));
    expect(gone.at(-1)).toMatchObject({ LogicalResourceId: 'ordered', ResourceStatus: 'DELETE_COMPLETE' });
    // By id the deleted stack stays readable.
    const deleted = (await cfn.send(new DescribeStacksCommand({ StackName: StackId }))).Stacks?.[0];
    expect(deleted?.StackStatus).toBe('DELETE_COMPLETE');
    expect(deleted?.DeletionTime).toBeInstanceOf(Date);
  });

  it('rolls back a failed create, with the service reason in the failed resource event', async () => {
    const template = [
      'Resources:',
      '  Repo:',
      '    Type: AWS::CodeCommit::Repository',
      '    Properties: {RepositoryName: rollback-repo}',
      '  Group:',
      '    Type: AWS::ElasticLoadBalancingV2::TargetGroup',
      '    DependsOn: Repo',
      '    Properties: {Name: bad-group, Protocol: TCP, Port: 80, VpcId: vpc-0123456789abcdef0}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'rolls-back', TemplateBody: template }));
    await expect(
      waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'rolls-back' }),
    ).rejects.toThrow(/ROLLBACK_COMPLETE|FAILURE/);
    const stack = await settled('rolls-back');
    expect(stack?.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(stack?.StackStatusReason).toBe(
      'The following resource(s) failed to create: [Group]. Rollback requested by user.',
    );
    const list = await events('rolls-back');
    const failed = list.find((e) => e.ResourceStatus === 'CREATE_FAILED');
    expect(failed?.LogicalResourceId).toBe('Group');
    expect(failed?.ResourceStatusReason).toMatch(
      /^Resource handler returned message: ".*protocol 'TCP'.*" \(RequestToken: [0-9a-f-]{36}, HandlerErrorCode: InvalidRequest\)$/,
    );
    // The failed resource first (it depends on Repo), then Repo; the ROLLBACK_COMPLETE event has no reason.
    expect(list.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`).slice(-6)).toEqual([
      'rolls-back ROLLBACK_IN_PROGRESS',
      'Group DELETE_IN_PROGRESS',
      'Group DELETE_COMPLETE',
      'Repo DELETE_IN_PROGRESS',
      'Repo DELETE_COMPLETE',
      'rolls-back ROLLBACK_COMPLETE',
    ]);
    expect(list.at(-1)?.ResourceStatusReason).toBeUndefined();
    expect((await sb.clients.codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
    // The name stays taken until the stack is deleted.
    await expect(
      cfn.send(new CreateStackCommand({ StackName: 'rolls-back', TemplateBody: template })),
    ).rejects.toMatchObject({ name: 'AlreadyExistsException', message: 'Stack [rolls-back] already exists' });
    await deleteStack('rolls-back');
  });

  const blueGreen = [
    'Resources:',
    '  App:',
    '    Type: AWS::CodeDeploy::Application',
    '    Properties: {ApplicationName: bg-app, ComputePlatform: Server}',
    '  Group:',
    '    Type: AWS::CodeDeploy::DeploymentGroup',
    '    Properties:',
    '      ApplicationName: !Ref App',
    '      ServiceRoleArn: arn:aws:iam::000000000000:role/codedeploy',
    '      DeploymentStyle: {DeploymentType: BLUE_GREEN, DeploymentOption: WITH_TRAFFIC_CONTROL}',
    '      AutoScalingGroups: [web-asg]',
    '      BlueGreenDeploymentConfiguration:',
    '        GreenFleetProvisioningOption: {Action: COPY_AUTO_SCALING_GROUP}',
  ].join('\n');

  it('refuses a blue/green deployment group with AutoScalingGroups, as CloudFormation does', async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'blue-green', TemplateBody: blueGreen }));
    const stack = await settled('blue-green');
    expect(stack?.StackStatus).toBe('ROLLBACK_COMPLETE');
    const failed = await firstEvent('blue-green', 'CREATE_FAILED');
    expect(failed).toMatchObject({
      LogicalResourceId: 'Group',
      ResourceStatusReason: 'Property AutoScalingGroups cannot be specified.',
    });
    expect((await sb.clients.codedeploy.send(new ListApplicationsCommand({}))).applications).toEqual([]);
    await deleteStack('blue-green');
  });

  it('keeps what was created with OnFailure DO_NOTHING: CREATE_FAILED', async () => {
    await cfn.send(
      new CreateStackCommand({ StackName: 'kept', TemplateBody: blueGreen, OnFailure: 'DO_NOTHING' }),
    );
    const stack = await settled('kept');
    expect(stack?.StackStatus).toBe('CREATE_FAILED');
    expect(stack?.StackStatusReason).toBe('The following resource(s) failed to create: [Group]');
    const app = await sb.clients.codedeploy.send(new GetApplicationCommand({ applicationName: 'bg-app' }));
    expect(app.application?.applicationName).toBe('bg-app');
    await deleteStack('kept');
    expect((await sb.clients.codedeploy.send(new ListApplicationsCommand({}))).applications).toEqual([]);
  });

  it('deletes the stack after a failed create with OnFailure DELETE', async () => {
    const { StackId } = await cfn.send(
      new CreateStackCommand({ StackName: 'gone-on-failure', TemplateBody: blueGreen, OnFailure: 'DELETE' }),
    );
    const stack = await settled(StackId!);
    expect(stack?.StackStatus).toBe('DELETE_COMPLETE');
    const started = (await events(StackId!)).find((e) => e.ResourceStatus === 'DELETE_IN_PROGRESS');
    expect(started?.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Group]. Delete requested by user.',
    );
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'gone-on-failure' }))).rejects.toThrow(
      'Stack with id gone-on-failure does not exist',
    );
    expect((await sb.clients.codedeploy.send(new ListApplicationsCommand({}))).applications).toEqual([]);
  });

  it('ends DELETE_FAILED on a bucket that is not empty, and deletes with RetainResources', async () => {
    const template = [
      'Resources:',
      '  Bucket:',
      '    Type: AWS::S3::Bucket',
      '    Properties: {BucketName: cfn-kept-bucket, VersioningConfiguration: {Status: Enabled}}',
      '  Topic: {Type: AWS::SNS::Topic}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'full-bucket', TemplateBody: template }));
    await waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'full-bucket' });
    const file = path.join(sb.sandbox.runtime.dataDir, 'artifact.zip');
    await writeFile(file, 'not empty');
    await sb.sandbox.services.s3.putObjectFromFile('cfn-kept-bucket', 'a/artifact.zip', file);

    await cfn.send(new DeleteStackCommand({ StackName: 'full-bucket' }));
    const stack = await settled('full-bucket');
    expect(stack?.StackStatus).toBe('DELETE_FAILED');
    expect(stack?.StackStatusReason).toBe('The following resource(s) failed to delete: [Bucket]. ');
    const failed = await firstEvent('full-bucket', 'DELETE_FAILED');
    expect(failed?.ResourceStatusReason).toMatch(
      /^The bucket you tried to delete is not empty \(Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty; Request ID: \w+; S3 Extended Request ID: \w+; Proxy: null\)$/,
    );
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: 'full-bucket' }));
    expect(resources.StackResourceSummaries?.map((r) => [r.LogicalResourceId, r.ResourceStatus])).toEqual([
      ['Bucket', 'DELETE_FAILED'],
      ['Topic', 'DELETE_COMPLETE'],
    ]);
    await expect(
      cfn.send(new DeleteStackCommand({ StackName: 'full-bucket', RetainResources: ['Topic'] })),
    ).rejects.toThrow(
      'The specified resources to retain must be in a valid state. Do not specify resources that are in the DELETE_COMPLETE state.',
    );
    await deleteStack('full-bucket', ['Bucket']);
    const last = (await events(stack!.StackId!)).slice(-2);
    expect(last.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`)).toEqual([
      'Bucket DELETE_SKIPPED',
      'full-bucket DELETE_COMPLETE',
    ]);
    expect(sb.sandbox.services.s3.hasBucket('cfn-kept-bucket')).toBe(true);
  });

  it('rolls back a stack that exceeds TimeoutInMinutes (scaled), cancelling what is in flight', async () => {
    const template =
      'Resources:\n  Balancer: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Subnets: [s-a]}}';
    // 1 minute at time scale 0.01 is 600 ms; a load balancer takes 150 s of AWS time (1.5 s here).
    await cfn.send(
      new CreateStackCommand({ StackName: 'too-slow', TemplateBody: template, TimeoutInMinutes: 1 }),
    );
    const stack = await settled('too-slow');
    expect(stack?.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(stack?.StackStatusReason).toBe(
      'Stack creation time exceeded the specified timeout. Rollback requested by user.',
    );
    const cancelled = await firstEvent('too-slow', 'CREATE_FAILED');
    expect(cancelled).toMatchObject({
      LogicalResourceId: 'Balancer',
      ResourceStatusReason: 'Resource creation cancelled',
    });
    await deleteStack('too-slow');
  });

  it('fails an auto scaling group whose CreationPolicy signals do not come in time', async () => {
    const template = [
      'Resources:',
      '  Fleet:',
      '    Type: AWS::AutoScaling::AutoScalingGroup',
      '    CreationPolicy: {ResourceSignal: {Count: 3, Timeout: PT1M}}',
      '    Properties: {LaunchConfigurationName: lc, MinSize: 1, MaxSize: 1}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'no-signals', TemplateBody: template }));
    const stack = await settled('no-signals');
    expect(stack?.StackStatus).toBe('ROLLBACK_COMPLETE');
    const failed = await firstEvent('no-signals', 'CREATE_FAILED');
    expect(failed).toMatchObject({
      LogicalResourceId: 'Fleet',
      ResourceStatusReason: 'Failed to receive 3 resource signal(s) within the specified duration',
    });
    // The group was created, so the rollback deleted it.
    expect(sb.sandbox.services.autoscaling.group(failed!.PhysicalResourceId!)).toBeUndefined();
    await deleteStack('no-signals');
  });

  it('shares outputs through exports: an imported export keeps its stack, a second export of a name fails', async () => {
    const exporter = [
      'Resources:',
      '  Topic: {Type: AWS::SNS::Topic}',
      'Outputs:',
      '  TopicArn: {Value: !Ref Topic, Export: {Name: shared-topic}}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'exporter', TemplateBody: exporter }));
    await waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'exporter' });
    const importer = [
      'Resources:',
      '  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Select [5, !Split [":", !ImportValue shared-topic]]}}',
      'Outputs:',
      '  Name: {Value: !GetAtt Queue.QueueName}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'importer', TemplateBody: importer }));
    await waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'importer' });
    const imported = (await cfn.send(new DescribeStacksCommand({ StackName: 'importer' }))).Stacks?.[0];
    expect(imported?.Outputs?.[0]?.OutputValue).toMatch(/^exporter-Topic-/);

    await cfn.send(new DeleteStackCommand({ StackName: 'exporter' }));
    const kept = await settled('exporter');
    expect(kept?.StackStatus).toBe('CREATE_COMPLETE');
    expect((await events('exporter')).at(-1)?.ResourceStatusReason).toBe(
      'Export shared-topic cannot be deleted as it is in use by importer',
    );

    await cfn.send(new CreateStackCommand({ StackName: 'exporter-two', TemplateBody: exporter }));
    const second = await settled('exporter-two');
    expect(second?.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(second?.StackStatusReason).toBe(
      'Export with name shared-topic is already exported by stack exporter. Rollback requested by user.',
    );

    for (const name of ['exporter-two', 'importer', 'exporter']) {
      await deleteStack(name);
    }
  });

  it('makes queues, their policy and rules real on the sandbox SQS and EventBridge; non-SQS targets are recorded', async () => {
    const template = [
      'Resources:',
      '  Inbox:',
      '    Type: AWS::SQS::Queue',
      '    Properties: {VisibilityTimeout: 45}',
      '  InboxPolicy:',
      '    Type: AWS::SQS::QueuePolicy',
      '    Properties:',
      '      Queues: [!Ref Inbox]',
      '      PolicyDocument:',
      '        Statement:',
      '          - Effect: Allow',
      '            Principal: {Service: events.amazonaws.com}',
      '            Action: sqs:SendMessage',
      '            Resource: !GetAtt Inbox.Arn',
      '            Condition: {ArnEquals: {aws:SourceArn: !GetAtt PipelineEvents.Arn}}',
      '  PipelineEvents:',
      '    Type: AWS::Events::Rule',
      '    Properties:',
      '      EventPattern: {source: [aws.codepipeline]}',
      '      Targets:',
      '        - {Id: inbox, Arn: !GetAtt Inbox.Arn}',
      '        - {Id: pipeline, Arn: arn:aws:codepipeline:us-east-1:000000000000:web, RoleArn: arn:aws:iam::000000000000:role/r}',
    ].join('\n');
    await cfn.send(new CreateStackCommand({ StackName: 'queues', TemplateBody: template }));
    await waitUntilStackCreateComplete({ client: cfn, ...WAIT }, { StackName: 'queues' });
    const resources = await cfn.send(new DescribeStackResourcesCommand({ StackName: 'queues' }));
    const byId = new Map(resources.StackResources?.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]));
    const { sqs, events } = sb.sandbox.services;
    const queueName = byId.get('Inbox')!.split('/').at(-1)!;
    expect(queueName).toMatch(/^queues-Inbox-[A-Z0-9]{12}$/);
    expect(sqs.store.queues.get(queueName)?.attributes).toMatchObject({ VisibilityTimeout: '45' });
    expect(JSON.parse(sqs.store.queues.get(queueName)?.attributes.Policy ?? '{}').Statement).toHaveLength(1);
    const rule = events.rules.get(byId.get('PipelineEvents')!);
    expect([...(rule?.targets.keys() ?? [])]).toEqual(['inbox']);

    await deleteStack('queues');
    expect(sqs.store.queues.has(queueName)).toBe(false);
    expect(events.rules.size).toBe(0);
  });

  it('deletes a stack asked to go while it is still being created', async () => {
    const template =
      'Resources:\n  Repo: {Type: AWS::CodeCommit::Repository, Properties: {RepositoryName: early-repo}}';
    const { StackId } = await cfn.send(
      new CreateStackCommand({ StackName: 'early', TemplateBody: template }),
    );
    await deleteStack('early');
    const list = await events(StackId!);
    expect(list.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`)).toContain('early CREATE_COMPLETE');
    expect(list.at(-1)).toMatchObject({ ResourceStatus: 'DELETE_COMPLETE' });
    expect((await sb.clients.codecommit.send(new ListRepositoriesCommand({}))).repositories).toEqual([]);
  });

  it('answers for stacks that do not exist as AWS does, each call in its own words', async () => {
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'nope' }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id nope does not exist',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(cfn.send(new DescribeStackEventsCommand({ StackName: 'nope' }))).rejects.toThrow(
      'Stack [nope] does not exist',
    );
    await expect(cfn.send(new DescribeStackResourcesCommand({ StackName: 'nope' }))).rejects.toThrow(
      "Stack 'nope' does not exist",
    );
    await expect(cfn.send(new DeleteStackCommand({ StackName: 'nope' }))).resolves.toBeDefined();
    await expect(
      cfn.send(new CreateStackCommand({ StackName: 'bad_name', TemplateBody: 'Resources: {}' })),
    ).rejects.toThrow(/Member must satisfy regular expression pattern: \[a-zA-Z\]\[-a-zA-Z0-9\]\*/);
    await expect(
      cfn.send(
        new CreateStackCommand({
          StackName: 'unknown-type',
          TemplateBody: 'Resources:\n  N: {Type: AWS::EC2::NATGateway}',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Template format error: Unrecognized resource types: [AWS::EC2::NATGateway]',
    });
    // Nothing was created by a refused CreateStack.
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'unknown-type' }))).rejects.toThrow(
      'does not exist',
    );
  });

  it('gives the template back and validates one', async () => {
    const body = [
      'Description: validated',
      'Parameters:',
      '  Env: {Type: String, Default: dev, Description: where}',
      'Resources:',
      '  Role: {Type: AWS::IAM::Role, Properties: {RoleName: r, AssumeRolePolicyDocument: {}}}',
    ].join('\n');
    const valid = await cfn.send(new ValidateTemplateCommand({ TemplateBody: body }));
    expect(valid).toMatchObject({
      Description: 'validated',
      Parameters: [{ ParameterKey: 'Env', DefaultValue: 'dev', NoEcho: false, Description: 'where' }],
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      CapabilitiesReason: 'The following resource(s) require capabilities: [AWS::IAM::Role]',
    });
    await expect(
      cfn.send(new CreateStackCommand({ StackName: 'needs-iam', TemplateBody: body })),
    ).rejects.toMatchObject({
      name: 'InsufficientCapabilitiesException',
      message: 'Requires capabilities : [CAPABILITY_NAMED_IAM]',
    });
    await cfn.send(
      new CreateStackCommand({
        StackName: 'with-iam',
        TemplateBody: body,
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }),
    );
    const template = await cfn.send(new GetTemplateCommand({ StackName: 'with-iam' }));
    expect(template.TemplateBody).toBe(body);
    const stack = await settled('with-iam');
    expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
    const role = await cfn.send(new DescribeStackResourcesCommand({ StackName: 'with-iam' }));
    expect(role.StackResources?.[0]).toMatchObject({ LogicalResourceId: 'Role', PhysicalResourceId: 'r' });
    await deleteStack('with-iam');
  });
});
