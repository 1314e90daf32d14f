/**
 * Denied actions (aws-semantics-events-auth-regions §5): the sandbox refuses chosen actions as IAM does, and the
 * harness's error then names the action, the resource and the shipped policy statement that allows it (or the
 * statement to add when none does).
 */
import { DeletePipelineCommand } from '@aws-sdk/client-codepipeline';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { explainAccessDenied } from '../../src/aws/denied.ts';
import { AccessDeniedError } from '../../src/errors.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { pushVersionBump } from '../../src/source/push.ts';
import { awsCli } from '../sandbox/helpers/aws-cli.ts';
import { SANDBOX_GIT_AUTH } from '../sandbox/helpers/signed.ts';
import { type ApprovalPipeline, startApprovalPipeline } from './helpers/approval-pipeline.ts';

const caught = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e);

describe('denied actions on the sandbox', () => {
  let gate: ApprovalPipeline;
  let sandbox: Sandbox;
  let clients: ApprovalPipeline['clients'];
  let pipeline: Pipeline;
  let repoUrl: string;

  beforeAll(async () => {
    // A run adopting a team's stack: its caller policy is iam/existing-stack-policy.json.
    gate = await startApprovalPipeline('denied', { config: { stack: 'existing' } });
    ({ sandbox, clients, pipeline, repoUrl } = gate);
  }, 60_000);

  afterEach(() => {
    sandbox.faults.clear();
    sandbox.faults.resetStats();
  });
  afterAll(() => gate?.stop());

  it("answers a JSON service's denial as IAM does, and the harness names action, resource and statement", async () => {
    const { commitId } = await pushVersionBump({ repoUrl, runId: 'run-denied', auth: SANDBOX_GIT_AUTH });
    const execution = await pipeline.findExecution({ commitId, timeout: 20_000 });
    await pipeline.waitForStage(execution, 'Approval', 'InProgress', { timeout: 20_000 });
    sandbox.faults.set([{ type: 'deny', service: 'codepipeline', operation: 'PutApprovalResult' }]);

    const error = (await caught(
      pipeline.approve(execution, { summary: 'ok', timeout: 5_000 }),
    )) as AccessDeniedError;
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.awsCode).toBe('AccessDeniedException');
    expect(error.action).toBe('codepipeline:PutApprovalResult');
    expect(error.resource).toBe(
      'arn:aws:codepipeline:us-east-1:000000000000:denied-pipeline/Approval/ManualApproval',
    );
    expect(error.statements.map((s) => `${s.file}#${s.sid}`)).toEqual([
      'iam/existing-stack-policy.json#FollowAndDriveOurExecutions',
    ]);
    expect(error.message).toContain(
      'statement "FollowAndDriveOurExecutions" of iam/existing-stack-policy.json',
    );
    expect(error.message).toContain(
      'AWS said: User: arn:aws:sts::000000000000:assumed-role/sandbox-caller/harness is not authorized to perform: ' +
        'codepipeline:PutApprovalResult on resource: arn:aws:codepipeline:us-east-1:000000000000:denied-pipeline/Approval/ManualApproval ' +
        'because no identity-based policy allows the codepipeline:PutApprovalResult action',
    );
    expect(sandbox.faults.stats().denied).toBe(1);

    // Allowed again, the same approval goes through: the denial changed nothing.
    sandbox.faults.clear();
    await pipeline.approve(execution, { summary: 'ok', timeout: 5_000 });
    await pipeline.waitForStage(execution, 'Approval', 'Succeeded', { timeout: 20_000 });
  }, 90_000);

  it('stops a wait at once on a denial, with the fix (no retries until the deadline)', async () => {
    sandbox.faults.set([{ type: 'deny', service: 'codepipeline', operation: 'ListPipelineExecutions' }]);
    const error = (await caught(
      pipeline.findExecution({ commitId: 'f'.repeat(40), timeout: 60_000 }),
    )) as AccessDeniedError;
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.action).toBe('codepipeline:ListPipelineExecutions');
    expect(error.resource).toBe('arn:aws:codepipeline:us-east-1:000000000000:denied-pipeline');
    expect(error.statements[0]?.sid).toBe('FollowAndDriveOurExecutions');
    expect(sandbox.faults.stats().denied).toBe(1);
  });

  it('says which statement to add when no shipped policy allows the action', async () => {
    sandbox.faults.set([{ type: 'deny', service: 'codepipeline', operation: 'DeletePipeline' }]);
    const error = await caught(
      clients.codepipeline.send(new DeletePipelineCommand({ name: 'denied-pipeline' })),
    );
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as AccessDeniedError).statements).toEqual([]);
    expect((error as Error).message).toContain(
      'no shipped policy allows it: add {"Effect": "Allow", "Action": "codepipeline:DeletePipeline", ' +
        '"Resource": "arn:aws:codepipeline:us-east-1:000000000000:denied-pipeline"}',
    );
  });

  it('answers a Query service with AccessDenied 403 and no resource for a Describe action, to the SDK and the CLI', async () => {
    sandbox.faults.set([{ type: 'deny', service: 'elbv2', operation: 'DescribeTargetHealth' }]);
    const error = (await caught(
      clients.elbv2.send(
        new DescribeTargetHealthCommand({
          TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1',
        }),
      ),
    )) as AccessDeniedError;
    expect(error.awsCode).toBe('AccessDenied');
    expect((error.cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(403);
    expect(error.action).toBe('elasticloadbalancing:DescribeTargetHealth');
    expect(error.resource).toBeUndefined();
    expect(error.statements[0]?.sid).toBe('ReadTheLoadBalancerAndFleet');

    const cli = await awsCli(sandbox.endpoint, [
      'elbv2',
      'describe-target-health',
      '--target-group-arn',
      'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1',
    ]);
    expect(cli.errorCode).toBe('AccessDenied');
    expect(cli.stderr).toContain(
      'is not authorized to perform: elasticloadbalancing:DescribeTargetHealth because no identity-based policy allows',
    );
  });

  it("names the statement of the run's own policy: an ephemeral run's, never CloudFormation's role policy", () => {
    // autoscaling:DeleteAutoScalingGroup is in the ephemeral run's policy (the CodeDeploy_* fleets) and in the
    // CloudFormation role's (the stack's own group): only the first is the caller's to fix.
    const denial = Object.assign(
      new Error('User: x is not authorized to perform: autoscaling:DeleteAutoScalingGroup on resource: g'),
      { name: 'AccessDenied' },
    );
    const ephemeral = explainAccessDenied(denial, { stack: 'ephemeral' });
    expect(ephemeral.statements.length).toBeGreaterThan(0);
    expect(new Set(ephemeral.statements.map((s) => s.file))).toEqual(
      new Set(['iam/ephemeral-stack-policy.json']),
    );
    const existing = explainAccessDenied(denial, { stack: 'existing' });
    expect(existing.statements).toEqual([]);
    expect(existing.message).toContain('no shipped policy allows it');
  });

  it('refuses a deny rule in the response phase, naming the field', () => {
    expect(() =>
      sandbox.faults.set([
        { type: 'deny', service: 'codedeploy', operation: 'StopDeployment', phase: 'response' },
      ]),
    ).toThrow(/rules\.0\.phase: a throttle or a denial happens before the request is handled/);
  });
});
