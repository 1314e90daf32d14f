/**
 * The harness and regions: a harness configured for eu-west-1 runs unchanged against a sandbox whose default
 * region is us-east-1 (its stack lands in eu-west-1 and nowhere else), and a harness configured for one region
 * against a stack in another stops before its first call with an error naming both regions.
 */
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { describe, expect, it } from 'vitest';
import { assertStackRegion, regionOfUrl } from '../../src/aws/stack-region.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { Harness } from '../../src/harness.ts';
import { useSandbox } from './helpers/sandbox.ts';

describe('the region a URL or ARN names', () => {
  it.each([
    ['https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/web', 'eu-west-1'],
    ['ssh://git-codecommit.ap-south-1.amazonaws.com/v1/repos/web', 'ap-south-1'],
    ['https://git-codecommit-fips.us-gov-west-1.amazonaws.com/v1/repos/web', 'us-gov-west-1'],
    ['codecommit::eu-central-1://web', 'eu-central-1'],
    ['http://web-424835706.us-west-2.elb.amazonaws.com/', 'us-west-2'],
    ['http://internal-web-1.eu-north-1.elb.amazonaws.com:8080/health', 'eu-north-1'],
    ['http://web-1a2b.elb.ca-central-1.amazonaws.com/', 'ca-central-1'],
    ['http://web-123456789.eu-west-1.elb.localhost:4566/', 'eu-west-1'],
    ['http://127.0.0.1:4566/eu-west-3/v1/repos/web', 'eu-west-3'],
    ['https://codepipeline.sa-east-1.amazonaws.com', 'sa-east-1'],
    ['arn:aws:codepipeline:il-central-1:123456789012:team-pipeline', 'il-central-1'],
  ])('%s names %s', (value, region) => {
    expect(regionOfUrl(value)).toBe(region);
  });

  it.each([
    'https://app.example.com/',
    'http://127.0.0.1:4566/v1/repos/web',
    'https://github.com/team/web.git',
    'arn:aws:iam::123456789012:role/deployer',
    'team-pipeline',
  ])('%s names no region', (value) => {
    expect(regionOfUrl(value)).toBeUndefined();
  });

  it('a config whose settings agree with its region passes; one that disagrees names both regions and the fix', () => {
    const agreeing = loadConfig({
      env: { HARNESS_REGION: 'eu-west-1', HARNESS_APP_URL: 'http://web-1.eu-west-1.elb.amazonaws.com/' },
    });
    expect(() => assertStackRegion(agreeing)).not.toThrow();
    const aws = loadConfig({
      env: {
        HARNESS_TARGET: 'aws',
        HARNESS_REGION: 'eu-west-1',
        HARNESS_ENDPOINT: 'https://codepipeline.us-east-1.amazonaws.com',
        HARNESS_SOURCE_REPOSITORY_URL: 'codecommit::us-east-1://team-repo',
      },
    });
    let error: unknown;
    try {
      assertStackRegion(aws);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'HARNESS_CONFIG', key: 'source.repositoryUrl' });
    const message = (error as Error).message;
    expect(message).toContain('the region is eu-west-1 (HARNESS_REGION)');
    expect(message).toContain(
      'HARNESS_SOURCE_REPOSITORY_URL names us-east-1 (codecommit::us-east-1://team-repo)',
    );
    expect(message).toContain('HARNESS_ENDPOINT names us-east-1');
    expect(message).toContain('Set HARNESS_REGION=us-east-1');
  });
});

describe('a harness and a sandbox in different regions', () => {
  // The sandbox's default region is us-east-1; the harness below works in eu-west-1.
  const sb = useSandbox({ timeScale: 0.02 });

  it('fails fast when a setting names another region than HARNESS_REGION', async () => {
    const repo = (
      await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'team-repo' }))
    ).repositoryMetadata!;
    expect(repo.cloneUrlHttp).toContain('/us-east-1/');
    const start = Harness.start({
      sandbox: sb.sandbox,
      env: {
        HARNESS_REGION: 'eu-west-1',
        HARNESS_STACK: 'existing',
        HARNESS_SOURCE_REPOSITORY_URL: repo.cloneUrlHttp!,
      },
    });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(
      new RegExp(
        `^the region is eu-west-1 \\(HARNESS_REGION\\), but HARNESS_SOURCE_REPOSITORY_URL names us-east-1 .*` +
          'a stack in us-east-1 is not found from eu-west-1',
      ),
    );
  });

  it('runs unchanged in eu-west-1: the stack, its pipeline and its load balancer are eu-west-1 only', async () => {
    const harness = await Harness.start({ sandbox: sb.sandbox, env: { HARNESS_REGION: 'eu-west-1' } });
    try {
      const release = await harness.provision();
      expect(release.outcome.status).toBe('Succeeded');
      const names = harness.names!;
      const eu = sb.sandbox.region('eu-west-1');
      expect(eu.codepipeline.store.get(names.pipelineName)?.arn).toMatch(/^arn:aws:codepipeline:eu-west-1:/);
      expect(sb.sandbox.services.codepipeline.store.get(names.pipelineName)).toBeUndefined();
      expect(sb.sandbox.services.fleet.list()).toEqual([]);
      expect(eu.fleet.list().filter((i) => i.state === 'running').length).toBeGreaterThan(0);
      const live = await harness.checkLive(release.push.version);
      expect(live.live).toBe(true);
      expect(live.url).toMatch(/\.eu-west-1\.elb\.localhost:\d+\//);
    } finally {
      const closed = await harness.close();
      expect(closed.leaks.clean).toBe(true);
    }
  }, 180_000);
});
