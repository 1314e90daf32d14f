/**
 * The capstone template (`sample-app/infra/capstone.yaml`, shipped with the package) and the parameters a run
 * gives it. The template's parameters are described in `sample-app/infra/README.md`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Parameter } from '@aws-sdk/client-cloudformation';
import { SAMPLE_APP_DIR } from '../seed.ts';
import type { StackNames } from '../names.ts';

/** Where the capstone template is (found from `src/` and from the built `dist/src/`). */
export const CAPSTONE_TEMPLATE = join(SAMPLE_APP_DIR, 'infra', 'capstone.yaml');

/** The first part of every name the template derives (`Prefix` parameter); `stackNames()` uses the same. */
const TEMPLATE_PREFIX = 'cph';

/** The template's body as CreateStack takes it (40 KB: under the 51,200-byte `TemplateBody` limit). */
export function readCapstoneTemplate(path = CAPSTONE_TEMPLATE): Promise<string> {
  return readFile(path, 'utf8');
}

/** What a run chooses of the template's parameters. */
export interface CapstoneParameters {
  /** @default 'SUPERSEDED' */
  executionMode?: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL' | undefined;
  /** Instances in the auto scaling group (1-6). @default 2 */
  instances?: number | undefined;
  /** Deployment config of the in-place group. @default the template's (`CodeDeployDefault.OneAtATime`) */
  deploymentConfigName?: string | undefined;
  /**
   * Any other template parameter by its key (`InstanceType`, `ConnectionArn`, `FullRepositoryId`, `BranchName`,
   * `HealthCheckPath`, `VpcCidr`, ...), as the template's README lists them.
   */
  more?: Readonly<Record<string, string>> | undefined;
}

/**
 * The CreateStack parameters of a run: its id (names and the run tag), and what it chose.
 *
 * @example
 * capstoneParameters(stackNames('r7k2q'), { instances: 3 })
 * // [{ ParameterKey: 'Prefix', ParameterValue: 'cph' }, { ParameterKey: 'RunId', ParameterValue: 'r7k2q' }, ...]
 */
export function capstoneParameters(names: StackNames, chosen: CapstoneParameters = {}): Parameter[] {
  if (names.prefix !== `${TEMPLATE_PREFIX}-${names.runId}`) {
    throw new Error(
      `stack names ${names.prefix}-* do not follow the template's ${TEMPLATE_PREFIX}-<run id>-* naming; derive them with stackNames(runId)`,
    );
  }
  const values: Record<string, string> = {
    Prefix: TEMPLATE_PREFIX,
    RunId: names.runId,
    ExecutionMode: chosen.executionMode ?? 'SUPERSEDED',
    InstanceCount: String(chosen.instances ?? 2),
    ...(chosen.deploymentConfigName ? { DeploymentConfigName: chosen.deploymentConfigName } : {}),
    ...chosen.more,
  };
  return Object.entries(values).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
}
