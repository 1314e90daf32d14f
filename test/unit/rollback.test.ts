import { CodeDeployClient, GetDeploymentCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopDeploymentWithRollback } from '../../src/deploy/force.ts';
import { expectRollback, checkRollback } from '../../src/deploy/rollback.ts';
import { GuardRefusedError, RollbackNotProvenError } from '../../src/errors.ts';
import { Guard } from '../../src/teardown/guard.ts';
import { Ledger } from '../../src/teardown/ledger.ts';
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

describe('stopDeploymentWithRollback', () => {
  it('refuses to stop a deployment of a group the run did not create', async () => {
    const guard = new Guard({ ledger: new Ledger() });
    const error = await stopDeploymentWithRollback({
      guard,
      codedeploy,
      deploymentId: 'd-PROD00001',
      deploymentGroup: 'prod-dg',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect(cd.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it('stops our deployment with rollback enabled', async () => {
    const ledger = new Ledger();
    ledger.add({ kind: 'deployment-group', id: 'h-dg', delete: async () => {} });
    cd.on(StopDeploymentCommand).resolves({
      status: 'Pending',
      statusMessage: 'No more commands will be scheduled',
    });
    const result = await stopDeploymentWithRollback({
      guard: new Guard({ ledger }),
      codedeploy,
      deploymentId: 'd-OURS00001',
      deploymentGroup: 'h-dg',
    });
    expect(result).toMatchObject({ deploymentId: 'd-OURS00001', status: 'Pending' });
    expect(cd.commandCalls(StopDeploymentCommand)[0]!.args[0].input).toEqual({
      deploymentId: 'd-OURS00001',
      autoRollbackEnabled: true,
    });
  });
});
