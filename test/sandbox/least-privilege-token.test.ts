/**
 * Token values are never echoed (issue 15, item 4): `source.auth.tokenEnv` names the env var that holds a GitHub
 * token; set by mistake to the token itself, the error names the setting and where it came from, never the value.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

/** Shaped like real tokens (a classic PAT passes the env-var-name check; the others do not). */
const TOKENS = [
  `ghp_${'A1b2C3d4E5'.repeat(3)}xYz789`,
  `github_pat_11ABCDEFG0${'q'.repeat(20)}_${'Z9'.repeat(20)}`,
  `glpat-${'x1Y2z3'.repeat(4)}`,
];

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('a tokenEnv set to the token itself', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(TOKENS)(
    'is refused from the env naming HARNESS_SOURCE_TOKEN_ENV, never echoing it (%#)',
    (token) => {
      const error = configError(() =>
        loadConfig({ env: { HARNESS_SOURCE_AUTH: 'github-token', HARNESS_SOURCE_TOKEN_ENV: token } }),
      );
      expect(error.message).toContain(
        'HARNESS_SOURCE_TOKEN_ENV (source.auth.tokenEnv): must be the NAME of an environment variable',
      );
      expect(error.message).toContain('(not shown: it may be the token)');
      expect(error.key).toBe('source.auth.tokenEnv');
      for (const text of [error.message, String(error.cause), JSON.stringify(error), error.stack ?? ''])
        expect(text).not.toContain(token);
    },
  );

  it('is refused from a config file and from code the same way', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cph-token-'));
    const file = join(dir, 'harness.json');
    const token = TOKENS[0]!;
    await writeFile(file, JSON.stringify({ source: { auth: { type: 'github-token', tokenEnv: token } } }));
    const fromFile = configError(() => loadConfig({ env: {}, file }));
    expect(fromFile.message).toContain(`source.auth.tokenEnv: must be the NAME of an environment variable`);
    expect(fromFile.message).toContain(`from ${file}`);
    expect(fromFile.message).not.toContain(token);
    const fromCode = configError(() =>
      loadConfig({ env: {}, overrides: { source: { auth: { type: 'github-token', tokenEnv: token } } } }),
    );
    expect(fromCode.message).not.toContain(token);
  });

  it('still takes a variable name, however it is spelt', () => {
    for (const name of ['GITHUB_TOKEN', 'CI_PUSH_TOKEN', 'github_token']) {
      const config = loadConfig({
        env: { HARNESS_SOURCE_AUTH: 'github-token', HARNESS_SOURCE_TOKEN_ENV: name },
      });
      expect(config.source.auth).toEqual({ type: 'github-token', tokenEnv: name });
    }
  });
});
