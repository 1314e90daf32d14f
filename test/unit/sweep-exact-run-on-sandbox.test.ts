/**
 * `codepipeline-harness sweep --run ci` (the real CLI) touches run `ci` only: three runs whose ids share a prefix
 * (`ci`, `ci-2`, `ci-nightly`) leave the same kinds of resources (names `cph-<run>-*`, the run tag, a blue/green
 * `CodeDeploy_*` copy, the EventBridge rule and SQS queue of the run's event channel), and `--dry-run` lists exactly run `ci`'s and deletes nothing; the real sweep then deletes
 * exactly those and leaves the other two runs whole.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { CreateApplicationCommand, CreateDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients, type HarnessClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { RUN_TAG, stackNames } from '../../src/stack/names.ts';
import { checkLeaks, type Leftover } from '../../src/teardown/leaks.ts';
import { channelsOfRun } from '../../src/watch/sweep.ts';
import { approvalStage, declarePipeline, sourceStage } from '../sandbox/helpers/pipeline.ts';

const RUNS = ['ci', 'ci-2', 'ci-nightly'] as const;
const root = join(import.meta.dirname, '..', '..');

/** What a killed run `runId` leaves: every kind sweep deletes, named and tagged as the harness does. */
async function leaveRun(
  clients: HarnessClients & { codecommit: NonNullable<HarnessClients['codecommit']> },
  runId: string,
) {
  const n = stackNames(runId);
  const tags = [{ Key: RUN_TAG, Value: runId }];
  await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: n.repositoryName }));
  await clients.elbv2.send(
    new CreateLoadBalancerCommand({ Name: n.loadBalancerName, Subnets: ['s-1', 's-2'], Tags: tags }),
  );
  await clients.elbv2.send(
    new CreateTargetGroupCommand({ Name: n.targetGroupName, Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' }),
  );
  for (const name of [
    n.autoScalingGroupName,
    `CodeDeploy_${n.deploymentGroupName}_d-${runId.length}ABCDEF1`,
  ]) {
    await clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 0,
        LaunchTemplate: { LaunchTemplateName: 'web' },
        Tags: name === n.autoScalingGroupName ? [{ ...tags[0]!, PropagateAtLaunch: true }] : [],
      }),
    );
  }
  await clients.codedeploy.send(new CreateApplicationCommand({ applicationName: n.applicationName }));
  await clients.codedeploy.send(
    new CreateDeploymentGroupCommand({
      applicationName: n.applicationName,
      deploymentGroupName: n.deploymentGroupName,
      serviceRoleArn: 'arn:aws:iam::000000000000:role/codedeploy',
      autoScalingGroups: [n.autoScalingGroupName],
    }),
  );
  // The run's event channel, as `Watch` makes it: a queue, and a rule sending to it.
  const channel = `${n.prefix}-a1b2c3-events`;
  const { QueueUrl } = await clients.sqs!.send(new CreateQueueCommand({ QueueName: channel }));
  const { Attributes } = await clients.sqs!.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await clients.events!.send(
    new PutRuleCommand({ Name: channel, EventPattern: JSON.stringify({ source: ['aws.codepipeline'] }) }),
  );
  await clients.events!.send(
    new PutTargetsCommand({ Rule: channel, Targets: [{ Id: 'run-queue', Arn: Attributes!.QueueArn! }] }),
  );
  await clients.codepipeline.send(
    new CreatePipelineCommand({
      pipeline: declarePipeline(n.pipelineName, [
        sourceStage(n.repositoryName, { outputArtifact: 'Src' }),
        approvalStage(),
      ]),
    }),
  );
}

/** What the leak check finds of run `runId` by its own, exact rule (names and tag value). */
async function resourcesOf(clients: HarnessClients, runId: string): Promise<string[]> {
  const n = stackNames(runId);
  const report = await checkLeaks(
    clients,
    { key: RUN_TAG, value: runId },
    { namePrefix: `${n.prefix}-`, deploymentGroups: [n.deploymentGroupName] },
  );
  const exact = (l: Leftover) =>
    l.reason === 'tag' ||
    [n.repositoryName, n.pipelineName, n.applicationName, n.autoScalingGroupName].includes(l.id) ||
    l.id === `${n.applicationName}/${n.deploymentGroupName}` ||
    l.id.startsWith(`CodeDeploy_${n.deploymentGroupName}_`) ||
    l.id.includes(`/${n.targetGroupName}/`) ||
    l.id.includes(`/${n.loadBalancerName}/`);
  return [...report.leftovers.filter(exact), ...(await channelsOfRun(clients, runId))]
    .map((l) => `${l.kind} ${l.id}`)
    .sort();
}

function sweepCli(endpoint: string, ...args: string[]) {
  return promisify(execFile)(
    process.execPath,
    [join(root, 'src', 'cli.ts'), 'sweep', ...args, '--endpoint', endpoint],
    {
      env: { ...process.env, CI: 'true' },
      timeout: 120_000,
    },
  );
}

describe('sweep --run matches the exact run', () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof createClients>;
  const before = new Map<string, string[]>();

  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.01 });
    clients = createClients(loadConfig({ env: {}, overrides: { endpoint: sandbox.endpoint } }));
    for (const run of RUNS) await leaveRun(clients, run);
    for (const run of RUNS) before.set(run, await resourcesOf(clients, run));
  }, 60_000);

  afterAll(async () => {
    if (clients) destroyClients(clients as HarnessClients);
    await sandbox?.stop();
  });

  it('--dry-run lists exactly run ci and deletes nothing', async () => {
    expect(before.get('ci')).toHaveLength(10);
    const { stdout } = await sweepCli(sandbox.endpoint, '--run', 'ci', '--dry-run');
    const listed = stdout
      .split('\n')
      .filter((l) => l.startsWith('would delete'))
      .map((l) => l.replace(/^would delete\s+/, ''))
      .sort();
    expect(listed).toEqual(before.get('ci')!);
    expect(stdout).toContain('sweep of run ci (dry run): 10 resource(s) would be deleted, nothing was');
    expect(stdout).not.toMatch(/cph-ci-2-|cph-ci-nightly-/);
    for (const run of RUNS) expect(await resourcesOf(clients, run)).toEqual(before.get(run));
  }, 60_000);

  it('deletes run ci and leaves ci-2 and ci-nightly whole', async () => {
    const { stdout } = await sweepCli(sandbox.endpoint, '--run', 'ci');
    expect(stdout).toContain('sweep of run ci: 10 resource(s) removed, nothing left');
    expect(stdout).not.toMatch(/cph-ci-2-|cph-ci-nightly-/);
    expect(await resourcesOf(clients, 'ci')).toEqual([]);
    expect(await resourcesOf(clients, 'ci-2')).toEqual(before.get('ci-2'));
    expect(await resourcesOf(clients, 'ci-nightly')).toEqual(before.get('ci-nightly'));
  }, 90_000);

  it('sweeps several runs in one call (the workers of a killed --parallel run), each by its exact id', async () => {
    const { stdout } = await sweepCli(sandbox.endpoint, '--run', 'ci-2', '--run', 'ci-nightly');
    for (const run of ['ci-2', 'ci-nightly']) {
      expect(before.get(run)!.length).toBeGreaterThan(0);
      expect(stdout).toContain(
        `sweep of run ${run}: ${before.get(run)!.length} resource(s) removed, nothing left`,
      );
    }
    expect(await resourcesOf(clients, 'ci-2')).toEqual([]);
    expect(await resourcesOf(clients, 'ci-nightly')).toEqual([]);
  }, 120_000);

  it('refuses a run id that breaks the rule, saying the rule', async () => {
    const error = await sweepCli(sandbox.endpoint, '--run', 'CI_2').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(error).toMatchObject({ code: 2 });
    expect((error as { stderr: string }).stderr).toContain(
      '"CI_2" is not a run id: use 1-16 lowercase letters, digits or dashes, starting with a letter or digit',
    );
  });
});
