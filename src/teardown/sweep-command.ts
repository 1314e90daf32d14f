/**
 * `codepipeline-harness sweep --run <id>`: removes what a killed run left behind (its tagged and prefixed
 * resources, `CodeDeploy_*` copies included) and proves with a leak check that nothing is left. Exit 0 when
 * clean, 1 when something remains (listed), 2 for bad arguments.
 */
import { parseArgs } from 'node:util';
import { createClients, destroyClients } from '../aws/clients.ts';
import { resolveRegion } from '../aws/region.ts';
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { RUN_TAG, stackNames } from '../stack/names.ts';
import { sweep } from './sweep.ts';

const USAGE = `Usage: codepipeline-harness sweep --run <run id> [--endpoint URL] [--region R] [--target sandbox|aws]

Deletes every resource of a run that was killed before its teardown: resources tagged
${RUN_TAG}=<run id> or named cph-<run id>-*, and the CodeDeploy_<deployment group>_* auto scaling
groups blue/green made. Then lists what is left.

  --run ID          the run id (in resource names cph-<id>-..., and in the ${RUN_TAG} tag)
  --endpoint URL    the sandbox endpoint (or HARNESS_ENDPOINT)
  --region R        AWS region (or HARNESS_REGION)
  --target T        sandbox or aws (or HARNESS_TARGET; default sandbox)
  -h, --help        show this help
`;

export async function runSweepCommand(argv: readonly string[]): Promise<number> {
  let values: { run?: string; endpoint?: string; region?: string; target?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        run: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        target: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`codepipeline-harness sweep: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.run) {
    process.stderr.write(
      `codepipeline-harness sweep: --run is required (the id of the run to clean up)\n\n${USAGE}`,
    );
    return 2;
  }
  let names: ReturnType<typeof stackNames>;
  try {
    names = stackNames(values.run);
  } catch (error) {
    process.stderr.write(`codepipeline-harness sweep: ${(error as Error).message}\n`);
    return 2;
  }
  let clients: ReturnType<typeof createClients>;
  try {
    const { config } = await resolveRegion(
      loadConfig({
        overrides: {
          ...(values.endpoint ? { endpoint: values.endpoint } : {}),
          ...(values.region ? { region: values.region } : {}),
          ...(values.target ? { target: values.target as 'sandbox' | 'aws' } : {}),
        },
      }),
    );
    clients = createClients(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`codepipeline-harness sweep: ${error.message}\n`);
    return 2;
  }
  try {
    const report = await sweep(
      clients,
      { key: RUN_TAG, value: names.runId },
      { namePrefix: `${names.prefix}-`, deploymentGroups: [names.deploymentGroupName] },
    );
    for (const item of report.found) process.stdout.write(`found   ${item.kind} ${item.id}\n`);
    for (const f of report.teardown.failed) process.stdout.write(`FAILED  ${f.kind} ${f.id}: ${f.reason}\n`);
    if (report.remaining.length) {
      for (const item of report.remaining) process.stdout.write(`LEFT    ${item.kind} ${item.id}\n`);
      process.stdout.write(`sweep of run ${names.runId}: ${report.remaining.length} resource(s) left\n`);
      return 1;
    }
    process.stdout.write(
      `sweep of run ${names.runId}: ${report.found.length} resource(s) removed, nothing left\n`,
    );
    return 0;
  } finally {
    destroyClients(clients);
  }
}
