/**
 * Approvals and supersession on the sandbox (aws-semantics §2.3, §2.9): the harness answers only its own
 * execution's approval, reports a superseded execution with the one that replaced it, and a rejection fails
 * the execution at the approval stage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalNotOursError, ExecutionSupersededError } from '../../src/errors.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { pushVersionBump } from '../../src/source/push.ts';
import { SANDBOX_GIT_AUTH } from '../sandbox/helpers/signed.ts';
import { type ApprovalPipeline, startApprovalPipeline } from './helpers/approval-pipeline.ts';

describe('approvals and supersession on the sandbox', () => {
  let gate: ApprovalPipeline;
  let pipeline: Pipeline;
  let repoUrl: string;

  beforeAll(async () => {
    gate = await startApprovalPipeline('gate');
    ({ pipeline, repoUrl } = gate);
  }, 60_000);

  afterAll(() => gate?.stop());

  it('answers only its own approval, reports supersession, and a rejection fails the execution', async () => {
    const push = () => pushVersionBump({ repoUrl, runId: 'run-gate', auth: SANDBOX_GIT_AUTH });
    const a = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    await pipeline.waitForStage(a, 'Approval', 'InProgress', { timeout: 20_000 });

    // B waits in front of the locked approval stage: the open approval is A's, never B's.
    const b = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    await pipeline.waitForStage(b, 'Source', 'Succeeded', { timeout: 20_000 });
    const refused = (await pipeline
      .approve(b, { summary: 'b', timeout: 500 })
      .catch((e: unknown) => e)) as ApprovalNotOursError;
    expect(refused).toBeInstanceOf(ApprovalNotOursError);
    expect(refused.openFor).toBe(a.pipelineExecutionId);

    // C replaces B in front of the stage: B is superseded, and says by whom.
    const c = await pipeline.findExecution({ commitId: (await push()).commitId, timeout: 20_000 });
    const superseded = (await pipeline
      .waitForStage(b, 'Approval', 'Succeeded', { timeout: 20_000 })
      .catch((e: unknown) => e)) as ExecutionSupersededError;
    expect(superseded).toBeInstanceOf(ExecutionSupersededError);
    expect(superseded.supersededBy).toBe(c.pipelineExecutionId);

    // Rejecting A fails it at the approval; C then gets its own approval, which the harness answers.
    await pipeline.reject(a, { summary: 'not this one' });
    await pipeline.waitForStage(a, 'Approval', 'Failed', { timeout: 20_000 });
    await pipeline.approve(c, { summary: 'ship it', timeout: 20_000 });
    await pipeline.waitForStage(c, 'Approval', 'Succeeded', { timeout: 20_000 });
    const entries = pipeline.timeline
      .of(c.pipelineExecutionId)
      .map((e) => `${e.stage ?? '-'}/${e.action ?? '-'} ${e.status}`);
    expect(entries).toContain('Approval/ManualApproval Approved');
    expect(entries).toContain('Approval/- Succeeded');
  }, 120_000);
});
