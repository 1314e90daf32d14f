/**
 * `codepipeline-harness doctor [--json] [--destructive]`: the doctor's checks against the target HARNESS_*
 * names, printed as ✓/✗ lines (each ✗ with its fix) or JSON. Exit 0 when no check failed, 1 when one did, 2 for
 * bad arguments.
 */
import { parseArgs } from 'node:util';
import { formatDoctor, runDoctor } from './index.ts';

const USAGE = `Usage: codepipeline-harness doctor [--json] [--destructive]

Checks, before a run, everything the run needs from its target, and prints what to set when something is off:
  config             the configuration (HARNESS_* env, HARNESS_CONFIG file) loads
  sandbox            the sandbox answers at HARNESS_ENDPOINT (target sandbox)
  credentials        credentials resolve (the SDK's default chain) and the region
  pipeline           the pipeline exists with the configured stage and approval action names
  source             the source repository and branch are the ones its Source action watches
  deployment-group   the deployment group of its Deploy action: kind, automatic rollback, load balancer info
  load-balancer      the load balancer, its listener on HARNESS_LISTENER_PORT, healthy targets
  app-version        the app answers through the load balancer with its version (x-app-version)
  test-target-tag    (--destructive) the pipeline is tagged as a test target
A check that fails skips the checks that need it. On the sandbox with stack ephemeral, the run creates its own
stack: the stack checks are skipped.

  --json          print the report as JSON: { ok, target, stack, region, durationMs,
                  checks: [{ name, ok: true | false | "skipped", detail, fix?, durationMs }] }
  --destructive   also check what @destructive scenarios need (test-target tag, automatic rollback)
  -h, --help      show this help

Exit status: 0 no check failed, 1 a check failed, 2 usage error.
Nothing secret is printed: no secret key or session token, at most the last 4 characters of the access key id.
`;

export async function runDoctorCommand(argv: readonly string[]): Promise<number> {
  let values: { json?: boolean; destructive?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean' },
        destructive: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`codepipeline-harness doctor: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const report = await runDoctor({ destructive: values.destructive ?? false });
  process.stdout.write(formatDoctor(report, { json: values.json ?? false }));
  return report.ok ? 0 : 1;
}
