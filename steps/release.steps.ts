/** Steps of a release: push, follow the stages, approve, deploy, and prove the version is live. */
import assert from 'node:assert/strict';
import { assertLive } from '../src/traffic/live.ts';
import type { StepDefiners } from './define.ts';
import type { HarnessScenario } from './scenario.ts';

export function defineReleaseSteps({ Given, When, Then }: StepDefiners): void {
  Given('the demo app is live behind the load balancer', async function (this: HarnessScenario) {
    const live = await this.harness.ready();
    this.previousVersion = live.version;
    await this.attachResponses(live.evidence, `Version ${live.version} is live`);
  });

  Given('the pipeline runs in {word} mode', async function (this: HarnessScenario, mode: string) {
    const { executionMode } = await this.harness.pipelineShape();
    if (executionMode === mode) return undefined;
    this.log(
      `skipped: this scenario needs a pipeline in ${mode} mode; ${this.harness.pipeline.name} runs in ${executionMode}`,
    );
    return 'skipped';
  });

  Given('we watch the load balancer', async function (this: HarnessScenario) {
    this.probe = await this.harness.startProbe();
    this.expectCheck('traffic: the load balancer probe');
  });

  When('we push a version bump of the demo app', async function (this: HarnessScenario) {
    this.current = await this.pushRelease();
  });

  When('we push a commit whose unit test fails', async function (this: HarnessScenario) {
    this.current = await this.pushRelease({ failingTest: true });
  });

  When('we push two more version bumps in quick succession', async function (this: HarnessScenario) {
    await this.pushRelease();
    await this.pushRelease();
  });

  Then('the pipeline runs an execution for our commit', async function (this: HarnessScenario) {
    const execution = await this.executionOf();
    this.log(`execution ${execution.pipelineExecutionId} runs commit ${execution.commitId}`);
  });

  Then('the {string} stage succeeds', async function (this: HarnessScenario, stage: string) {
    await this.harness.waitForStage(await this.executionOf(), this.stage(stage), 'Succeeded');
  });

  Then('the release waits for our approval', async function (this: HarnessScenario) {
    await this.harness.waitForStage(
      await this.executionOf(),
      this.harness.config.stages.approval,
      'InProgress',
    );
  });

  async function approveOurs(this: HarnessScenario): Promise<void> {
    await this.harness.approve(await this.executionOf());
  }

  When('we approve the release', approveOurs);
  When('we approve the release of our commit', approveOurs);

  When('we approve the release of the newest commit', async function (this: HarnessScenario) {
    this.current = this.pushes.at(-1);
    await this.harness.approve(await this.executionOf());
  });

  When('we reject the release', async function (this: HarnessScenario) {
    await this.harness.reject(await this.executionOf());
  });

  Then('the deployment succeeds', async function (this: HarnessScenario) {
    const execution = await this.executionOf();
    // The live check of our version starts at the traffic shift, beside blue's termination wait, and counts the
    // probe's answers; the step that asserts it uses its result.
    const probe = this.probe;
    const { deploymentId, live } = await this.harness.followDeployment(execution, {
      liveCheck: { version: this.push.version, ...(probe ? { seen: () => probe.samples } : {}) },
    });
    this.deploymentId = deploymentId;
    this.liveChecked = live;
    await this.attachLifecycle(deploymentId);
    await this.attachTimeline(execution);
  });

  Then(
    'every instance behind the load balancer serves the new version',
    async function (this: HarnessScenario) {
      const checked = this.liveChecked;
      const live =
        checked?.version === this.push.version
          ? assertLive(checked)
          : await this.harness.expectLive(this.push.version);
      await this.attachResponses(live.evidence, `Every instance serves ${this.push.version}`);
    },
  );

  Then(
    'every instance behind the load balancer serves the previous version',
    async function (this: HarnessScenario) {
      assert.ok(this.previousVersion, 'the previous version is unknown: the Background releases it first');
      const live = await this.harness.expectLive(this.previousVersion);
      await this.attachResponses(live.evidence, `Every instance still serves ${this.previousVersion}`);
    },
  );

  Then('no request failed while the new version rolled out', async function (this: HarnessScenario) {
    const report = await this.stopProbe();
    this.checked('traffic:');
    assert.equal(
      report.failures.total,
      0,
      `${report.failures.total} of ${report.requests} requests failed (longest outage ${report.longestOutageMs} ms)`,
    );
    const served = report.versions.map((v) => v.version);
    assert.ok(
      served.includes(this.push.version),
      `the probe never saw ${this.push.version}; it saw ${served.join(', ')}`,
    );
    this.log(
      `${report.requests} requests, 0 failed; versions ${served.join(' → ')}; mixed for ${report.mixedVersionWindowMs} ms`,
    );
  });

  Then(
    'every instance behind the load balancer serves version {string}',
    async function (this: HarnessScenario, version: string) {
      const live = await this.harness.expectLive(version);
      await this.attachResponses(live.evidence, `Every instance serves ${version}`);
    },
  );
}
