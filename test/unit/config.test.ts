import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { configError } from './helpers/config-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'harness-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has defaults for everything but the endpoint', () => {
    const config = loadConfig({ env: {} });
    expect(config.target).toBe('sandbox');
    expect(config.stages).toEqual({
      source: 'Source',
      build: 'BuildAndTest',
      approval: 'Approval',
      deploy: 'Deploy',
    });
    expect(config.source.branch).toBe('main');
    expect(config.source.auth).toEqual({ type: 'none' });
    expect(config.timeouts.deploy).toBe(30 * 60_000);
    expect(config.runId).toMatch(/^r[0-9a-z]{8}$/);
  });

  it('merges defaults < file < env < code', () => {
    const file = join(dir, 'harness.yml');
    writeFileSync(
      file,
      'pipelineName: from-file\nregion: eu-west-1\ntimeouts:\n  deploy: 5m\n  build: 1m\nsource:\n  branch: release\n',
    );
    const config = loadConfig({
      file,
      env: { HARNESS_PIPELINE_NAME: 'from-env', HARNESS_TIMEOUT_DEPLOY: '90s' },
      overrides: { pipelineName: 'from-code' },
    });
    expect(config.pipelineName).toBe('from-code');
    expect(config.region).toBe('eu-west-1');
    expect(config.timeouts.deploy).toBe(90_000);
    expect(config.timeouts.build).toBe(60_000);
    expect(config.source.branch).toBe('release');
  });

  it('reads a JSON file named by HARNESS_CONFIG', () => {
    const file = join(dir, 'harness.json');
    writeFileSync(file, JSON.stringify({ target: 'aws', source: { auth: 'codecommit-credential-helper' } }));
    const config = loadConfig({ env: { HARNESS_CONFIG: file } });
    expect(config.target).toBe('aws');
    expect(config.source.auth).toEqual({ type: 'codecommit-credential-helper' });
  });

  it('names the env var, the key, the bad value and the fix', () => {
    const error = configError(() => loadConfig({ env: { HARNESS_TIMEOUT_DEPLOY: 'ten minutes' } }));
    expect(error.key).toBe('timeouts.deploy');
    expect(error.source).toBe('HARNESS_TIMEOUT_DEPLOY');
    expect(error.message).toMatchInlineSnapshot(
      `"HARNESS_TIMEOUT_DEPLOY (timeouts.deploy): expected a duration in ms (600000) or with a unit ("1500ms", "30s", "10m", "1h"), got "ten minutes" from HARNESS_TIMEOUT_DEPLOY; fix: set HARNESS_TIMEOUT_DEPLOY or timeouts.deploy in the config file/code to a valid value"`,
    );
  });

  it('rejects a bad value from code naming the key', () => {
    const error = configError(() => loadConfig({ env: {}, overrides: { target: 'prod' as 'aws' } }));
    expect(error.message).toMatchInlineSnapshot(
      `"target: expected "sandbox" or "aws", got "prod" from code; fix: set HARNESS_TARGET or target in the config file/code to a valid value"`,
    );
  });

  it('refuses a token written into the config file', () => {
    const file = join(dir, 'token.json');
    writeFileSync(file, JSON.stringify({ source: { auth: { type: 'github-token', token: 'ghp_secret' } } }));
    const error = configError(() => loadConfig({ env: {}, file }));
    expect(error.key).toBe('source.auth.token');
    expect(error.message).not.toContain('ghp_secret');
    expect(error.message).toContain('never put a token in config');
  });

  it('rejects unknown keys (typos) by name', () => {
    const error = configError(() => loadConfig({ env: {}, overrides: { pipelinename: 'x' } as never }));
    expect(error.message).toContain('config key pipelinename is not a setting');
  });

  it('says when the config file is missing', () => {
    const error = configError(() => loadConfig({ env: {}, file: join(dir, 'nope.yml') }));
    expect(error.message).toContain('cannot be read');
  });
});

describe('createClients', () => {
  it('needs an endpoint on the sandbox target', () => {
    const error = configError(() => createClients(loadConfig({ env: {} })));
    expect(error.key).toBe('endpoint');
    expect(error.message).toContain('HARNESS_ENDPOINT');
  });

  it('points every client at the sandbox endpoint with static credentials', async () => {
    const clients = createClients(loadConfig({ env: {}, overrides: { endpoint: 'http://127.0.0.1:4599' } }));
    const endpoint = await clients.elbv2.config.endpoint!();
    expect(endpoint.hostname).toBe('127.0.0.1');
    expect(endpoint.port).toBe(4599);
    expect((await clients.codedeploy.config.credentials()).accessKeyId).toBe('test');
  });
});
