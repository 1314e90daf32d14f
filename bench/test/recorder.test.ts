import {
  CodeDeployClient,
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentGroupCommand,
  GetDeploymentCommand,
  ListApplicationsCommand,
} from '@aws-sdk/client-codedeploy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { ApiRecorder, countByOperation, entityKey } from '../lib/recorder.ts';
import { fetchEvents } from '../lib/sandbox-process.ts';

describe('ApiRecorder on real SDK clients against the sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.01, onInternalError: () => {} });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  const client = (recorder: ApiRecorder, maxAttempts = 3) =>
    recorder.attach(
      new CodeDeployClient({
        endpoint: sandbox.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts,
      }),
    );

  it('counts calls by operation and turns answers into timed status observations', async () => {
    const recorder = new ApiRecorder();
    const codedeploy = client(recorder);
    try {
      await codedeploy.send(new CreateApplicationCommand({ applicationName: 'rec-app' }));
      await codedeploy.send(
        new CreateDeploymentGroupCommand({
          applicationName: 'rec-app',
          deploymentGroupName: 'rec-dg',
          serviceRoleArn: 'arn:aws:iam::000000000000:role/rec',
        }),
      );
      const { deploymentId } = await codedeploy.send(
        new CreateDeploymentCommand({
          applicationName: 'rec-app',
          deploymentGroupName: 'rec-dg',
          revision: { revisionType: 'String', string: { content: 'version: 0.0\nos: linux\n' } },
        }),
      );
      const before = Date.now();
      const out = await codedeploy.send(new GetDeploymentCommand({ deploymentId }));
      expect(countByOperation(recorder.calls)).toEqual([
        ['CreateApplication', 1],
        ['CreateDeployment', 1],
        ['CreateDeploymentGroup', 1],
        ['GetDeployment', 1],
      ]);
      const seen = recorder.observations.filter((o) => o.key === entityKey.deployment(deploymentId!));
      expect(seen).toHaveLength(1);
      expect(seen[0]?.status).toBe(out.deploymentInfo?.status);
      expect(seen[0]?.at).toBeGreaterThanOrEqual(before);
      // The same deployment is in the sandbox's event log, which the bench reads over HTTP.
      const events = await fetchEvents(sandbox.endpoint, 0);
      expect(events.some((e) => e.kind === 'deployment' && e.deploymentId === deploymentId)).toBe(true);
    } finally {
      codedeploy.destroy();
    }
  });

  it('counts every HTTP attempt, retries of a throttled call included', async () => {
    sandbox.faults.set([{ service: 'codedeploy', operation: 'ListApplications', type: 'throttle', rate: 1 }]);
    const recorder = new ApiRecorder();
    const codedeploy = client(recorder, 2);
    try {
      await expect(codedeploy.send(new ListApplicationsCommand({}))).rejects.toThrow(
        /Throttl|Rate exceeded/i,
      );
      expect(recorder.calls.map((c) => [c.operation, c.ok])).toEqual([
        ['ListApplications', false],
        ['ListApplications', false],
      ]);
    } finally {
      sandbox.faults.clear();
      codedeploy.destroy();
    }
  });
});
