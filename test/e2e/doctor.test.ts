/**
 * The doctor on the sandbox: a team's stack (built by one harness, adopted by name as `stack: existing`, like
 * test/e2e/existing-stack.test.ts) passes every check; then each way a team gets it wrong fails its own check with
 * the fix, and only the checks that need it are skipped.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { GetPipelineCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-codepipeline';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DoctorReport, formatDoctor, runDoctor } from '../../src/doctor/index.ts';
import { Harness, type HarnessConfigInput, TEST_TARGET_TAG } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

let sandbox: Sandbox;
let team: Harness;
let adopt: HarnessConfigInput;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  team = await Harness.start({ sandbox });
  await team.provision();
  const names = team.names!;
  adopt = {
    target: 'sandbox',
    endpoint: sandbox.endpoint,
    stack: 'existing',
    pipelineName: names.pipelineName,
    applicationName: names.applicationName,
    deploymentGroupName: names.deploymentGroupName,
    loadBalancerName: names.loadBalancerName,
    source: { repositoryUrl: team.source.repoUrl, branch: team.source.branch },
  };
}, 180_000);

afterAll(async () => {
  await team?.close();
  await sandbox?.stop();
});

/** The doctor as a nightly run would call it: only what the test says, nothing from this process's env. */
function doctor(config: HarnessConfigInput = {}, destructive = false): Promise<DoctorReport> {
  return runDoctor({ env: {}, config: { ...adopt, ...config }, destructive, timeoutMs: 10_000 });
}

const check = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name)!;
const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.name, c.ok]));

describe('codepipeline-harness doctor on the sandbox', () => {
  it('passes every check on a stack named right, destructive checks included', async () => {
    const report = await doctor({}, true);
    expect(statuses(report), formatDoctor(report)).toEqual({
      config: true,
      sandbox: true,
      credentials: true,
      pipeline: true,
      source: true,
      'deployment-group': true,
      'load-balancer': true,
      'app-version': true,
      'test-target-tag': true,
    });
    expect(report.ok).toBe(true);
    expect(check(report, 'deployment-group').detail).toMatch(
      /blue\/green \(with traffic control\), auto-rollback on DEPLOYMENT_FAILURE/,
    );
    expect(check(report, 'load-balancer').detail).toMatch(/: 2 healthy targets \(i-/);
    expect(check(report, 'app-version').detail).toMatch(/\/version answers 200 with version v1-/);
    expect(formatDoctor(report)).toMatch(/0 skipped \(.*\): ready to run\n$/);
  }, 60_000);

  it('names the real stages and the HARNESS_STAGE_DEPLOY to set when a stage name is wrong', async () => {
    const report = await doctor({ stages: { deploy: 'DeployBlueGreen' } });
    const pipeline = check(report, 'pipeline');
    expect(pipeline.ok).toBe(false);
    expect(pipeline.detail).toBe(
      `pipeline ${adopt.pipelineName} has no stage "DeployBlueGreen" (stages.deploy); its stages are Source, ` +
        'BuildAndTest, Approval, Deploy',
    );
    expect(pipeline.fix).toBe('set HARNESS_STAGE_DEPLOY=Deploy');
    // The checks after it still run, on the pipeline's own stage names: one pass shows everything.
    expect(statuses(report)).toMatchObject({ source: true, 'deployment-group': true, 'app-version': true });
    expect(report.ok).toBe(false);
  }, 30_000);

  it('asks for the test-target tag with --destructive when the pipeline lacks it', async () => {
    const { codepipeline } = team.clients;
    const arn = (await codepipeline.send(new GetPipelineCommand({ name: adopt.pipelineName! }))).metadata!
      .pipelineArn!;
    await codepipeline.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: [TEST_TARGET_TAG] }));
    try {
      const report = await doctor({}, true);
      const tag = check(report, 'test-target-tag');
      expect(tag).toMatchObject({
        ok: false,
        detail: `${adopt.pipelineName} is not created by this run and not tagged ${TEST_TARGET_TAG}=true: @destructive scenarios would be refused`,
        fix: `tag it: aws codepipeline tag-resource --resource-arn ${arn} --tags key=${TEST_TARGET_TAG},value=true (or run without @destructive)`,
      });
      // Without --destructive the tag is no one's business.
      expect((await doctor()).checks.map((c) => c.name)).not.toContain('test-target-tag');
    } finally {
      await codepipeline.send(
        new TagResourceCommand({ resourceArn: arn, tags: [{ key: TEST_TARGET_TAG, value: 'true' }] }),
      );
    }
  }, 30_000);

  it('says to start the sandbox when nothing answers at the endpoint, and checks nothing else', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    const report = await doctor({ endpoint: `http://127.0.0.1:${port}` });
    expect(check(report, 'sandbox')).toMatchObject({
      ok: false,
      detail: `the sandbox does not answer at http://127.0.0.1:${port} (ECONNREFUSED)`,
      fix: 'start it with `npx codepipeline-harness sandbox` or unset HARNESS_ENDPOINT',
    });
    expect(report.checks.filter((c) => c.ok === 'skipped').map((c) => [c.name, c.detail])).toEqual(
      ['credentials', 'pipeline', 'source', 'deployment-group', 'load-balancer', 'app-version'].map((n) => [
        n,
        'needs the sandbox',
      ]),
    );
  });

  it('skips the stack checks on an ephemeral stack: the run creates its own', async () => {
    const report = await runDoctor({ env: {}, config: { endpoint: sandbox.endpoint } });
    expect(statuses(report)).toEqual({
      config: true,
      sandbox: true,
      credentials: true,
      pipeline: 'skipped',
      source: 'skipped',
      'deployment-group': 'skipped',
      'load-balancer': 'skipped',
      'app-version': 'skipped',
    });
    expect(check(report, 'credentials').detail).toBe(
      "the sandbox's test credentials (access key …test), region us-east-1",
    );
    expect(check(report, 'pipeline').detail).toBe('the run creates its own stack');
  });

  it('names the wrong load balancer and the ones there are', async () => {
    const report = await doctor({ loadBalancerName: 'awscicd-cap-alb' });
    expect(check(report, 'load-balancer')).toMatchObject({
      ok: false,
      detail: 'no load balancer awscicd-cap-alb in us-east-1',
      fix: `set HARNESS_LOAD_BALANCER to the load balancer in front of the app (load balancers in us-east-1: ${adopt.loadBalancerName})`,
    });
    expect(check(report, 'app-version')).toMatchObject({
      ok: 'skipped',
      detail: "needs the load balancer's URL",
    });
  });

  // Last: it takes the stack's targets away.
  it('names every target and its state when no target is healthy', async () => {
    const { elbv2 } = team.clients;
    const group = (
      await elbv2.send(new DescribeTargetGroupsCommand({ Names: [team.names!.targetGroupName] }))
    ).TargetGroups![0]!;
    const registered = (
      await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: group.TargetGroupArn }))
    ).TargetHealthDescriptions!.map((d) => d.Target!);
    await elbv2.send(
      new DeregisterTargetsCommand({ TargetGroupArn: group.TargetGroupArn, Targets: registered }),
    );
    const report = await doctor();
    const lb = check(report, 'load-balancer');
    expect(lb.ok).toBe(false);
    // Draining while the (scaled) deregistration delay runs, then gone: either way named, never "healthy".
    expect(lb.detail).toMatch(
      new RegExp(
        `^no healthy target behind ${adopt.loadBalancerName}: (${registered
          .map((t) => `${t.Id} draining \\(Target.DeregistrationInProgress\\)`)
          .join(', ')}|no target is registered in ${team.names!.targetGroupName})$`,
      ),
    );
    expect(lb.fix).toMatch(/health check|register the instances/);
    expect(report.ok).toBe(false);
  }, 30_000);
});
