/**
 * The bench's own tests (`vitest run --config bench/vitest.config.ts`): its statistics, event matching,
 * recorder and process handling. Kept apart from the project's `test/` suite, which they do not belong to.
 */
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: join(import.meta.dirname, '..'),
  test: {
    include: ['bench/test/**/*.test.ts'],
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
