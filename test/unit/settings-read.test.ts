/**
 * Every documented setting is read: a run on the sandbox (release, forced failure and rollback, teardown) with a
 * config that records each setting the harness reads, then a push with the source settings of an adopted stack.
 * A key in the env table that no run reads is a setting that does nothing: this test names it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HarnessConfig } from '../../src/config.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';

const read = new Set<string>();

/** A deep view of the config that records the path of every setting read through it. */
function recording<T extends object>(value: T, prefix = ''): T {
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      const path = `${prefix}${key}`;
      read.add(path);
      return child && typeof child === 'object' && !Array.isArray(child)
        ? recording(child, `${path}.`)
        : child;
    },
  });
}

vi.mock('../../src/config.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/config.ts')>();
  return {
    ...original,
    loadConfig: (...args: Parameters<typeof original.loadConfig>): HarnessConfig =>
      recording(original.loadConfig(...args)),
  };
});

const { ENV_KEYS } = await import('../../src/config.ts');
const { Harness } = await import('../../src/harness.ts');

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.02 });
});
afterAll(async () => {
  await sandbox?.stop();
});

describe('the settings of the env table', () => {
  it('are each read by a run', async () => {
    const harness = await Harness.start({ sandbox, env: {} });
    try {
      await harness.ready();
      await harness.release({ probe: false });
      const forced = await harness.forceFailedDeploy('stop-deployment');
      await harness.expectRollback(forced);
      // The source of a stack the run did not create, pushed with a token named by env var (read from the
      // process environment, never from config).
      const adopter = await Harness.start({
        sandbox,
        env: {
          HARNESS_STACK: 'existing',
          HARNESS_SOURCE_REPOSITORY_URL: harness.source.repoUrl,
          HARNESS_SOURCE_TOKEN_ENV: 'SETTINGS_TEST_TOKEN',
          HARNESS_PIPELINE_NAME: harness.pipeline.name,
          HARNESS_APPLICATION_NAME: harness.names!.applicationName,
          HARNESS_DEPLOYMENT_GROUP: harness.names!.deploymentGroupName,
          HARNESS_LOAD_BALANCER: harness.names!.loadBalancerName,
        },
      });
      // The sandbox's git endpoint takes its secret as the password, whatever the user name (x-access-token here).
      vi.stubEnv('SETTINGS_TEST_TOKEN', 'test');
      try {
        const since = new Date();
        const push = await adopter.push();
        await adopter.findExecution(push);
        expect(await adopter.deploymentsSince(since)).toEqual([]);
        expect(await adopter.url()).toBe(await harness.url());
        // Its teardown puts the branch back (keepLastRelease decides which tree) and leaves nothing open.
        expect((await adopter.close()).leaks.leftovers).toEqual([]);
      } finally {
        vi.unstubAllEnvs();
        await adopter.close();
      }
    } finally {
      const closed = await harness.close();
      expect(closed.leaks.clean).toBe(true);
      expect(await harness.close()).toBe(closed); // a second close() returns the first one's report
    }
    const unread = Object.entries(ENV_KEYS)
      .filter(([, path]) => !read.has(path))
      .map(([variable, path]) => `${variable} (${path})`);
    expect(unread).toEqual([]);
  }, 180_000);
});
