/**
 * The support file of this package's own runs (`npm run acceptance`, `codepipeline-harness run`): our steps and
 * hooks, and the summary in reports/.
 */
import { defineHarnessSteps } from './index.ts';

defineHarnessSteps({ summary: 'reports/summary.md' });
