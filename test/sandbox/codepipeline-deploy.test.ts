/**
 * The Deploy/CodeDeploy action against the sandbox's real CodeDeploy: a pushed sample-app commit is built,
 * approved and deployed in place onto a local instance of an auto scaling group, which then serves the new
 * version; a commit whose app is unhealthy fails the Deploy stage with the deployment's error.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  CreateApplicationCommand,
  CreateDeploymentGroupCommand,
  GetDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListPipelineExecutionsCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFile, gitRun } from './helpers/git.ts';
import { approvalStage, buildStage, declarePipeline, deployStage, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';
import { until as untilReached } from './helpers/until.ts';

const SAMPLE_APP = path.join(import.meta.dirname, '..', '..', 'sample-app');

/** The shared `until` (helpers/until.ts) at this suite's pace: every 150 ms, 90 s by default. */
const until = <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 90_000,
) => untilReached(what, probe, { everyMs: 150, timeoutMs });

describe('CodePipeline Deploy action with the sandbox CodeDeploy', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });
  let work: string;
  let tree: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cph-cp-deploy-'));
    const { codecommit, codedeploy, autoscaling, codepipeline } = sb.clients;
    const meta = (await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'deploy-app' })))
      .repositoryMetadata!;
    await gitRun(work, ['clone', '-q', meta.cloneUrlHttp!, 'deploy-app']);
    tree = path.join(work, 'deploy-app');
    await cp(SAMPLE_APP, tree, { recursive: true });
    await gitRun(tree, ['add', '-A']);
    await autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'deploy-asg',
        LaunchConfigurationName: 'deploy-lc',
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
      }),
    );
    await codedeploy.send(
      new CreateApplicationCommand({ applicationName: 'deploy-app', computePlatform: 'Server' }),
    );
    await codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'deploy-app',
        deploymentGroupName: 'deploy-dg',
        serviceRoleArn: 'arn:aws:iam::000000000000:role/codedeploy',
        deploymentConfigName: 'CodeDeployDefault.AllAtOnce',
        autoScalingGroups: ['deploy-asg'],
        deploymentStyle: { deploymentType: 'IN_PLACE', deploymentOption: 'WITHOUT_TRAFFIC_CONTROL' },
      }),
    );
    await codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline(
          'deploy-pipeline',
          [
            sourceStage('deploy-app'),
            buildStage('deploy-build'),
            approvalStage(),
            deployStage('deploy-app', 'deploy-dg'),
          ],
          { artifactBucket: 'deploy-artifacts' },
        ),
      }),
    );
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** Pushes, approves, and resolves the execution id once it is no longer InProgress. */
  async function release(file: string, content: string, message: string): Promise<string> {
    const { codepipeline } = sb.clients;
    const commit = await commitFile(tree, file, content, message);
    await gitRun(tree, ['push', '-q', 'origin', 'HEAD:main']);
    const id = await until('the execution', async () => {
      const list = await codepipeline.send(
        new ListPipelineExecutionsCommand({ pipelineName: 'deploy-pipeline' }),
      );
      return list.pipelineExecutionSummaries?.find((s) => s.sourceRevisions?.[0]?.revisionId === commit)
        ?.pipelineExecutionId;
    });
    const token = await until('the approval', async () => {
      const approval = (await codepipeline.send(new GetPipelineStateCommand({ name: 'deploy-pipeline' })))
        .stageStates?.[2];
      return (
        approval?.latestExecution?.pipelineExecutionId === id &&
        approval.actionStates?.[0]?.latestExecution?.token
      );
    });
    await codepipeline.send(
      new PutApprovalResultCommand({
        pipelineName: 'deploy-pipeline',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token,
        result: { status: 'Approved', summary: message },
      }),
    );
    await until('the end of the execution', async () => {
      const e = await codepipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: 'deploy-pipeline', pipelineExecutionId: id }),
      );
      return e.pipelineExecution?.status !== 'InProgress';
    });
    return id;
  }

  it('deploys an approved build and the instance serves the new version', async () => {
    const id = await release('VERSION', 'v5\n', 'Release v5');
    const { codepipeline, codedeploy } = sb.clients;
    const execution = await codepipeline.send(
      new GetPipelineExecutionCommand({ pipelineName: 'deploy-pipeline', pipelineExecutionId: id }),
    );
    const deploy = (await codepipeline.send(new GetPipelineStateCommand({ name: 'deploy-pipeline' })))
      .stageStates![3]!;
    expect({
      status: execution.pipelineExecution?.status,
      deploy: deploy.actionStates?.[0]?.latestExecution?.errorDetails,
    }).toEqual({
      status: 'Succeeded',
      deploy: undefined,
    });
    const action = deploy.actionStates![0]!.latestExecution!;
    expect(action).toMatchObject({ status: 'Succeeded', summary: 'Deployment Succeeded' });
    expect(action.externalExecutionId).toMatch(/^d-[A-Z0-9]{9}$/);
    const deployment = await codedeploy.send(
      new GetDeploymentCommand({ deploymentId: action.externalExecutionId! }),
    );
    expect(deployment.deploymentInfo?.status).toBe('Succeeded');
    const [instance] = sb.sandbox.services.fleet.list().filter((i) => i.state === 'running');
    const version = (await (await fetch(`http://127.0.0.1:${instance!.port}/version`)).json()) as {
      version: string;
    };
    expect(version.version).toBe('v5');
  });

  it('fails the Deploy stage with the deployment error when the new version is unhealthy', async () => {
    await writeFile(path.join(tree, 'VERSION'), 'v6\n');
    await gitRun(tree, ['add', 'VERSION']);
    const id = await release('config/health.json', '{"healthy": false}\n', 'Release an unhealthy v6');
    const { codepipeline } = sb.clients;
    const execution = await codepipeline.send(
      new GetPipelineExecutionCommand({ pipelineName: 'deploy-pipeline', pipelineExecutionId: id }),
    );
    expect(execution.pipelineExecution?.status).toBe('Failed');
    const deploy = (await codepipeline.send(new GetPipelineStateCommand({ name: 'deploy-pipeline' })))
      .stageStates![3]!;
    expect(deploy.latestExecution?.status).toBe('Failed');
    const action = deploy.actionStates![0]!.latestExecution!;
    expect(action.externalExecutionId).toMatch(/^d-/);
    expect(action.errorDetails?.code).toBe('JobFailed');
    // The deployment's errorInformation, e.g. "Deployment d-… failed: HEALTH_CONSTRAINTS: The overall deployment failed …".
    expect(action.errorDetails?.message).toMatch(
      new RegExp(`^Deployment ${action.externalExecutionId} failed: [A-Z_]+: .+`),
    );
  });
});
