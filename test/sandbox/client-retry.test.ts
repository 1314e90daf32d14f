/**
 * The clients `createClients` builds retry throttling, 5xx and network errors with a bounded, jittered backoff
 * and no retry quota (src/aws/retry.ts), on a sandbox that throttles for real: a burst the SDK's default
 * (3 attempts) gives up on is survived, and a client error is never retried.
 */
import {
  CodePipelineClient,
  GetPipelineCommand,
  ListPipelinesCommand,
  type ListPipelinesCommandOutput,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients } from '../../src/aws/clients.ts';
import { DEFAULT_RETRY_POLICY, HarnessRetryStrategy } from '../../src/aws/retry.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';

/** Backoff shrunk 50x so the test is quick; attempts and classification are the defaults. */
const QUICK = { baseDelayMs: 2, throttleBaseDelayMs: 10, maxDelayMs: 100 };

describe('clients from createClients on a throttling sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ faults: [] });
  });
  afterAll(() => sandbox?.stop());

  const calls = async (client: CodePipelineClient, n: number) => {
    const outcomes: (ListPipelinesCommandOutput | Error)[] = [];
    for (let i = 0; i < n; i++)
      outcomes.push(await client.send(new ListPipelinesCommand({})).catch((e: Error) => e));
    return outcomes;
  };

  it('survive a burst of 60% throttling on one operation where the SDK default (3 attempts) gives up', async () => {
    const burst = {
      seed: 7,
      rules: [{ service: 'codepipeline', operation: 'ListPipelines', type: 'throttle', rate: 0.6 }],
    };
    sandbox.faults.set(burst);
    const sdkDefault = new CodePipelineClient({
      endpoint: sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
    });
    const ours = createClients(
      { target: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint },
      {},
      { retry: QUICK },
    );
    try {
      // The SDK's own backoff after a throttle is long (1 s base): stop at its first give-up.
      let failedBySdk: unknown;
      for (let i = 0; i < 40 && !failedBySdk; i++)
        failedBySdk = await sdkDefault.send(new ListPipelinesCommand({})).then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(failedBySdk).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 3 } });

      sandbox.faults.set(burst); // the same sequence of throttles again
      const outcomes = await calls(ours.codepipeline, 40);
      expect(outcomes.filter((o) => o instanceof Error)).toEqual([]);
      const attempts = outcomes.map((o) => (o as ListPipelinesCommandOutput).$metadata.attempts ?? 1);
      expect(Math.max(...attempts)).toBeGreaterThan(3);
      expect(Math.max(...attempts)).toBeLessThanOrEqual(DEFAULT_RETRY_POLICY.maxAttempts);
      const stats = sandbox.faults.stats().byOperation['codepipeline:ListPipelines']!;
      expect(stats.throttled).toBeGreaterThan(20);
    } finally {
      sdkDefault.destroy();
      destroyClients(ours);
      sandbox.faults.clear();
    }
  });

  it('give up after the bounded number of attempts, with the last error as is', async () => {
    sandbox.faults.set([{ service: 'codepipeline', operation: 'ListPipelines', type: 'error', status: 503 }]);
    const ours = createClients(
      { target: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint },
      {},
      { retry: { ...QUICK, maxAttempts: 4 } },
    );
    try {
      const before = sandbox.faults.stats().calls;
      await expect(ours.codepipeline.send(new ListPipelinesCommand({}))).rejects.toMatchObject({
        name: 'ServiceUnavailable',
        $metadata: { httpStatusCode: 503, attempts: 4 },
      });
      expect(sandbox.faults.stats().calls - before).toBe(4);
    } finally {
      destroyClients(ours);
      sandbox.faults.clear();
    }
  });

  it('never retry a client error (not found, validation)', async () => {
    const ours = createClients({ target: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint });
    try {
      const before = sandbox.faults.stats().calls;
      await expect(ours.codepipeline.send(new GetPipelineCommand({ name: 'nope' }))).rejects.toMatchObject({
        name: 'PipelineNotFoundException',
        $metadata: { attempts: 1 },
      });
      expect(sandbox.faults.stats().calls - before).toBe(1);
    } finally {
      destroyClients(ours);
    }
  });

  it('fail fast when nothing listens: 3 attempts for a refused connection, not 10', async () => {
    const closed = await startSandbox({ faults: [] });
    const endpoint = closed.endpoint;
    await closed.stop();
    const ours = createClients({ target: 'sandbox', region: 'us-east-1', endpoint });
    try {
      const started = performance.now();
      const error = await ours.codepipeline.send(new ListPipelinesCommand({})).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ECONNREFUSED', $metadata: { attempts: 3 } });
      // Two backoffs of at most 100 ms and 200 ms.
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      destroyClients(ours);
    }
  });

  it('leave clients the caller passes in as they are', () => {
    const theirs = new CodePipelineClient({ region: 'us-east-1', maxAttempts: 2 });
    const clients = createClients(
      { target: 'aws', region: 'us-east-1', endpoint: undefined },
      { codepipeline: theirs },
    );
    try {
      expect(clients.codepipeline).toBe(theirs);
      expect(clients.codedeploy.config.retryStrategy).toBeTypeOf('function');
    } finally {
      destroyClients(clients);
    }
  });
});

describe('HarnessRetryStrategy', () => {
  type Info = Parameters<HarnessRetryStrategy['refreshRetryTokenForRetry']>[1];
  const throttled: Info = { errorType: 'THROTTLING' };
  const unavailable: Info = {
    errorType: 'TRANSIENT',
    error: Object.assign(new Error('Service is unavailable'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    }) as Info['error'],
  };

  it('has no retry quota: a sustained throttle never turns retries off', async () => {
    const strategy = new HarnessRetryStrategy();
    // 300 calls, each throttled 5 times before it succeeds: the SDK's standard quota (500 tokens, 5 a throttled
    // retry, 1 back per success) would be dry after about 25 of them.
    for (let call = 0; call < 300; call++) {
      let token = await strategy.acquireInitialRetryToken('');
      for (let retry = 0; retry < 5; retry++)
        token = await strategy.refreshRetryTokenForRetry(token, throttled);
      expect(token.getRetryCount()).toBe(5);
      strategy.recordSuccess(token);
    }
    expect(strategy.stats).toMatchObject({ throttled: 1500, exhausted: 0 });
  });

  it('allows maxAttempts attempts, retries 5xx and network errors, and never client errors', async () => {
    const strategy = new HarnessRetryStrategy({ maxAttempts: 3 });
    let token = await strategy.acquireInitialRetryToken('');
    token = await strategy.refreshRetryTokenForRetry(token, unavailable);
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' });
    await expect(strategy.refreshRetryTokenForRetry(token, unavailable)).rejects.toThrow(/3 attempts made/);
    const fresh = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(fresh, { errorType: 'CLIENT_ERROR' })).rejects.toThrow(
      /client error/,
    );
    expect(strategy.stats).toEqual({ throttled: 0, serverErrors: 1, network: 1, exhausted: 1 });
  });

  it('backs off exponentially with full jitter, capped, longer after a throttle, at least a Retry-After', () => {
    const top = new HarnessRetryStrategy({ random: () => 0.999_999 });
    const delays = [0, 1, 2, 3, 4, 5, 6, 8].map((retries) => top.delayFor(retries, false));
    expect(delays).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999]);
    expect([0, 1, 2, 3, 4].map((retries) => top.delayFor(retries, true))).toEqual([
      499, 999, 1999, 3999, 4999,
    ]);
    const bottom = new HarnessRetryStrategy({ random: () => 0 });
    expect(bottom.delayFor(5, true)).toBe(0);
    const hinted = bottom.delayFor(0, true, new Date(Date.now() + 60_000));
    expect(hinted).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
  });

  it('refuses a policy that is not one', () => {
    expect(() => new HarnessRetryStrategy({ maxAttempts: 0 })).toThrow(
      'retry policy: maxAttempts must be a whole number >= 1, got 0',
    );
    expect(() => new HarnessRetryStrategy({ maxDelayMs: -1 })).toThrow(
      'retry policy: maxDelayMs must be a number of ms >= 0, got -1',
    );
  });
});
