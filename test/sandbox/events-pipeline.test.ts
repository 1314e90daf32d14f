/**
 * A real pipeline run on the sandbox publishes CodePipeline's events in AWS's shapes (aws-semantics-events-auth-regions
 * §1.1–§1.5) to the default bus, and a rule matching that one pipeline (§1.8) delivers them to an SQS queue: git push,
 * StartPipelineExecution, a rejected approval, all through the real SDK clients.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import {
  CreatePipelineCommand,
  GetPipelineStateCommand,
  PutApprovalResultCommand,
} from '@aws-sdk/client-codepipeline';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../src/poll.ts';
import type { AwsEvent } from '../../src/sandbox/events/shapes.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { createQueue, receiveEvents, ruleToQueue } from './helpers/events.ts';
import { commitFile, gitRun } from './helpers/git.ts';
import { approvalStage, declarePipeline, sourceStage } from './helpers/pipeline.ts';
import { useSandbox } from './helpers/sandbox.ts';

describe('CodePipeline state changes as EventBridge events', () => {
  const sb = useSandbox({ timeScale: 0.01, faults: [] }, { maxAttempts: 1 });
  let work: string;
  let sqs: SQSClient;
  let events: EventBridgeClient;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cph-events-pipeline-'));
    const config = { endpoint: sb.sandbox.endpoint, region: 'us-east-1', credentials: FAKE_CREDENTIALS };
    sqs = new SQSClient(config);
    events = new EventBridgeClient(config);
  });
  afterAll(async () => {
    sqs?.destroy();
    events?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes pipeline, stage and action events of one execution in AWS shapes, to a rule matching that pipeline only', async () => {
    // Delivery as AWS does it: late (reordered) and with duplicates; the assertions hold whatever the order.
    Object.assign(sb.sandbox.services.events.delivery, { delayMs: [0, 3_000], duplicateRate: 0.3 });
    const queue = await createQueue(sqs, 'pipeline-events');
    await ruleToQueue(events, sqs, {
      name: 'web-events',
      pattern: {
        source: ['aws.codepipeline'],
        'detail-type': [
          'CodePipeline Pipeline Execution State Change',
          'CodePipeline Stage Execution State Change',
          'CodePipeline Action Execution State Change',
        ],
        detail: { pipeline: ['web'] },
      },
      queue,
    });

    for (const name of ['web', 'other']) {
      const repo = (await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: name })))
        .repositoryMetadata!;
      await gitRun(work, ['clone', '-q', repo.cloneUrlHttp!, name]);
      await commitFile(path.join(work, name), 'VERSION', 'v1\n', 'v1');
      await gitRun(path.join(work, name), ['push', '-q', 'origin', 'HEAD:main']);
      await sb.clients.codepipeline.send(
        new CreatePipelineCommand({
          pipeline: declarePipeline(name, [
            sourceStage(name, { pollForSourceChanges: false }),
            approvalStage(),
          ]),
        }),
      );
    }
    // CreatePipeline starts an execution of the branch head, as on AWS.
    const approval = await poll(
      async () =>
        (await sb.clients.codepipeline.send(new GetPipelineStateCommand({ name: 'web' }))).stageStates?.find(
          (s) => s.stageName === 'Approval',
        ),
      {
        timeout: 30_000,
        what: 'the approval token of web',
        isDone: (s) => s?.actionStates?.[0]?.latestExecution?.token !== undefined,
      },
    );
    const token = approval!.actionStates![0]!.latestExecution!.token!;
    const pipelineExecutionId = approval!.latestExecution!.pipelineExecutionId!;
    await sb.clients.codepipeline.send(
      new PutApprovalResultCommand({
        pipelineName: 'web',
        stageName: 'Approval',
        actionName: 'ManualApproval',
        token,
        result: { status: 'Rejected', summary: 'not today' },
      }),
    );

    const key = (e: AwsEvent) =>
      [e['detail-type'].split(' ')[1], e.detail.stage ?? '-', e.detail.action ?? '-', e.detail.state].join(
        ' ',
      );
    const keys = (es: AwsEvent[]) => new Set(es.map(key));
    const received = await receiveEvents<AwsEvent>(sqs, queue.url, {
      what: 'the events of the rejected execution',
      describe: (es) => [...keys(es)].sort().join(', '),
      isDone: (es) => keys(es).has('Pipeline - - FAILED') && keys(es).has('Stage Approval - FAILED'),
    });
    const unique = new Map(received.map((e) => [e.id, e]));
    expect(new Set([...unique.values()].map(key))).toEqual(
      new Set([
        'Pipeline - - STARTED',
        'Stage Source - STARTED',
        'Action Source Source STARTED',
        'Action Source Source SUCCEEDED',
        'Stage Source - SUCCEEDED',
        'Stage Approval - STARTED',
        'Action Approval ManualApproval STARTED',
        'Action Approval ManualApproval FAILED',
        'Stage Approval - FAILED',
        'Pipeline - - FAILED',
      ]),
    );
    const all = [...unique.values()];
    // Only pipeline web: the rule matched on detail.pipeline.
    expect(
      all.every((e) => e.detail.pipeline === 'web' && e.detail['execution-id'] === pipelineExecutionId),
    ).toBe(true);
    const started = all.find((e) => key(e) === 'Pipeline - - STARTED')!;
    expect(Object.keys(started)).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
    expect(started).toMatchObject({
      version: '0',
      source: 'aws.codepipeline',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:codepipeline:us-east-1:000000000000:web'],
      detail: {
        pipeline: 'web',
        state: 'STARTED',
        version: 1,
        'pipeline-execution-attempt': 1,
        'execution-trigger': { 'trigger-type': 'CreatePipeline' },
      },
    });
    expect(started.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(started.detail['start-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const rejected = all.find((e) => key(e) === 'Action Approval ManualApproval FAILED')!;
    expect(rejected.detail).toMatchObject({
      stage: 'Approval',
      action: 'ManualApproval',
      region: 'us-east-1',
      type: { owner: 'AWS', provider: 'Manual', category: 'Approval', version: '1' },
    });
    expect(rejected.detail['action-execution-id']).toEqual(expect.any(String));
    // At least once: duplicates carry the id of the event they copy.
    expect(received.length).toBeGreaterThanOrEqual(unique.size);
    expect(sb.sandbox.services.events.invocations('web-events').failed).toBe(0);
  });
});
