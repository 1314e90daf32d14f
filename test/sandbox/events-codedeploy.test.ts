/**
 * A real blue/green deployment on the sandbox (the sample stack's first release) publishes CodeDeploy's events
 * in AWS's shapes (aws-semantics-events-auth-regions §1.6): `Deployment State-change Notification` START and
 * SUCCESS, `Instance State-change Notification` per instance, to a rule matching the deployment group by its ARN.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../../src/index.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { createQueue, receiveEvents, ruleToQueue } from './helpers/events.ts';

interface Event {
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  region: string;
  time: string;
  resources: string[];
  detail: Record<string, string>;
}

let sandbox: Sandbox;
let sqs: SQSClient;
let events: EventBridgeClient;
let harness: Harness | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02, faults: [] });
  const config = { endpoint: sandbox.endpoint, region: 'us-east-1', credentials: { ...sandbox.credentials } };
  sqs = new SQSClient(config);
  events = new EventBridgeClient(config);
});
afterAll(async () => {
  await harness?.close();
  sqs?.destroy();
  events?.destroy();
  await sandbox?.stop();
});

describe('CodeDeploy state changes as EventBridge events', () => {
  it('publishes deployment and instance events of a blue/green release, matched by the deployment group ARN', async () => {
    const groupArn = 'arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:cph-cd1-app/cph-cd1-dg';
    const queue = await createQueue(sqs, 'deploy-events');
    await ruleToQueue(events, sqs, {
      name: 'deploy-events',
      pattern: { source: ['aws.codedeploy'], resources: [groupArn] },
      queue,
    });

    // The harness watches by polling here, so only this test's rule reads the events.
    harness = await Harness.start({ sandbox, config: { runId: 'cd1', events: 'off' } });
    await harness.ready();
    expect(harness.names?.deploymentGroupName).toBe('cph-cd1-dg');

    const received = await receiveEvents<Event>(sqs, queue.url, {
      what: 'the deployment SUCCESS event',
      describe: (es) => es.map((e) => `${e['detail-type'].split(' ')[1]} ${e.detail.state}`).join(', '),
      isDone: (es) => es.some((e) => e['detail-type'].includes('Deployment') && e.detail.state === 'SUCCESS'),
    });
    // At least once: a duplicate carries the id of the event it copies.
    const all = [...new Map(received.map((e) => [e.id, e])).values()];
    const deployment = all.filter(
      (e) => e['detail-type'] === 'CodeDeploy Deployment State-change Notification',
    );
    expect(deployment.map((e) => e.detail.state).sort()).toEqual(['START', 'SUCCESS']);
    const success = deployment.find((e) => e.detail.state === 'SUCCESS')!;
    expect(success).toMatchObject({
      source: 'aws.codedeploy',
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:codedeploy:us-east-1:000000000000:application:cph-cd1-app', groupArn],
      detail: {
        region: 'us-east-1',
        application: 'cph-cd1-app',
        deploymentGroup: 'cph-cd1-dg',
        state: 'SUCCESS',
      },
    });
    expect(success.detail.deploymentId).toMatch(/^d-[A-Z0-9]{9}$/);
    expect(Object.keys(success.detail).sort()).toEqual(
      ['application', 'deploymentGroup', 'deploymentId', 'instanceGroupId', 'region', 'state'].sort(),
    );

    const instances = all.filter((e) => e['detail-type'] === 'CodeDeploy Instance State-change Notification');
    // Blue/green: green instances installed and allowed traffic, blue instances blocked; each START then SUCCESS.
    const ids = new Set(instances.map((e) => e.detail.instanceId));
    expect(ids.size).toBeGreaterThanOrEqual(2);
    for (const id of ids) {
      expect(instances.filter((e) => e.detail.instanceId === id).map((e) => e.detail.state)).toEqual(
        expect.arrayContaining(['START', 'SUCCESS']),
      );
    }
    const one = instances[0]!;
    expect(one.resources).toEqual([
      `arn:aws:ec2:us-east-1:000000000000:instance/${one.detail.instanceId}`,
      groupArn,
      'arn:aws:codedeploy:us-east-1:000000000000:application:cph-cd1-app',
    ]);
    // One instanceGroupId per deployment, on its deployment and instance events alike.
    expect(
      new Set(
        all
          .filter((e) => e.detail.deploymentId === success.detail.deploymentId)
          .map((e) => e.detail.instanceGroupId),
      ).size,
    ).toBe(1);
  }, 120_000);
});
