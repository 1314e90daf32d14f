/**
 * A stack the harness did not create, adopted with `stack: existing` and left exactly as found. One harness
 * (the "team") builds a stack of three instances in QUEUED mode and releases its first version; every test then
 * adopts it with a harness of its own, as a nightly run would, and checks what that run leaves behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutionRef, GuardRefusedError, Harness, type HarnessConfigInput } from '../../src/index.ts';
import { createClients, destroyClients } from '../../src/aws/clients.ts';
import { iamAction } from '../../src/aws/denied.ts';
import { loadConfig } from '../../src/config.ts';
import { runDoctor } from '../../src/doctor/index.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { branchHead, treeOf } from '../../src/source/restore.ts';

/** The sandbox's HTTPS git credentials (its default test/test): its git endpoint, like CodeCommit's, wants some. */
const auth = { type: 'https-git-credentials', username: 'test', password: 'test' } as const;

let sandbox: Sandbox;
let team: Harness;
let adopt: HarnessConfigInput;
let servedBefore: string;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
  team = await Harness.start({ sandbox });
  const first = await team.provision({ instances: 3, executionMode: 'QUEUED' });
  servedBefore = first.push.version;
  const names = team.names!;
  adopt = {
    stack: 'existing',
    pipelineName: names.pipelineName,
    applicationName: names.applicationName,
    deploymentGroupName: names.deploymentGroupName,
    loadBalancerName: names.loadBalancerName,
    source: { repositoryUrl: team.source.repoUrl, branch: team.source.branch },
    timeouts: { live: '1m', stage: '2m', deploy: '2m', build: '2m', approval: '2m', teardown: '3m' },
  };
}, 180_000);

afterAll(async () => {
  await team?.close();
  await sandbox?.stop();
});

/** Every AWS command the runs sent, as IAM names them (`codepipeline:GetPipeline`). */
const sent = new Set<string>();

/** Records the IAM action of every command the harness's clients send. */
function recordCommands(clients: object): void {
  for (const client of Object.values(clients) as { middlewareStack?: AnyClient['middlewareStack'] }[]) {
    client.middlewareStack?.add(
      (next, context) => (args) => {
        sent.add(iamAction(context.clientName, context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'recordIamAction' },
    );
  }
}
type AnyClient = import('@aws-sdk/client-codepipeline').CodePipelineClient;

/** A nightly run on the team's stack: adopt it, do `work`, close; returns what close() reported. */
async function nightly(work: (harness: Harness) => Promise<void>, config: HarnessConfigInput = {}) {
  const harness = await Harness.start({ sandbox, config: { ...adopt, ...config } });
  recordCommands(harness.clients);
  let failure: unknown;
  try {
    await harness.ready();
    await work(harness);
  } catch (error) {
    failure = error;
  }
  const closed = await harness.close();
  if (failure) throw failure;
  expect(closed.teardown.failed).toEqual([]);
  expect(closed.leaks.leftovers).toEqual([]);
  return closed;
}

/** The tree the team's branch holds now. */
async function branchTree(): Promise<string> {
  return (await branchHead({ repoUrl: team.source.repoUrl, branch: team.source.branch, auth })).tree;
}

describe('a stack the run did not create (stack: existing)', () => {
  it('proves "every instance" against every healthy target of the load balancer: all three', async () => {
    await nightly(async (harness) => {
      const live = await harness.expectLive(servedBefore);
      expect(live.expectedTargets).toHaveLength(3);
      expect(Object.keys(live.instances).sort()).toEqual([...(live.expectedTargets ?? [])].sort());
    });
  }, 120_000);

  it('puts the branch and the served version back after a build-gate failure', async () => {
    const tree = await branchTree();
    const closed = await nightly(async (harness) => {
      const push = await harness.push({ failingTest: true });
      const build = await harness.tryWaitForStage(await harness.findExecution(push), 'BuildAndTest');
      expect(build.ok).toBe(false);
    });
    expect(closed.teardown.failed).toEqual([]);
    expect(closed.teardown.deleted.some((d) => d.startsWith('branch main restored'))).toBe(true);
    expect(await branchTree()).toBe(tree);
    await nightly(async (harness) => {
      await harness.expectLive(servedBefore);
    });
  }, 180_000);

  it('stops a deployment of the tagged pipeline by ARN, proves the rollback, then restores the branch', async () => {
    const tree = await branchTree();
    const closed = await nightly(async (harness) => {
      const forced = await harness.forceFailedDeploy('stop-deployment');
      expect(forced.outcome.status).toBe('Stopped');
      await harness.expectRollback(forced);
    });
    expect(closed.teardown.failed).toEqual([]);
    expect(await branchTree()).toBe(tree);
  }, 180_000);

  it('puts the branch back after a bad revision rolled back, so its unhealthy switch is not left at the head', async () => {
    const tree = await branchTree();
    await nightly(async (harness) => {
      const forced = await harness.forceFailedDeploy('bad-revision');
      expect(forced.outcome.status).toBe('Failed');
      await harness.expectRollback(forced);
    });
    expect(await branchTree()).toBe(tree);
  }, 180_000);

  it('leaves nothing open when a scenario fails mid-approval, so the next run releases', async () => {
    let waiting: ExecutionRef | undefined;
    const closed = await nightly(async (harness) => {
      const push = await harness.push();
      waiting = await harness.findExecution(push);
      await harness.waitForStage(waiting, 'Approval', 'InProgress');
      // Before teardown the leak check, by id, sees what the run holds open: its execution, the branch, and the
      // EventBridge rule and SQS queue it watches the release through.
      const open = await harness.checkLeaks();
      const watched = harness.watch.report().name;
      expect(open.leftovers.map((l) => `${l.kind} ${l.id}`)).toEqual([
        `execution ${waiting.pipelineExecutionId}`,
        expect.stringMatching(/^branch .*#main$/),
        `events-rule ${watched}`,
        `sqs-queue ${watched}`,
      ]);
      // The scenario fails here: nobody approves.
    });
    expect(closed.teardown.failed).toEqual([]);
    const state = await team.tryWaitForStage(waiting!, 'Approval', 'Succeeded');
    expect(state.ok).toBe(false);
    await nightly(async (harness) => {
      const release = await harness.release({ probe: false });
      expect(release.live.live).toBe(true);
    });
  }, 240_000);

  it('refuses to push to a branch the pipeline does not watch, before anything is pushed', async () => {
    const head = await branchHead({ repoUrl: team.source.repoUrl, branch: 'main', auth });
    const harness = await Harness.start({
      sandbox,
      config: { ...adopt, source: { repositoryUrl: team.source.repoUrl, branch: 'release' } },
    });
    try {
      await expect(harness.push()).rejects.toThrow(GuardRefusedError);
      await expect(harness.push()).rejects.toThrow(/Source action \(CodeCommit\) watches .* branch main/);
    } finally {
      await harness.close();
    }
    expect(await branchHead({ repoUrl: team.source.repoUrl, branch: 'main', auth })).toEqual(head);
  }, 60_000);

  // Last: it changes what the stack serves, as asked.
  it('keeps the last release live with keepLastRelease, undoing only what came after it', async () => {
    let released = { commitId: '', version: '' };
    await nightly(
      async (harness) => {
        released = (await harness.release({ probe: false })).push;
        await harness.push({ failingTest: true }); // a failing test on top: undone, the release kept
      },
      { keepLastRelease: true },
    );
    const repo = { repoUrl: team.source.repoUrl, branch: team.source.branch, auth };
    expect((await branchHead(repo)).tree).toBe(await treeOf({ ...repo, commitId: released.commitId }));
    await nightly(async (harness) => {
      expect(harness.currentVersion).toBe(released.version);
    });
  }, 240_000);

  // Last: what every run above sent, the preflight's reads included.
  it('sent only AWS commands that the shipped least-privilege policy (iam/existing-stack-policy.json) allows', async () => {
    const clients = createClients(loadConfig({ env: {}, overrides: { endpoint: sandbox.endpoint } }));
    recordCommands(clients);
    const doctor = await runDoctor({
      config: { ...adopt, endpoint: sandbox.endpoint },
      clients,
      destructive: true,
    });
    expect(doctor.ok).toBe(true);
    destroyClients(clients);
    const policy = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'iam', 'existing-stack-policy.json'), 'utf8'),
    ) as { Statement: { Effect: string; Action: string[] }[] };
    const allowed = new Set(
      policy.Statement.filter((st) => st.Effect === 'Allow').flatMap((st) => st.Action),
    );
    expect([...sent].filter((action) => !allowed.has(action)).sort()).toEqual([]);
    expect(sent.size).toBeGreaterThan(10);
  });
});
