import {
  CreateRepositoryCommand,
  GetRepositoryCommand,
  ListRepositoriesCommand,
} from '@aws-sdk/client-codecommit';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { Faults } from '../../src/sandbox/faults.ts';
import { sdkClients } from './helpers/clients.ts';
import { rawRequest } from './helpers/http.ts';
import { useSandbox } from './helpers/sandbox.ts';

function putFaults(endpoint: string, spec: unknown) {
  return rawRequest(endpoint, {
    method: 'PUT',
    path: '/_sandbox/faults',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
}

describe('fault injection', () => {
  const sb = useSandbox(
    { faults: [{ service: 'codecommit', operation: 'GetRepository', type: 'throttle', rate: 1 }] },
    { maxAttempts: 1 },
  );

  it('throttles one operation from the start with ThrottlingException 400 "Rate exceeded"', async () => {
    const { codecommit } = sb.clients;
    await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'throttled' }));
    await expect(
      codecommit.send(new GetRepositoryCommand({ repositoryName: 'throttled' })),
    ).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  it('changes faults at runtime through /_sandbox/faults (Query services get `Throttling`)', async () => {
    const { codecommit, elbv2 } = sb.clients;
    const put = await putFaults(sb.sandbox.endpoint, { rules: [{ service: 'elbv2', type: 'throttle' }] });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.body).rules).toEqual([
      { service: 'elbv2', operation: '*', type: 'throttle', rate: 1, status: 500, latencyMs: 0 },
    ]);
    await expect(elbv2.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    // The codecommit rule is gone with the replaced spec.
    await codecommit.send(new CreateRepositoryCommand({ repositoryName: 'after-put' }));
    expect(
      (await codecommit.send(new GetRepositoryCommand({ repositoryName: 'after-put' }))).repositoryMetadata,
    ).toBeDefined();

    const cleared = await rawRequest(sb.sandbox.endpoint, { method: 'DELETE', path: '/_sandbox/faults' });
    expect(JSON.parse(cleared.body)).toEqual({ rules: [] });
    const got = await rawRequest(sb.sandbox.endpoint, { method: 'GET', path: '/_sandbox/faults' });
    expect(JSON.parse(got.body)).toEqual({ rules: [] });
  });

  it('injects 5xx that SDK clients retry, and added latency', async () => {
    await putFaults(sb.sandbox.endpoint, {
      rules: [{ service: 'codecommit', operation: '*', type: 'error', status: 503 }],
    });
    const retrying = sdkClients(sb.sandbox.endpoint, { maxAttempts: 2 });
    try {
      await expect(
        retrying.codecommit.send(new GetRepositoryCommand({ repositoryName: 'x' })),
      ).rejects.toMatchObject({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503, attempts: 2 },
      });
    } finally {
      retrying.destroy();
    }
    await putFaults(sb.sandbox.endpoint, [
      { service: 'codecommit', operation: 'ListRepositories', type: 'latency', latencyMs: 300 },
    ]);
    const started = performance.now();
    await sb.clients.codecommit.send(new ListRepositoriesCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await rawRequest(sb.sandbox.endpoint, { method: 'DELETE', path: '/_sandbox/faults' });
  });

  it('refuses an invalid spec naming each wrong field, and keeps the old one', async () => {
    await putFaults(sb.sandbox.endpoint, [{ service: 'codecommit', type: 'latency', latencyMs: 1 }]);
    const bad = await putFaults(sb.sandbox.endpoint, {
      rules: [{ service: 'lambda', type: 'throttle', rate: 2 }],
    });
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.body);
    expect(body.__type).toBe('ValidationException');
    expect(body.message).toContain('rules.0.service');
    expect(body.message).toContain('rules.0.rate: rate must be between 0 and 1');
    const notJson = await rawRequest(sb.sandbox.endpoint, {
      method: 'PUT',
      path: '/_sandbox/faults',
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect(
      JSON.parse((await rawRequest(sb.sandbox.endpoint, { method: 'GET', path: '/_sandbox/faults' })).body)
        .rules,
    ).toHaveLength(1);
    await rawRequest(sb.sandbox.endpoint, { method: 'DELETE', path: '/_sandbox/faults' });
  });
});

describe('Faults', () => {
  async function outcomes(faults: Faults, n: number): Promise<string> {
    let s = '';
    for (let i = 0; i < n; i++) {
      s += await faults.apply('codepipeline', 'json', 'GetPipelineState').then(
        () => '.',
        () => 'x',
      );
    }
    return s;
  }

  it('fails the same requests for the same seed, about at the given rate', async () => {
    const spec = {
      seed: 42,
      rules: [{ service: 'codepipeline' as const, type: 'throttle' as const, rate: 0.5 }],
    };
    const a = await outcomes(new Faults(spec), 200);
    const b = await outcomes(new Faults(spec), 200);
    expect(a).toBe(b);
    const failed = [...a].filter((c) => c === 'x').length;
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(140);
    expect(await outcomes(new Faults({ ...spec, seed: 43 }), 200)).not.toBe(a);
  });

  it('matches on service and operation, and a rate of 0 never fires', async () => {
    const faults = new Faults([
      { service: 'codedeploy', type: 'throttle' },
      { service: 'codepipeline', operation: 'ListPipelines', type: 'error' },
      { service: '*', type: 'throttle', rate: 0 },
    ]);
    expect(await outcomes(faults, 20)).toBe('.'.repeat(20));
    await expect(faults.apply('codepipeline', 'json', 'ListPipelines')).rejects.toMatchObject({
      code: 'InternalFailure',
      status: 500,
    });
    await expect(faults.apply('codedeploy', 'json', 'GetDeployment')).rejects.toMatchObject({
      code: 'ThrottlingException',
    });
  });
});
