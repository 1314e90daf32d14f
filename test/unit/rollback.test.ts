import { CodeDeployClient, GetDeploymentCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopDeploymentWithRollback } from '../../src/deploy/force.ts';
import { expectRollback, checkRollback } from '../../src/deploy/rollback.ts';
import { GuardRefusedError, RollbackNotProvenError } from '../../src/errors.ts';
import { Guard } from '../../src/teardown/guard.ts';
import { Ledger } from '../../src/teardown/ledger.ts';
import type { PipelineShape } from '../../src/stack/pipeline-shape.ts';
import { TEST_TARGET_TAG as TEST_TARGET } from '../../src/stack/names.ts';
import { summarize } from '../../src/traffic/probe.ts';

const cd = mockClient(new CodeDeployClient({ region: 'us-east-1' }));
const codedeploy = cd as unknown as CodeDeployClient;
const fast = { interval: { min: 5, max: 20 }, timeout: 2000 };

beforeEach(() => cd.reset());

function info(deploymentId: string, fields: Record<string, unknown>): any {
  return { deploymentInfo: { deploymentId, ...fields } };
}

describe('expectRollback', () => {
  it('proves failed original, two-way link, succeeded rollback and the old version served throughout', async () => {
    cd.on(GetDeploymentCommand, { deploymentId: 'd-ORIGINAL1' }).resolves(
      info('d-ORIGINAL1', {
        status: 'Failed',
        errorInformation: { code: 'HEALTH_CONSTRAINTS' },
        rollbackInfo: { rollbackDeploymentId: 'd-ROLLBACK1' },
      }),
    );
    cd.on(GetDeploymentCommand, { deploymentId: 'd-ROLLBACK1' })
      .resolvesOnce(
        info('d-ROLLBACK1', {
          status: 'InProgress',
          creator: 'codeDeployRollback',
          rollbackInfo: { rollbackTriggeringDeploymentId: 'd-ORIGINAL1' },
        }),
      )
      .resolves(
        info('d-ROLLBACK1', {
          status: 'Succeeded',
          creator: 'codeDeployRollback',
          rollbackInfo: { rollbackTriggeringDeploymentId: 'd-ORIGINAL1' },
        }),
      );
    const t = (ms: number) => new Date(1000 + ms);
    const report = summarize(
      'http://lb/',
      [0, 100, 200].map((ms) => ({ at: t(ms), ms: 1, kind: 'ok' as const, status: 200, version: 'v1' })),
      t(0),
      t(300),
    );
    const proof = await expectRollback(codedeploy, 'd-ORIGINAL1', {
      ...fast,
      served: { report, version: 'v1' },
    });
    expect(proof.proven).toBe(true);
    expect(proof.rollbackDeploymentId).toBe('d-ROLLBACK1');
    expect(proof.checks.map((c) => c.name)).toEqual([
      'original deployment failed or stopped',
      'rollback deployment created',
      'rollback linked both ways',
      'rollback deployment succeeded',
      'previous version served throughout',
    ]);
  });

  it('names every proof that is missing', async () => {
    cd.on(GetDeploymentCommand).resolves(
      info('d-ORIGINAL1', {
        status: 'Failed',
        rollbackInfo: { rollbackMessage: 'no last successful revision' },
      }),
    );
    const error = (await expectRollback(codedeploy, 'd-ORIGINAL1', fast).catch(
      (e: unknown) => e,
    )) as RollbackNotProvenError;
    expect(error).toBeInstanceOf(RollbackNotProvenError);
    expect(error.failedChecks).toEqual(['rollback deployment created']);
    expect(error.message).toMatchInlineSnapshot(
      `"rollback of deployment d-ORIGINAL1 not proven: rollback deployment created: NO (no rollbackInfo.rollbackDeploymentId: no last successful revision)"`,
    );
    const result = await checkRollback(codedeploy, 'd-ORIGINAL1', fast);
    expect(result.proven).toBe(false);
  });
});

const shape: PipelineShape = {
  name: 'team-pipeline',
  arn: 'arn:aws:codepipeline:eu-west-1:123456789012:team-pipeline',
  region: 'eu-west-1',
  account: '123456789012',
  executionMode: 'QUEUED',
  stages: ['Source', 'Build', 'Approval', 'Deploy'],
  source: { provider: 'CodeCommit', repository: 'team-repo', branch: 'release' },
  deploy: {
    applicationName: 'team-app',
    deploymentGroupName: 'team-dg',
    deploymentGroupArn: 'arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:team-app/team-dg',
  },
};

describe('stopDeploymentWithRollback', () => {
  it('refuses to stop a deployment of a pipeline the run did not create and that is not tagged', async () => {
    const guard = new Guard({ ledger: new Ledger() });
    const error = await stopDeploymentWithRollback({
      guard,
      codedeploy,
      deploymentId: 'd-PROD00001',
      pipeline: shape,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it("refuses a deployment of another deployment group than the pipeline's Deploy action's, by ARN", async () => {
    const guard = new Guard({ ledger: new Ledger(), tagsOf: async () => ({ [TEST_TARGET]: 'true' }) });
    cd.on(GetDeploymentCommand).resolves(
      info('d-OTHER0001', { applicationName: 'team-app', deploymentGroupName: 'prod-dg' }),
    );
    const error = await stopDeploymentWithRollback({
      guard,
      codedeploy,
      deploymentId: 'd-OTHER0001',
      pipeline: shape,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as Error).message).toContain(
      'it belongs to arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:team-app/prod-dg, not to ' +
        'arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:team-app/team-dg',
    );
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it("stops, with rollback, a deployment of the tagged pipeline's own deployment group", async () => {
    const guard = new Guard({ ledger: new Ledger(), tagsOf: async () => ({ [TEST_TARGET]: 'true' }) });
    cd.on(GetDeploymentCommand).resolves(
      info('d-OURS00001', { applicationName: 'team-app', deploymentGroupName: 'team-dg' }),
    );
    cd.on(StopDeploymentCommand).resolves({
      status: 'Pending',
      statusMessage: 'No more commands will be scheduled',
    });
    const result = await stopDeploymentWithRollback({
      guard,
      codedeploy,
      deploymentId: 'd-OURS00001',
      pipeline: shape,
    });
    expect(result).toMatchObject({ deploymentId: 'd-OURS00001', status: 'Pending' });
    expect(cd.commandCalls(StopDeploymentCommand)[0]!.args[0].input).toEqual({
      deploymentId: 'd-OURS00001',
      autoRollbackEnabled: true,
    });
  });
});
