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
import { runMatcher } from './sweep-match.ts';

const USAGE = `Usage: codepipeline-harness sweep --run <run id> [--run <run id> ...] [--dry-run] [--endpoint URL] [--region R] [--target sandbox|aws]
       codepipeline-harness sweep --data-dir DIR

Deletes every resource of a run that was killed before its teardown: resources tagged exactly
${RUN_TAG}=<run id> or named exactly cph-<run id>-<repo|pipeline|build|app|dg|alb|tg|asg>, and the
CodeDeploy_cph-<run id>-dg_* auto scaling groups blue/green made (so --run ci never touches runs ci-2 or
ci-nightly). Then lists what is left.

  --run ID          the run id (in resource names cph-<id>-..., and in the ${RUN_TAG} tag); repeat it for
                    several runs, e.g. the workers of a killed --parallel run (--run ci-w0 --run ci-w1)
  --dry-run         list what would be deleted, delete nothing
  --endpoint URL    the sandbox endpoint (or HARNESS_ENDPOINT)
  --region R        AWS region (or HARNESS_REGION)
  --target T        sandbox or aws (or HARNESS_TARGET; default sandbox)
  --data-dir DIR    also (or only, without --run) end the process groups a killed sandbox left in its
                    data dir (app servers holding ports, builds, hook scripts), and say what was ended
  -h, --help        show this help
`;

export async function runSweepCommand(argv: readonly string[]): Promise<number> {
  let values: {
    run?: string[];
    endpoint?: string;
    region?: string;
    target?: string;
    'data-dir'?: string;
    'dry-run'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        run: { type: 'string', multiple: true },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        target: { type: 'string' },
        'data-dir': { type: 'string' },
        'dry-run': { type: 'boolean' },
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
  if (values['dry-run'] && values['data-dir'] !== undefined) {
    process.stderr.write(
      'codepipeline-harness sweep: --dry-run lists the resources of --run only; run --data-dir on its own to end processes\n',
    );
    return 2;
  }
  const runs = [...new Set(values.run ?? [])];
  let named: ReturnType<typeof stackNames>[];
  try {
    named = runs.map((run) => stackNames(run));
  } catch (error) {
    process.stderr.write(`codepipeline-harness sweep: ${(error as Error).message}\n`);
    return 2;
  }
  const dataDirCode = values['data-dir'] === undefined ? 0 : await sweepDataDir(values['data-dir']);
  if (runs.length === 0 && values['data-dir'] !== undefined) return dataDirCode;
  if (runs.length === 0) {
    process.stderr.write(
      `codepipeline-harness sweep: --run is required (the id of the run to clean up)\n\n${USAGE}`,
    );
    return 2;
  }
  let clients: ReturnType<typeof createClients>;
  let teardownMs: number;
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
    teardownMs = config.timeouts.teardown;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`codepipeline-harness sweep: ${error.message}\n`);
    return 2;
  }
  try {
    let code = dataDirCode;
    // One run after the other: each run's own leak check decides its line, the worst decides the exit code.
    for (const names of named)
      code = Math.max(code, await sweepRun(clients, names, values['dry-run'] === true, teardownMs));
    return code;
  } finally {
    destroyClients(clients);
  }
}

/** Sweeps one run and prints what it found, failed and left; 1 when something is left, else 0. */
async function sweepRun(
  clients: ReturnType<typeof createClients>,
  names: ReturnType<typeof stackNames>,
  dryRun: boolean,
  teardownMs: number,
): Promise<number> {
  const report = await sweep(
    clients,
    { key: RUN_TAG, value: names.runId },
    {
      namePrefix: `${names.prefix}-`,
      deploymentGroups: [names.deploymentGroupName],
      match: runMatcher(names.runId),
      dryRun,
      // HARNESS_TIMEOUT_TEARDOWN: a hung delete is aborted and reported, never waited for.
      timeoutMs: teardownMs,
    },
  );
  if (report.dryRun) {
    for (const item of report.found) process.stdout.write(`would delete  ${item.kind} ${item.id}\n`);
    process.stdout.write(
      `sweep of run ${names.runId} (dry run): ${report.found.length} resource(s) would be deleted, nothing was\n`,
    );
    return 0;
  }
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
}

/** `--data-dir`: ends what a killed sandbox left running (src/sandbox/process-records.ts); 1 when something is left. */
async function sweepDataDir(dataDir: string): Promise<number> {
  const { describeEnded, endLeftovers } = await import('../sandbox/index.ts');
  const { ended, running } = await endLeftovers(dataDir);
  for (const e of ended) process.stdout.write(`ended   ${describeEnded(e)}\n`);
  for (const r of running)
    process.stdout.write(
      `LEFT    process group ${r.pgid} (${r.owner}): its sandbox (pid ${r.sandbox.pid}) is still running; stop it\n`,
    );
  const stuck = ended.filter((e) => e.outcome === 'alive').length + running.length;
  process.stdout.write(
    `sweep of ${dataDir}: ${ended.filter((e) => e.outcome === 'ended' || e.outcome === 'killed').length} process group(s) ended` +
      `${stuck > 0 ? `, ${stuck} left` : ', nothing left running'}\n`,
  );
  return stuck > 0 ? 1 : 0;
}
