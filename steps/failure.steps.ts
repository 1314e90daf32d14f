/** Steps of releases that must not go through: forced failures and rollback, rejection, the build gate, supersession. */
import assert from 'node:assert/strict';
import { ExecutionFailedError, ExecutionSupersededError } from '../src/errors.ts';
import type { StepDefiners } from './define.ts';
import type { HarnessScenario } from './scenario.ts';

export function defineFailureSteps({ Then, When }: StepDefiners): void {
  When('we force a failed deployment by {word}', async function (this: HarnessScenario, how: string) {
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

  Then('the deployment ends {word}', function (this: HarnessScenario, status: string) {
    assert.ok(this.forced, 'no forced failure in this scenario');
    assert.equal(
      this.forced.outcome.status,
      status,
      `deployment ${this.forced.deploymentId} ended ${this.forced.outcome.status}`,
    );
  });

  Then(
    'a rollback deployment, linked to it, puts the previous version back',
    async function (this: HarnessScenario) {
      assert.ok(this.forced, 'no forced failure in this scenario');
      const proof = await this.harness.expectRollback(this.forced, this.previousVersion);
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
      if (proof.live) {
        await this.attachResponses(proof.live.evidence, `Every instance serves ${proof.live.version} again`);
      }
      this.log(`deployment ${proof.deploymentId} rolled back by ${proof.rollbackDeploymentId}`);
    },
  );

  Then(
    'the pipeline execution failed at the {string} stage',
    async function (this: HarnessScenario, name: string) {
      const stage = this.stage(name);
      const execution = await this.executionOf();
      const result = await this.harness.tryWaitForStage(execution, stage, 'Succeeded');
      assert.ok(!result.ok, `stage ${stage} of execution ${execution.pipelineExecutionId} succeeded`);
      // Anything but a failed execution (a wrong name, a timeout) is the error itself, with its own message.
      if (!(result.error instanceof ExecutionFailedError)) throw result.error;
      assert.equal(result.error.failed?.stage, stage, result.error.message);
      this.lastFailure = result.error;
      await this.attachTimeline(execution);
    },
  );

  Then('the failure names the failing test', function (this: HarnessScenario) {
    // On AWS the action's errorDetails only say that `node --test` exited 1: the test is named in the build's log.
    const message = this.lastFailure?.failed?.buildLog?.failingTests.join('\n') ?? '';
    assert.match(
      message,
      /release gate: this commit breaks a unit test on purpose/,
      `failing tests in the build log: [${message}]; ${this.lastFailure?.message}`,
    );
  });

  Then('nothing was deployed for our commit', async function (this: HarnessScenario) {
    const since = this.pushedAt.get(this.push.commitId);
    assert.ok(since, 'the push time of our commit is unknown');
    const deployments = await this.harness.deploymentsSince(since);
    assert.deepEqual(deployments, [], `deployments created since our push at ${since.toISOString()}`);
  });

  Then('the middle execution is superseded', async function (this: HarnessScenario) {
    const middle = this.pushes.at(-2);
    assert.ok(middle && this.pushes.length >= 3, 'needs three pushes: one at approval, then two more');
    const execution = await this.executionOf(middle);
    const result = await this.harness.tryWaitForStage(
      execution,
      this.harness.config.stages.approval,
      'Succeeded',
    );
    assert.ok(!result.ok, `execution ${execution.pipelineExecutionId} of the middle push was not superseded`);
    assert.ok(
      result.error instanceof ExecutionSupersededError,
      `expected Superseded, got: ${String(result.error)}`,
    );
    this.log(result.error.message);
  });

  Then('the previous version was served throughout', async function (this: HarnessScenario) {
    const report = await this.stopProbe();
    this.checked('traffic:');
    const served = new Set(report.versions.map((v) => v.version));
    const broken = this.forced?.push.version;
    assert.ok(!broken || !served.has(broken), `the load balancer served the broken version ${broken}`);
    assert.equal(report.failures.total, 0, `${report.failures.total} of ${report.requests} requests failed`);
    assert.deepEqual([...served], [this.previousVersion], `versions served: ${[...served].join(', ')}`);
  });
}
