import { describe, expect, it, vi } from 'vitest';
import {
  AccessDeniedError,
  CredentialsExpiredError,
  HarnessError,
  WaitTimeoutError,
} from '../../src/errors.ts';
import { isTransientError, poll, StopPolling } from '../../src/poll.ts';

function awsError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $fault: 'client', $metadata: {}, ...extra });
}

const fast = { min: 5, max: 20, factor: 2 };

describe('poll', () => {
  it('returns the state once isDone says so, recording each change', async () => {
    const states = ['Created', 'InProgress', 'InProgress', 'Succeeded'];
    const changes: string[] = [];
    const result = await poll(() => states.shift()!, {
      timeout: 2000,
      interval: fast,
      isDone: (s) => s === 'Succeeded',
      describe: (s) => s,
      onChange: (c) => changes.push(c.summary),
    });
    expect(result).toBe('Succeeded');
    expect(changes).toEqual(['Created', 'InProgress', 'Succeeded']);
  });

  it('survives a throttling storm and 5xx answers within the deadline', async () => {
    let calls = 0;
    const errors = [
      awsError('ThrottlingException'),
      awsError('Throttling'),
      awsError('TooManyRequestsException'),
      awsError('RequestLimitExceeded'),
      awsError('InternalFailure', { $fault: 'server', $metadata: { httpStatusCode: 500 } }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ];
    const result = await poll(
      () => {
        calls += 1;
        const error = errors.shift();
        if (error) throw error;
        return 'Succeeded';
      },
      { timeout: 5000, interval: fast, isDone: (s) => s === 'Succeeded' },
    );
    expect(result).toBe('Succeeded');
    expect(calls).toBe(7);
  });

  it('says expired credentials are expired, not "access denied", and stops at once', async () => {
    const probe = vi.fn(async () => {
      throw awsError('ExpiredTokenException', {
        message: 'The security token included in the request is expired',
      });
    });
    const error = await poll(probe, { timeout: 5000, isDone: () => true, what: 'pipeline demo' }).catch(
      (e: unknown) => e,
    );
    expect(probe).toHaveBeenCalledTimes(1);
    expect(error).toBeInstanceOf(CredentialsExpiredError);
    expect(error).not.toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toBe(
      'pipeline demo: the AWS credentials have expired (ExpiredTokenException); refresh them (`aws sso login`, ' +
        'or a new session for the profile or role) and run again',
    );
  });

  it('stops at once on AccessDenied: the probe is called once', async () => {
    const probe = vi.fn(() => {
      throw awsError('AccessDeniedException', { message: 'User: arn:aws:iam::1:user/x is not authorized' });
    });
    const error = await poll(probe, {
      timeout: 5000,
      interval: fast,
      isDone: () => true,
      what: 'pipeline state',
    }).catch((e: unknown) => e);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as AccessDeniedError).awsCode).toBe('AccessDeniedException');
    expect((error as Error).message).toMatchInlineSnapshot(
      `"pipeline state: AWS denied the call (AccessDeniedException); check the credentials and the IAM policy of the caller. AWS said: User: arn:aws:iam::1:user/x is not authorized"`,
    );
  });

  it('stops at once on not-found and validation errors, rethrowing them as they are', async () => {
    for (const name of ['PipelineNotFoundException', 'ValidationException']) {
      const probe = vi.fn(() => {
        throw awsError(name);
      });
      await expect(poll(probe, { timeout: 5000, interval: fast, isDone: () => true })).rejects.toMatchObject({
        name,
      });
      expect(probe).toHaveBeenCalledTimes(1);
    }
  });

  it('ends the wait with the error a probe wraps in StopPolling', async () => {
    const failure = new HarnessError('deployment d-1 Failed');
    const probe = vi.fn(() => {
      throw new StopPolling(failure);
    });
    await expect(poll(probe, { timeout: 5000, interval: fast, isDone: () => false })).rejects.toBe(failure);
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('times out naming the last state, with the history of changes', async () => {
    const states = ['Created', 'InProgress'];
    const error = (await poll(() => states.shift() ?? 'InProgress', {
      timeout: 150,
      interval: fast,
      what: 'deployment d-ABCDEF123',
      isDone: () => false,
      describe: (s) => s,
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.message).toMatchInlineSnapshot(`"deployment d-ABCDEF123: still InProgress after 150ms"`);
    expect(error.lastState).toBe('InProgress');
    expect(error.history.map((c) => c.summary)).toEqual(['Created', 'InProgress']);
    expect(error.history[0]!.at).toBeInstanceOf(Date);
  });

  it('never sleeps past the deadline, even with a long interval', async () => {
    const started = performance.now();
    await expect(
      poll(() => 'x', { timeout: 100, interval: { min: 10_000, max: 10_000 }, isDone: () => false }),
    ).rejects.toBeInstanceOf(WaitTimeoutError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('cuts a probe call that hangs past the deadline', async () => {
    const started = performance.now();
    const error = await poll(
      ({ signal }) =>
        new Promise<string>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        ),
      { timeout: 100, interval: fast, what: 'a hanging call', isDone: () => true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(
      /^a hanging call: nothing observed yet after 100ms; last error: /,
    );
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('times out while still throttled, naming the last error', async () => {
    const error = (await poll(
      () => {
        throw awsError('ThrottlingException', { message: 'Rate exceeded' });
      },
      { timeout: 120, interval: fast, what: 'pipeline state', isDone: () => true },
    ).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.message).toMatchInlineSnapshot(
      `"pipeline state: nothing observed yet after 120ms; last error: ThrottlingException: Rate exceeded"`,
    );
  });

  it('backs off while nothing moves and is short again after a change', async () => {
    const times: number[] = [];
    let n = 0;
    await poll(
      () => {
        times.push(performance.now());
        n += 1;
        return n < 6 ? 'same' : 'changed';
      },
      { timeout: 5000, interval: { min: 10, max: 80, factor: 2 }, isDone: (s) => s === 'changed' },
    );
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 10 → 20 → 40 → 80: the gaps grow while nothing changes.
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]! * 3);
  });

  it('is aborted by the signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('scenario ended')), 30);
    await expect(
      poll(() => 'x', {
        timeout: 5000,
        interval: { min: 1000 },
        isDone: () => false,
        signal: controller.signal,
      }),
    ).rejects.toThrow('scenario ended');
  });

  it('classifies transient errors', () => {
    expect(isTransientError(awsError('ThrottlingException'))).toBe(true);
    expect(isTransientError(awsError('X', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientError(awsError('DeploymentDoesNotExistException'))).toBe(false);
    expect(isTransientError(new HarnessError('x'))).toBe(false);
  });
});
