/** Steps of releases that must not go through: forced failures and rollback, rejection, the build gate, supersession. */
import assert from 'node:assert/strict';
import { Then, When } from './define.ts';
import { ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { ExecutionFailedError, ExecutionSupersededError } from '../src/errors.ts';
import type { HarnessWorld } from './world.ts';

When('we force a failed deployment by {word}', async function (this: HarnessWorld, how: string) {
  assert.ok(
    how === 'bad-revision' || how === 'stop-deployment',
    `unknown failure '${how}': use bad-revision or stop-deployment`,
  );
  this.forced = await this.harness.forceFailedDeploy(how);
  this.current = this.forced.push;
  this.pushes.push(this.forced.push);
  this.executions.set(this.forced.push.commitId, this.forced.execution);
  this.expectCheck('rollback: the forced failure');
  await this.attachLifecycle(
    this.forced.deploymentId,
    `Lifecycle events of the forced deployment ${this.forced.deploymentId}`,
  );
});

Then('the deployment ends {word}', function (this: HarnessWorld, status: string) {
  assert.ok(this.forced, 'no forced failure in this scenario');
  assert.equal(
    this.forced.outcome.status,
    status,
    `deployment ${this.forced.deploymentId} ended ${this.forced.outcome.status}`,
  );
});

Then(
  'a rollback deployment, linked to it, puts the previous version back',
  async function (this: HarnessWorld) {
    assert.ok(this.forced, 'no forced failure in this scenario');
    const { proof, live } = await this.harness.expectRollback(this.forced, this.previousVersion);
    this.checked('rollback:');
    await this.attachMarkdown(
      [
        '### Rollback checks',
        '',
        ...proof.checks.map((c) => `- ${c.ok ? 'ok' : 'NOT'}: ${c.name} (${c.detail})`),
      ].join('\n'),
    );
    await this.attachLifecycle(
      proof.rollbackDeploymentId!,
      `Lifecycle events of the rollback ${proof.rollbackDeploymentId}`,
    );
    await this.attachResponses(live.evidence, `Every instance serves ${live.version} again`);
    this.log(`deployment ${proof.deploymentId} rolled back by ${proof.rollbackDeploymentId}`);
  },
);

Then(
  'the pipeline execution failed at the {string} stage',
  async function (this: HarnessWorld, stage: string) {
    const execution = await this.executionOf();
    const error = await this.harness.waitForStage(execution, stage, 'Succeeded').then(
      () => assert.fail(`stage ${stage} of execution ${execution.pipelineExecutionId} succeeded`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ExecutionFailedError, `expected the execution to fail, got: ${String(error)}`);
    assert.equal(error.failed?.stage, stage, error.message);
    this.lastFailure = error;
    await this.attachTimeline(execution);
  },
);

Then('the failure names the failing test', function (this: HarnessWorld) {
  const message = this.lastFailure?.failed?.errorMessage ?? '';
  assert.match(
    message,
    /release gate: this commit breaks a unit test on purpose/,
    `errorDetails were: ${message}`,
  );
});

Then('nothing was deployed for our commit', async function (this: HarnessWorld) {
  // No deployment was created in the deployment group since we pushed (works on an adopted AWS stack too).
  const { clients, config, names } = this.harness;
  const since = this.pushedAt.get(this.push.commitId);
  assert.ok(since, 'the push time of our commit is unknown');
  const deployments = await clients.codedeploy.send(
    new ListDeploymentsCommand({
      applicationName: names?.applicationName ?? config.applicationName,
      deploymentGroupName: names?.deploymentGroupName ?? config.deploymentGroupName,
      createTimeRange: { start: since },
    }),
  );
  assert.deepEqual(
    deployments.deployments ?? [],
    [],
    `deployments created since our push at ${since.toISOString()}`,
  );
});

Then('the middle execution is superseded', async function (this: HarnessWorld) {
  const middle = this.pushes.at(-2);
  assert.ok(middle && this.pushes.length >= 3, 'needs three pushes: one at approval, then two more');
  const execution = await this.executionOf(middle);
  const error = await this.harness
    .waitForStage(execution, this.harness.config.stages.approval, 'Succeeded')
    .then(
      () => assert.fail(`execution ${execution.pipelineExecutionId} of the middle push was not superseded`),
      (e: unknown) => e,
    );
  assert.ok(error instanceof ExecutionSupersededError, `expected Superseded, got: ${String(error)}`);
  this.log(error.message);
});

Then('the previous version was served throughout', async function (this: HarnessWorld) {
  const report = await this.stopProbe();
  this.checked('traffic:');
  const served = new Set(report.versions.map((v) => v.version));
  const broken = this.forced?.push.version;
  assert.ok(!broken || !served.has(broken), `the load balancer served the broken version ${broken}`);
  assert.equal(report.failures.total, 0, `${report.failures.total} of ${report.requests} requests failed`);
  assert.deepEqual([...served], [this.previousVersion], `versions served: ${[...served].join(', ')}`);
});
