/**
 * The support file of this package's own runs (`npm run acceptance`, `codepipeline-harness run`): our steps and
 * hooks, and the summary in reports/ (or `HARNESS_REPORTS_DIR`, for a second run that must not overwrite the
 * first's, e.g. CI's eu-west-1 run).
 */
import { join } from 'node:path';
import { defineHarnessSteps } from './index.ts';

defineHarnessSteps({ summary: join(process.env.HARNESS_REPORTS_DIR?.trim() || 'reports', 'summary.md') });
