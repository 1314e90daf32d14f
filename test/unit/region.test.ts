import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveRegion } from '../../src/aws/region.ts';
import { loadConfig, settingSource } from '../../src/config.ts';
import { Harness } from '../../src/index.ts';

describe('the region of an aws run comes from the SDK chain when no setting names it', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cph-region-'));
    await writeFile(
      join(dir, 'config'),
      '[default]\nregion = ap-southeast-2\n\n[profile team]\nregion = eu-north-1\n',
    );
    // The SDK reads these from the process environment itself.
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'none'));
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the named profile's region, as the AWS CLI would", async () => {
    const env = { HARNESS_TARGET: 'aws', AWS_PROFILE: 'team' };
    const { config, said } = await resolveRegion(loadConfig({ env }), env);
    expect(config.region).toBe('eu-north-1');
    expect(settingSource(config, 'region')).toBe('profile');
    expect(said).toContain('profile team');
  });

  it("takes the default profile's region without AWS_PROFILE", async () => {
    const env = { HARNESS_TARGET: 'aws' };
    expect((await resolveRegion(loadConfig({ env }), env)).config.region).toBe('ap-southeast-2');
  });

  it('keeps a region set by HARNESS_REGION or AWS_REGION over the profile', async () => {
    for (const env of [
      { HARNESS_TARGET: 'aws', HARNESS_REGION: 'eu-west-1', AWS_PROFILE: 'team' },
      { HARNESS_TARGET: 'aws', AWS_REGION: 'us-west-2', AWS_PROFILE: 'team' },
    ]) {
      const { config, said } = await resolveRegion(loadConfig({ env }), env);
      expect(config.region).toBe(env.HARNESS_REGION ?? env.AWS_REGION);
      expect(said).toMatch(/HARNESS_REGION|AWS_REGION/);
    }
  });

  it('falls back to us-east-1 and says so when the chain has no region either', async () => {
    await writeFile(join(dir, 'config'), '[default]\noutput = json\n');
    const env = { HARNESS_TARGET: 'aws' };
    const { config, said } = await resolveRegion(loadConfig({ env }), env);
    expect(config.region).toBe('us-east-1');
    expect(said).toMatch(/default: no HARNESS_REGION, AWS_REGION or profile region/);
  });

  it('leaves the sandbox target alone', async () => {
    const env = { HARNESS_ENDPOINT: 'http://127.0.0.1:4566' };
    expect((await resolveRegion(loadConfig({ env }), env)).config.region).toBe('us-east-1');
  });

  it('Harness.start runs in the profile region and logs where it came from', async () => {
    const lines: string[] = [];
    const harness = await Harness.start({
      env: { HARNESS_TARGET: 'aws', AWS_PROFILE: 'team', HARNESS_RUN_ID: 'region-test' },
      log: (line) => lines.push(line),
    });
    try {
      expect(harness.config.region).toBe('eu-north-1');
      expect(await harness.clients.codepipeline.config.region()).toBe('eu-north-1');
      expect(lines).toContain("region eu-north-1 (the AWS SDK's chain: the profile team)");
    } finally {
      await harness.close();
    }
  });
});
