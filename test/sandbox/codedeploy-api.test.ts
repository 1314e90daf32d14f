/**
 * CodeDeploy control plane through the real SDK and the AWS CLI: applications, deployment groups (in-place and
 * blue/green settings), deployment configs, tags, and the AWS error codes of aws-semantics 3.12.
 */
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  BatchGetApplicationsCommand,
  BatchGetDeploymentGroupsCommand,
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentConfigCommand,
  CreateDeploymentGroupCommand,
  DeleteApplicationCommand,
  DeleteDeploymentConfigCommand,
  DeleteDeploymentGroupCommand,
  GetApplicationCommand,
  GetDeploymentCommand,
  GetDeploymentConfigCommand,
  GetDeploymentGroupCommand,
  ListApplicationsCommand,
  ListDeploymentConfigsCommand,
  ListDeploymentGroupsCommand,
  ListDeploymentTargetsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsCli } from './helpers/aws-cli.ts';
import { useSandbox } from './helpers/sandbox.ts';

const ROLE = 'arn:aws:iam::000000000000:role/CodeDeployServiceRole';

describe('CodeDeploy control plane', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  const cd = () => sb.clients.codedeploy;
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error) => e,
    );

  beforeAll(async () => {
    await sb.clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'api-asg',
        MinSize: 0,
        MaxSize: 2,
        DesiredCapacity: 0,
        LaunchConfigurationName: 'lc',
      }),
    );
  });

  it('creates, reads, lists and deletes applications', async () => {
    const created = await cd().send(
      new CreateApplicationCommand({ applicationName: 'app-a', tags: [{ Key: 'team', Value: 'web' }] }),
    );
    expect(created.applicationId).toMatch(/^[0-9a-f-]{36}$/);
    const got = await cd().send(new GetApplicationCommand({ applicationName: 'app-a' }));
    expect(got.application).toMatchObject({
      applicationId: created.applicationId,
      applicationName: 'app-a',
      computePlatform: 'Server',
      linkedToGitHub: false,
    });
    expect(got.application?.createTime).toBeInstanceOf(Date);
    await cd().send(new CreateApplicationCommand({ applicationName: 'app-b' }));
    expect((await cd().send(new ListApplicationsCommand({}))).applications).toEqual(['app-a', 'app-b']);
    const batch = await cd().send(new BatchGetApplicationsCommand({ applicationNames: ['app-a', 'app-b'] }));
    expect(batch.applicationsInfo?.map((a) => a.applicationName)).toEqual(['app-a', 'app-b']);
    const dup = await fail(cd().send(new CreateApplicationCommand({ applicationName: 'app-a' })));
    expect(dup?.name).toBe('ApplicationAlreadyExistsException');
    await cd().send(new DeleteApplicationCommand({ applicationName: 'app-b' }));
    const gone = await fail(cd().send(new GetApplicationCommand({ applicationName: 'app-b' })));
    expect(gone?.name).toBe('ApplicationDoesNotExistException');
    expect(gone?.message).toBe('The application app-b does not exist with the user or AWS account.');
  });

  it('creates an in-place group with defaults and a blue/green group with its full configuration', async () => {
    const { deploymentGroupId } = await cd().send(
      new CreateDeploymentGroupCommand({
        applicationName: 'app-a',
        deploymentGroupName: 'plain',
        serviceRoleArn: ROLE,
        autoScalingGroups: ['api-asg'],
      }),
    );
    expect(deploymentGroupId).toMatch(/^[0-9a-f-]{36}$/);
    const plain = (
      await cd().send(
        new GetDeploymentGroupCommand({ applicationName: 'app-a', deploymentGroupName: 'plain' }),
      )
    ).deploymentGroupInfo!;
    expect(plain).toMatchObject({
      deploymentGroupId,
      deploymentConfigName: 'CodeDeployDefault.OneAtATime',
      deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
      computePlatform: 'Server',
      serviceRoleArn: ROLE,
    });
    expect(plain.autoScalingGroups?.[0]?.name).toBe('api-asg');
    expect(plain.autoScalingGroups?.[0]?.hook).toMatch(
      /^CodeDeploy-managed-automatic-launch-deployment-hook-plain-/,
    );

    const bg = {
      terminateBlueInstancesOnDeploymentSuccess: {
        action: 'TERMINATE' as const,
        terminationWaitTimeInMinutes: 5,
      },
      deploymentReadyOption: { actionOnTimeout: 'STOP_DEPLOYMENT' as const, waitTimeInMinutes: 10 },
      greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' as const },
    };
    await cd().send(
      new CreateDeploymentGroupCommand({
        applicationName: 'app-a',
        deploymentGroupName: 'bg',
        serviceRoleArn: ROLE,
        autoScalingGroups: ['api-asg'],
        deploymentConfigName: 'CodeDeployDefault.HalfAtATime',
        deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        loadBalancerInfo: { targetGroupInfoList: [{ name: 'tg-1' }] },
        autoRollbackConfiguration: {
          enabled: true,
          events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
        },
        blueGreenDeploymentConfiguration: bg,
      }),
    );
    const info = (
      await cd().send(new GetDeploymentGroupCommand({ applicationName: 'app-a', deploymentGroupName: 'bg' }))
    ).deploymentGroupInfo!;
    expect(info).toMatchObject({
      deploymentConfigName: 'CodeDeployDefault.HalfAtATime',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      loadBalancerInfo: { targetGroupInfoList: [{ name: 'tg-1' }] },
      autoRollbackConfiguration: {
        enabled: true,
        events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      },
      blueGreenDeploymentConfiguration: bg,
    });
    expect(
      (await cd().send(new ListDeploymentGroupsCommand({ applicationName: 'app-a' }))).deploymentGroups,
    ).toEqual(['bg', 'plain']);
    const batch = await cd().send(
      new BatchGetDeploymentGroupsCommand({ applicationName: 'app-a', deploymentGroupNames: ['bg', 'nope'] }),
    );
    expect(batch.deploymentGroupsInfo?.map((g) => g.deploymentGroupName)).toEqual(['bg']);
    expect(batch.errorMessage).toMatch(/nope/);
  });

  it('refuses invalid groups with the AWS error codes', async () => {
    const base = { applicationName: 'app-a', serviceRoleArn: ROLE, autoScalingGroups: ['api-asg'] };
    const cases: [Record<string, unknown>, string][] = [
      [{ deploymentGroupName: 'plain' }, 'DeploymentGroupAlreadyExistsException'],
      [{ deploymentGroupName: 'x', applicationName: 'nope' }, 'ApplicationDoesNotExistException'],
      [{ deploymentGroupName: 'x', deploymentConfigName: 'Nope' }, 'DeploymentConfigDoesNotExistException'],
      [{ deploymentGroupName: 'x', autoScalingGroups: ['missing-asg'] }, 'InvalidAutoScalingGroupException'],
      [{ deploymentGroupName: 'x', serviceRoleArn: 'not-a-role' }, 'InvalidRoleException'],
      [
        { deploymentGroupName: 'x', autoRollbackConfiguration: { enabled: true, events: [] } },
        'InvalidAutoRollbackConfigException',
      ],
      [
        {
          deploymentGroupName: 'x',
          deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
          loadBalancerInfo: { targetGroupInfoList: [{ name: 'tg' }] },
          autoScalingGroups: [],
          blueGreenDeploymentConfiguration: {
            greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
          },
        },
        'InvalidBlueGreenDeploymentConfigurationException',
      ],
      [
        {
          deploymentGroupName: 'x',
          deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        },
        'InvalidLoadBalancerInfoException',
      ],
    ];
    for (const [input, code] of cases) {
      const e = await fail(cd().send(new CreateDeploymentGroupCommand({ ...base, ...input } as never)));
      expect(e?.name, JSON.stringify(input)).toBe(code);
    }
    const missing = await fail(
      cd().send(new GetDeploymentGroupCommand({ applicationName: 'app-a', deploymentGroupName: 'nope' })),
    );
    expect(missing?.name).toBe('DeploymentGroupDoesNotExistException');
  });

  it('updates (and renames) a group, and deletes it leaving the auto scaling group alone', async () => {
    await cd().send(
      new UpdateDeploymentGroupCommand({
        applicationName: 'app-a',
        currentDeploymentGroupName: 'plain',
        newDeploymentGroupName: 'renamed',
        deploymentConfigName: 'CodeDeployDefault.AllAtOnce',
      }),
    );
    const info = (
      await cd().send(
        new GetDeploymentGroupCommand({ applicationName: 'app-a', deploymentGroupName: 'renamed' }),
      )
    ).deploymentGroupInfo!;
    expect(info.deploymentConfigName).toBe('CodeDeployDefault.AllAtOnce');
    const out = await cd().send(
      new DeleteDeploymentGroupCommand({ applicationName: 'app-a', deploymentGroupName: 'renamed' }),
    );
    expect(out.hooksNotCleanedUp).toEqual([]);
    expect(sb.sandbox.services.autoscaling.group('api-asg')).toBeDefined();
  });

  it('lists the predefined configs, creates, reads and deletes a custom one', async () => {
    const list = (await cd().send(new ListDeploymentConfigsCommand({}))).deploymentConfigsList!;
    expect(list).toEqual(
      expect.arrayContaining([
        'CodeDeployDefault.AllAtOnce',
        'CodeDeployDefault.HalfAtATime',
        'CodeDeployDefault.OneAtATime',
      ]),
    );
    const half = (
      await cd().send(
        new GetDeploymentConfigCommand({ deploymentConfigName: 'CodeDeployDefault.HalfAtATime' }),
      )
    ).deploymentConfigInfo!;
    expect(half).toMatchObject({
      minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 50 },
      computePlatform: 'Server',
    });
    const { deploymentConfigId } = await cd().send(
      new CreateDeploymentConfigCommand({
        deploymentConfigName: 'TwoHealthy',
        minimumHealthyHosts: { type: 'HOST_COUNT', value: 2 },
      }),
    );
    expect(deploymentConfigId).toMatch(/^[0-9a-f-]{36}$/);
    const mine = (await cd().send(new GetDeploymentConfigCommand({ deploymentConfigName: 'TwoHealthy' })))
      .deploymentConfigInfo!;
    expect(mine).toMatchObject({ deploymentConfigId, minimumHealthyHosts: { type: 'HOST_COUNT', value: 2 } });
    const builtIn = await fail(
      cd().send(new DeleteDeploymentConfigCommand({ deploymentConfigName: 'CodeDeployDefault.AllAtOnce' })),
    );
    expect(builtIn?.name).toBe('InvalidOperationException');
    await cd().send(new DeleteDeploymentConfigCommand({ deploymentConfigName: 'TwoHealthy' }));
    const gone = await fail(
      cd().send(new GetDeploymentConfigCommand({ deploymentConfigName: 'TwoHealthy' })),
    );
    expect(gone?.name).toBe('DeploymentConfigDoesNotExistException');
  });

  it('tags applications and deployment groups by ARN', async () => {
    const appArn = 'arn:aws:codedeploy:us-east-1:000000000000:application:app-a';
    expect((await cd().send(new ListTagsForResourceCommand({ ResourceArn: appArn }))).Tags).toEqual([
      { Key: 'team', Value: 'web' },
    ]);
    await cd().send(new TagResourceCommand({ ResourceArn: appArn, Tags: [{ Key: 'env', Value: 'test' }] }));
    await cd().send(new UntagResourceCommand({ ResourceArn: appArn, TagKeys: ['team'] }));
    expect((await cd().send(new ListTagsForResourceCommand({ ResourceArn: appArn }))).Tags).toEqual([
      { Key: 'env', Value: 'test' },
    ]);
    const dgArn = 'arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:app-a/bg';
    await cd().send(new TagResourceCommand({ ResourceArn: dgArn, Tags: [{ Key: 'tier', Value: 'front' }] }));
    expect((await cd().send(new ListTagsForResourceCommand({ ResourceArn: dgArn }))).Tags).toEqual([
      { Key: 'tier', Value: 'front' },
    ]);
    const bad = await fail(
      cd().send(new TagResourceCommand({ ResourceArn: 'nope', Tags: [{ Key: 'a', Value: 'b' }] })),
    );
    expect(bad?.name).toBe('InvalidArnException');
    const missing = await fail(
      cd().send(
        new TagResourceCommand({
          ResourceArn: 'arn:aws:codedeploy:us-east-1:000000000000:application:ghost',
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
    );
    expect(missing?.name).toBe('ApplicationDoesNotExistException');
  });

  it('answers deployment errors: no revision, unknown revision, unknown or malformed ids, no instances', async () => {
    const noRev = await fail(
      cd().send(new CreateDeploymentCommand({ applicationName: 'app-a', deploymentGroupName: 'bg' })),
    );
    expect(noRev?.name).toBe('RevisionRequiredException');
    const unknownRev = await fail(
      cd().send(
        new CreateDeploymentCommand({
          applicationName: 'app-a',
          deploymentGroupName: 'bg',
          revision: { revisionType: 'S3', s3Location: { bucket: 'b', key: 'k.zip', bundleType: 'zip' } },
        }),
      ),
    );
    expect(unknownRev?.name).toBe('RevisionDoesNotExistException');
    expect((await fail(cd().send(new GetDeploymentCommand({ deploymentId: 'd-AAAAAAAAA' }))))?.name).toBe(
      'DeploymentDoesNotExistException',
    );
    expect((await fail(cd().send(new GetDeploymentCommand({ deploymentId: 'nope' }))))?.name).toBe(
      'InvalidDeploymentIdException',
    );
    // An AppSpec-only ("String") revision to a group whose ASG has no instances: the deployment fails NO_INSTANCES.
    await cd().send(
      new CreateDeploymentGroupCommand({
        applicationName: 'app-a',
        deploymentGroupName: 'empty',
        serviceRoleArn: ROLE,
        autoScalingGroups: ['api-asg'],
      }),
    );
    const { deploymentId } = await cd().send(
      new CreateDeploymentCommand({
        applicationName: 'app-a',
        deploymentGroupName: 'empty',
        revision: { revisionType: 'String', string: { content: 'version: 0.0\nos: linux\n' } },
      }),
    );
    const info = await sb.sandbox.services.codedeploy.waitForDeployment(
      deploymentId!,
      AbortSignal.timeout(10_000),
    );
    expect(info).toMatchObject({ status: 'Failed', errorInformation: { code: 'NO_INSTANCES' } });
    const targets = await fail(cd().send(new ListDeploymentTargetsCommand({ deploymentId })));
    expect(targets?.name).toBe('DeploymentNotStartedException');
  });

  it('works with the AWS CLI (aws deploy ...)', async () => {
    const create = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'create-application',
      '--application-name',
      'cli-app',
    ]);
    expect(create.code, create.stderr).toBe(0);
    expect(create.json.applicationId).toMatch(/^[0-9a-f-]{36}$/);
    const dg = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'create-deployment-group',
      '--application-name',
      'cli-app',
      '--deployment-group-name',
      'cli-dg',
      '--service-role-arn',
      ROLE,
      '--auto-scaling-groups',
      'api-asg',
      '--deployment-style',
      'deploymentType=IN_PLACE,deploymentOption=WITHOUT_TRAFFIC_CONTROL',
    ]);
    expect(dg.code, dg.stderr).toBe(0);
    const got = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'get-deployment-group',
      '--application-name',
      'cli-app',
      '--deployment-group-name',
      'cli-dg',
    ]);
    expect(got.json.deploymentGroupInfo.autoScalingGroups[0].name).toBe('api-asg');
    const configs = await awsCli(sb.sandbox.endpoint, ['deploy', 'list-deployment-configs']);
    expect(configs.json.deploymentConfigsList).toContain('CodeDeployDefault.OneAtATime');
    const missing = await awsCli(sb.sandbox.endpoint, [
      'deploy',
      'get-application',
      '--application-name',
      'ghost',
    ]);
    expect(missing.errorCode).toBe('ApplicationDoesNotExistException');
  });
});
