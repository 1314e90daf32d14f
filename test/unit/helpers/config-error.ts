import { ConfigError } from '../../../src/errors.ts';

/**
 * The ConfigError `fn` throws; any other error is rethrown, and no error at all fails the test.
 *
 * @example
 * expect(configError(() => loadConfig({ env: { HARNESS_RUN_ID: 'X' } })).key).toBe('runId');
 */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
