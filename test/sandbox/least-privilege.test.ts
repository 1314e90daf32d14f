/**
 * Least privilege inside the sandbox (issue 15, item 4): hook scripts and the apps they start get an environment
 * allow-list (never the sandbox's AWS_* variables or tokens, neither in their environment nor in `logTail`); a hook
 * `location` or an appspec `files` source that is a symbolic link out of the revision fails the deployment naming
 * the path; hook output is kept to the 4 KB logTail in memory (the rest only in scripts.log, counted); a
 * `sourceRevisions` value shaped like a git option (`--output=<file>`) is refused and writes nothing.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentGroupCommand,
  GetDeploymentCommand,
  GetDeploymentTargetCommand,
  type LifecycleEvent,
} from '@aws-sdk/client-codedeploy';
import {
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import { exportTree, initBare, readCommit } from '../../src/sandbox/codecommit/git.ts';
import { approvalStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

const ROLE = 'arn:aws:iam::000000000000:role/CodeDeployServiceRole';
const SECRET = 'tok-3f9a-sandbox-secret-never-shown';
/** What the agent gives a hook (src/sandbox/codedeploy/agent.ts hookEnvironment) plus what bash sets itself. */
const ALLOWED = new Set([
  'PATH',
  'LANG',
  'HOME',
  'TMPDIR',
  'LIFECYCLE_EVENT',
  'DEPLOYMENT_ID',
  'APPLICATION_NAME',
  'DEPLOYMENT_GROUP_NAME',
  'DEPLOYMENT_GROUP_ID',
  'BUNDLE_BUCKET',
  'BUNDLE_KEY',
  'BUNDLE_VERSION',
  'BUNDLE_ETAG',
  'DEPLOY_ROOT',
  'PORT',
  'INSTANCE_ID',
  'PWD',
  'OLDPWD',
  'SHLVL',
  '_',
]);

/** A revision with these hook scripts; its appspec installs `files` (the whole revision by default) to /opt/app. */
async function writeRevision(dir: string, hooks: Record<string, string>, files = '/') {
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), 'v1\n');
  const entries = Object.keys(hooks)
    .map((e) => `  ${e}:\n    - location: scripts/${e}.sh\n      timeout: 30\n`)
    .join('');
  await writeFile(
    join(dir, 'appspec.yml'),
    `version: 0.0\nos: linux\nfiles:\n  - source: ${files}\n    destination: /opt/app\nfile_exists_behavior: OVERWRITE\nhooks:\n${entries}`,
  );
  for (const [event, body] of Object.entries(hooks))
    await writeFile(join(dir, 'scripts', `${event}.sh`), `#!/usr/bin/env bash\nset -eu\n${body}\n`);
}

describe('least privilege inside the sandbox', () => {
  const sb = useSandbox({ timeScale: 0.01 });
  let work: string;
  let outside: string;
  const revision = (key: string) => ({
    revisionType: 'S3' as const,
    s3Location: { bucket: 'releases', key, bundleType: 'zip' as const },
  });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cph-least-privilege-'));
    outside = join(work, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'a file of the machine, not of the revision\n');
    await writeFile(join(outside, 'run-me.sh'), `#!/usr/bin/env bash\ntouch ${join(outside, 'ran')}\n`);
    await chmod(join(outside, 'run-me.sh'), 0o644);
    const { codedeploy } = sb.sandbox.services;

    const env = join(work, 'env');
    await writeRevision(env, {
      BeforeInstall: 'env | sort\nenv > "$DEPLOY_ROOT/hook-env.txt"',
      // The app a hook starts inherits the hook's environment: it records it.
      ApplicationStart: `nohup node -e "require('fs').writeFileSync(process.env.DEPLOY_ROOT + '/app-env.json', JSON.stringify(process.env))" >/dev/null 2>&1 &`,
    });
    await symlink('VERSION', join(env, 'alias.txt')); // a link inside the revision is fine
    await codedeploy.registerRevision(revision('env.zip'), env);

    const escapeHook = join(work, 'escape-hook');
    await writeRevision(escapeHook, { AfterInstall: 'echo installed' }, 'VERSION');
    await rm(join(escapeHook, 'scripts', 'AfterInstall.sh'));
    await symlink(join(outside, 'run-me.sh'), join(escapeHook, 'scripts', 'AfterInstall.sh'));
    await codedeploy.registerRevision(revision('escape-hook.zip'), escapeHook);

    const escapeFiles = join(work, 'escape-files');
    await writeRevision(escapeFiles, { AfterInstall: 'echo installed' });
    await mkdir(join(escapeFiles, 'config'));
    await symlink(join(outside, 'secret.txt'), join(escapeFiles, 'config', 'leak'));
    await codedeploy.registerRevision(revision('escape-files.zip'), escapeFiles);

    const loud = join(work, 'loud');
    await writeRevision(loud, { BeforeInstall: "head -c 300000 /dev/zero | tr '\\0' x\necho\necho the end" });
    await codedeploy.registerRevision(revision('loud.zip'), loud);

    await sb.clients.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'lp-asg',
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        LaunchTemplate: { LaunchTemplateName: 'lp-template', Version: '$Latest' },
      }),
    );
    await sb.clients.codedeploy.send(new CreateApplicationCommand({ applicationName: 'lp' }));
    await sb.clients.codedeploy.send(
      new CreateDeploymentGroupCommand({
        applicationName: 'lp',
        deploymentGroupName: 'lp-dg',
        serviceRoleArn: ROLE,
        autoScalingGroups: ['lp-asg'],
        deploymentConfigName: 'CodeDeployDefault.OneAtATime',
      }),
    );
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const instance = () => {
    const [id] = sb.sandbox.services.autoscaling.instancesOf('lp-asg');
    return sb.sandbox.services.fleet.get(id!)!;
  };

  /** Deploys a registered revision; resolves its final status and the instance's lifecycle events. */
  async function deploy(key: string) {
    const { deploymentId } = await sb.clients.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: 'lp',
        deploymentGroupName: 'lp-dg',
        revision: revision(key),
      }),
    );
    const info = await poll(
      async () =>
        (await sb.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo!,
      {
        timeout: 60_000,
        isDone: (d) => ['Succeeded', 'Failed', 'Stopped'].includes(d.status ?? ''),
        describe: (d) => d.status ?? '',
        what: `deployment ${deploymentId} of ${key} to end`,
      },
    );
    const target = await sb.clients.codedeploy.send(
      new GetDeploymentTargetCommand({ deploymentId, targetId: instance().instanceId }),
    );
    const events = new Map<string, LifecycleEvent>(
      (target.deploymentTarget?.instanceTarget?.lifecycleEvents ?? []).map((e) => [e.lifecycleEventName!, e]),
    );
    return { deploymentId: deploymentId!, status: info.status, info, events };
  }

  it('gives hooks and the apps they start only the allow-listed environment: no AWS_*, no token, not in logTail', async () => {
    const saved = { token: process.env.CPH_TEST_DEPLOY_TOKEN, aws: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.CPH_TEST_DEPLOY_TOKEN = SECRET;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET;
    try {
      const { status, events, info } = await deploy('env.zip');
      const failedEvents = [...events.values()]
        .filter((e) => e.status === 'Failed')
        .map((e) => e.diagnostics);
      expect({ status, error: info.errorInformation, failedEvents }).toEqual({
        status: 'Succeeded',
        error: undefined,
        failedEvents: [],
      });
      const logTail = events.get('BeforeInstall')?.diagnostics?.logTail ?? '';
      expect(logTail).toContain('LIFECYCLE_EVENT=BeforeInstall');
      expect(logTail).not.toContain(SECRET);
      expect(logTail).not.toMatch(/^\[stdout\]AWS_/m);
      const root = instance().root;
      const hookEnv = await readFile(join(root, 'hook-env.txt'), 'utf8');
      const names = hookEnv
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => l.slice(0, l.indexOf('=')));
      expect(names.filter((n) => !ALLOWED.has(n))).toEqual([]);
      expect(hookEnv).not.toContain(SECRET);
      const appEnv = await poll(() => readFile(join(root, 'app-env.json'), 'utf8').catch(() => ''), {
        timeout: 10_000,
        isDone: (t) => t !== '',
        what: 'the app to record its environment',
      });
      const app = JSON.parse(appEnv) as Record<string, string>;
      expect(Object.keys(app).filter((n) => n.startsWith('AWS_'))).toEqual([]);
      expect(appEnv).not.toContain(SECRET);
      expect(app.PORT).toBe(String(instance().port));
      // A symbolic link that stays inside the revision is installed as the file it names.
      expect(await readFile(join(root, 'opt', 'app', 'alias.txt'), 'utf8')).toBe('v1\n');
    } finally {
      if (saved.token === undefined) delete process.env.CPH_TEST_DEPLOY_TOKEN;
      else process.env.CPH_TEST_DEPLOY_TOKEN = saved.token;
      if (saved.aws === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.aws;
    }
  });

  it('refuses a hook location that is a symbolic link out of the revision, naming it, and never touches its target', async () => {
    const { status, events } = await deploy('escape-hook.zip');
    expect(status).toBe('Failed');
    const diagnostics = events.get('AfterInstall')?.diagnostics;
    expect(diagnostics?.errorCode).toBe('ScriptMissing');
    expect(diagnostics?.scriptName).toBe('scripts/AfterInstall.sh');
    expect(diagnostics?.message).toBe(
      `Script at specified location: scripts/AfterInstall.sh resolves to ${join(outside, 'run-me.sh')}, outside the revision; a symbolic link in a revision may only point inside it`,
    );
    expect(existsSync(join(outside, 'ran'))).toBe(false);
    expect((await stat(join(outside, 'run-me.sh'))).mode & 0o777).toBe(0o644); // not made executable
  });

  it('refuses an appspec files source holding a symbolic link out of the revision, naming the path', async () => {
    const { status, events, info } = await deploy('escape-files.zip');
    expect(status).toBe('Failed');
    const install = events.get('Install')?.diagnostics;
    expect(install?.message).toBe(
      `files source '/': config/leak (a symbolic link) resolves to ${join(outside, 'secret.txt')}, outside the revision; a symbolic link in a revision may only point inside it`,
    );
    expect(info.errorInformation?.message).toBeDefined();
    expect(existsSync(join(instance().root, 'opt', 'app', 'config', 'leak'))).toBe(false);
  });

  it('keeps only the last 4 KB of hook output as logTail and counts the rest, which is only in scripts.log', async () => {
    const { deploymentId, status, events } = await deploy('loud.zip');
    expect(status).toBe('Succeeded');
    const logTail = events.get('BeforeInstall')?.diagnostics?.logTail ?? '';
    expect(logTail.length).toBeLessThanOrEqual(4096);
    expect(logTail.slice(-40)).toMatch(/\[stdout\]the end\n$/);
    const logs = (await readdir(instance().root, { recursive: true })).filter(
      (p) => p.includes(deploymentId) && p.endsWith('scripts.log'),
    );
    expect(logs).toHaveLength(1);
    const log = await readFile(join(instance().root, logs[0]!), 'utf8');
    const printed = log
      .split('\n')
      .filter((l) => l.startsWith('[stdout]'))
      .map((l) => l.slice('[stdout]'.length))
      .join('');
    expect(printed.split('x').length - 1).toBe(300_000); // all of it, though only 4 KB were kept in memory
    expect(log).toMatch(
      /\[sandbox\] \d+ characters of output before the last 4096 are only in this file \(not in logTail\)/,
    );
    const dropped = Number(/\[sandbox\] (\d+) characters/.exec(log)![1]);
    expect(dropped).toBeGreaterThan(300_000 - 4096);
  });

  it('refuses a source revision shaped like a git option (AWS-shaped errors) and no file is written', async () => {
    const target = join(work, 'written-by-git');
    await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'lp-repo' }));
    await sb.clients.codepipeline.send(
      new CreatePipelineCommand({
        pipeline: declarePipeline('lp-pipeline', [
          sourceStage('lp-repo', { pollForSourceChanges: false }),
          approvalStage(),
        ]),
      }),
    );
    // Through the API: StartPipelineExecution refuses it as AWS does, before anything runs.
    const refused = await sb.clients.codepipeline
      .send(
        new StartPipelineExecutionCommand({
          name: 'lp-pipeline',
          sourceRevisions: [
            { actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: `--output=${target}` },
          ],
        }),
      )
      .then(
        () => undefined,
        (error: Error) => error,
      );
    expect(refused?.name).toBe('ValidationException');
    expect(refused?.message).toContain(`'--output=${target}'`);
    // Any other way in (a push event carrying it): the Source action refuses it before git sees it.
    const [pipelineExecutionId] = sb.sandbox.services.codepipeline.onPush({
      repositoryName: 'lp-repo',
      ref: 'refs/heads/main',
      after: `--output=${target}`,
    });
    const execution = await poll(
      async () =>
        (
          await sb.clients.codepipeline.send(
            new GetPipelineExecutionCommand({ pipelineName: 'lp-pipeline', pipelineExecutionId }),
          )
        ).pipelineExecution!,
      {
        timeout: 30_000,
        isDone: (e) => e.status !== 'InProgress',
        describe: (e) => e.status ?? '',
        what: 'the execution to end',
      },
    );
    expect(execution.status).toBe('Failed');
    const state = await sb.clients.codepipeline.send(new GetPipelineStateCommand({ name: 'lp-pipeline' }));
    const source = state.stageStates?.[0]?.actionStates?.find(
      (a) => a.actionName === 'Source',
    )?.latestExecution;
    expect(source?.errorDetails).toEqual({
      code: 'JobFailed',
      message: `The action failed because the source revision '--output=${target}' is not a commit ID. For a CodeCommit source action, revisionType COMMIT_ID takes the full 40-character ID of a commit in repository lp-repo; correct sourceRevisions and start the pipeline again.`,
    });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}^{commit}`)).toBe(false);
  });

  it('passes revisions to git after --end-of-options: an option-shaped one is a bad revision, not an option', async () => {
    const repo = join(work, 'direct.git');
    await initBare(repo);
    const target = join(work, 'direct-output');
    await expect(readCommit(repo, `--output=${target}`)).rejects.toThrow(/bad revision '--output=/);
    await expect(exportTree(repo, `--output=${target}`, join(work, 'direct-export'))).rejects.toThrow(
      /not a valid object name: --output=/,
    );
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}^{commit}`)).toBe(false);
  });
});
