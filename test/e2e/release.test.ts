/**
 * The example a team would write: only the package's public API (`codepipeline-harness` and
 * `codepipeline-harness/vitest`, imported here from their source entry points), against the sandbox.
 */
import { describe, expect, it } from 'vitest';
import { RollbackNotProvenError } from '../../src/index.ts';
import { useHarness } from '../../src/vitest.ts';

describe('releasing the demo app through the pipeline', () => {
  const run = useHarness({ provision: true, timeScale: 0.02 });

  it(
    'releases a version bump to every instance with no failed request',
    async () => {
      const release = await run.harness.release();
      expect(release.outcome.status).toBe('Succeeded');
      expect(release.live.live).toBe(true);
      expect(Object.values(release.live.instances)).toEqual([release.push.version, release.push.version]);
      expect(release.probe?.failures.total).toBe(0);
      expect(release.probe?.versions.at(-1)?.version).toBe(release.push.version);
    },
    run.timeout,
  );

  it(
    'rolls back a release whose health check fails, the previous version served throughout',
    async () => {
      const previous = run.harness.currentVersion;
      const probe = await run.harness.startProbe();
      const forced = await run.harness.forceFailedDeploy('bad-revision');
      const proof = await run.harness.expectRollback(forced);
      const traffic = await probe.stop();
      expect(forced.outcome.status).toBe('Failed');
      expect(proof.proven).toBe(true);
      expect(proof.checks.map((c) => c.name)).toContain('rollback linked both ways');
      expect(proof.live?.version).toBe(previous);
      expect(traffic.failures.total).toBe(0);
      expect(traffic.versions.map((v) => v.version)).toEqual([previous]);
    },
    2 * run.timeout,
  );

  it(
    'does not call a succeeded deployment a rollback',
    async () => {
      const release = await run.harness.release({ probe: false });
      const fake = {
        kind: 'bad-revision' as const,
        push: release.push,
        execution: release.execution,
        deploymentId: release.deploymentId,
        outcome: release.outcome,
      };
      await expect(run.harness.expectRollback(fake)).rejects.toThrow(RollbackNotProvenError);
    },
    2 * run.timeout,
  );
});
