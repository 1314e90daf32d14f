/**
 * PutApprovalResult is not idempotent (aws-semantics §2.9): when its response is lost after it landed, the SDK's
 * retry is refused as already answered. The harness counts that as its success only when the pipeline's state
 * shows the approval answered with our status and summary; an answer someone else gave is never taken for ours.
 * The sandbox loses the responses for real (a `phase: 'response'` fault: handled, then answered 503).
 */
import {
  CodePipelineClient,
  PutApprovalResultCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalNotOursError } from '../../src/errors.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { FAKE_CREDENTIALS } from '../sandbox/helpers/clients.ts';
import { type ApprovalPipeline, startApprovalPipeline } from './helpers/approval-pipeline.ts';

const LOSE_APPROVAL_RESPONSES = [
  {
    service: 'codepipeline',
    operation: 'PutApprovalResult',
    type: 'error',
    status: 503,
    rate: 1,
    phase: 'response',
  },
] as const;

describe('a PutApprovalResult whose response was lost', () => {
  let gate: ApprovalPipeline;
  let sandbox: Sandbox;
  let clients: ApprovalPipeline['clients'];
  let pipeline: Pipeline;

  const openApproval = async () => {
    const { pipelineExecutionId } = await clients.codepipeline.send(
      new StartPipelineExecutionCommand({ name: gate.pipelineName }),
    );
    const execution = { pipelineName: gate.pipelineName, pipelineExecutionId: pipelineExecutionId! };
    await pipeline.waitForStage(execution, 'Approval', 'InProgress', { timeout: 20_000 });
    return execution;
  };
  const putApprovalCalls = () =>
    sandbox.faults.stats().byOperation['codepipeline:PutApprovalResult']?.calls ?? 0;

  beforeAll(async () => {
    gate = await startApprovalPipeline('lost', {
      clients: { retry: { baseDelayMs: 5, throttleBaseDelayMs: 5, maxDelayMs: 50 } },
      first: 'reject',
    });
    ({ sandbox, clients, pipeline } = gate);
  }, 60_000);

  afterAll(() => gate?.stop());

  it('counts as answered when the state shows our answer (the retry was refused as already completed)', async () => {
    const execution = await openApproval();
    sandbox.faults.set(LOSE_APPROVAL_RESPONSES);
    try {
      const before = putApprovalCalls();
      const result = await pipeline.approve(execution, {
        summary: 'run lost-1: build green',
        timeout: 20_000,
      });
      expect(result).toMatchObject({ status: 'Approved', confirmedFromState: true });
      // The first attempt landed (its 503 came after), the SDK's retry met ApprovalAlreadyCompletedException.
      expect(putApprovalCalls() - before).toBe(2);
      expect(sandbox.faults.stats().lostResponses).toBeGreaterThanOrEqual(1);
    } finally {
      sandbox.faults.clear();
    }
    await pipeline.waitForStage(execution, 'Approval', 'Succeeded', { timeout: 20_000 });
  }, 60_000);

  it('counts a lost rejection too, and the execution fails at the approval', async () => {
    const execution = await openApproval();
    sandbox.faults.set(LOSE_APPROVAL_RESPONSES);
    try {
      const result = await pipeline.reject(execution, {
        summary: 'run lost-2: not this one',
        timeout: 20_000,
      });
      expect(result).toMatchObject({ status: 'Rejected', confirmedFromState: true });
    } finally {
      sandbox.faults.clear();
    }
    await expect(
      pipeline.waitForStage(execution, 'Approval', 'Succeeded', { timeout: 20_000 }),
    ).rejects.toThrow(/Rejected|Failed/);
  }, 60_000);

  it('is not ours when the state shows someone else answered, even with the same status', async () => {
    const execution = await openApproval();
    sandbox.faults.set(LOSE_APPROVAL_RESPONSES);
    // Someone else answers between our token read and our PutApprovalResult (their response is lost too).
    const someoneElse = new CodePipelineClient({
      endpoint: sandbox.endpoint,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 1,
    });
    let interposed = false;
    clients.codepipeline.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutApprovalResultCommand' && !interposed) {
          interposed = true;
          const input = args.input as { token: string; stageName: string; actionName: string };
          await someoneElse
            .send(
              new PutApprovalResultCommand({
                ...input,
                pipelineName: gate.pipelineName,
                result: { status: 'Approved', summary: 'someone else approved it' },
              }),
            )
            .catch(() => {});
        }
        return next(args);
      },
      { step: 'initialize', name: 'someoneElseAnswersFirst' },
    );
    try {
      const error = await pipeline
        .approve(execution, { summary: 'run lost-3: ours', timeout: 20_000 })
        .catch((e: unknown) => e);
      expect(interposed).toBe(true);
      expect(error).toBeInstanceOf(ApprovalNotOursError);
      expect((error as Error).message).toContain(
        'it shows Succeeded with summary "someone else approved it", not our Approved',
      );
    } finally {
      clients.codepipeline.middlewareStack.remove('someoneElseAnswersFirst');
      someoneElse.destroy();
      sandbox.faults.clear();
    }
  }, 60_000);
});
