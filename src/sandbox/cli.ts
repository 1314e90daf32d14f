/**
 * `codepipeline-harness sandbox [--port N] [--time-scale X] [--data-dir DIR] [--faults FILE]`: runs the sandbox in
 * the foreground until SIGINT/SIGTERM/SIGHUP, printing the endpoint, the active faults and an example AWS CLI line.
 *
 * @example
 * // src/cli.ts
 * if (command === 'sandbox') process.exitCode = await runSandboxCommand(process.argv.slice(3));
 */
import { parseArgs } from 'node:util';
import { type ParsedSpec, readFaultSpec } from './faults.ts';
import { describeEnded, type Sandbox, startSandbox } from './index.ts';

export interface SandboxCommandIo {
  /** @default process.stdout.write */
  out?: (text: string) => void;
  /** @default process.stderr.write */
  err?: (text: string) => void;
  /** Stops the sandbox when aborted (besides SIGINT/SIGTERM/SIGHUP); for tests and embedding. */
  signal?: AbortSignal;
  /** Called once the sandbox answers. */
  onReady?: (sandbox: Sandbox) => void;
  /** Where `HARNESS_SANDBOX_FAULTS` is read when `--faults` is not given. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

const USAGE = `Usage: codepipeline-harness sandbox [--port N] [--time-scale X] [--data-dir DIR] [--faults FILE]

Runs a local CodePipeline, CodeDeploy, ELBv2, AutoScaling and CodeCommit on 127.0.0.1 until Ctrl-C.

  --port N          edge port on 127.0.0.1 (0 = a free port)           default 4566
  --time-scale X    multiplier for AWS-defined durations (0.01 = 100x faster)  default 1
  --data-dir DIR    keep repositories, instances and builds here (kept on exit); process groups a killed
                    sandbox left there are ended first (so is 'codepipeline-harness sweep --data-dir DIR')
  --faults FILE     inject throttling / 5xx / latency from the start: a JSON or YAML fault spec, the body
                    PUT /_sandbox/faults takes, e.g. {"seed": 7, "rules": [{"type": "throttle", "rate": 0.3},
                    {"type": "error", "status": 503, "rate": 0.05}]}; inline JSON works too
                    default: $HARNESS_SANDBOX_FAULTS (a file or inline JSON), else none
  -h, --help        show this help
`;

/** Exit code 2: bad usage (as with most CLIs). */
const USAGE_ERROR = 2;

/**
 * Runs the `sandbox` subcommand; resolves the process exit code once the sandbox has stopped
 * (0 after a clean stop, 1 when it failed to start or stop, 2 for bad flags).
 */
export async function runSandboxCommand(argv: readonly string[], io: SandboxCommandIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stdout.write(t));
  const err = io.err ?? ((t: string) => void process.stderr.write(t));
  let values: { port?: string; 'time-scale'?: string; 'data-dir'?: string; faults?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        'time-scale': { type: 'string' },
        'data-dir': { type: 'string' },
        faults: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    err(`sandbox: ${(error as Error).message}\n\n${USAGE}`);
    return USAGE_ERROR;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 4566 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65535) {
    err(`sandbox: --port must be a whole number 0..65535 (0 = a free port), got '${values.port}'\n`);
    return USAGE_ERROR;
  }
  const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
    err(
      `sandbox: --time-scale must be a number > 0 (e.g. 0.01 runs AWS durations 100x faster), got '${values['time-scale']}'\n`,
    );
    return USAGE_ERROR;
  }

  let faults: ParsedSpec | undefined;
  if (values.faults !== undefined) {
    try {
      faults = await readFaultSpec(values.faults, '--faults');
    } catch (error) {
      err(`sandbox: ${(error as Error).message}\n`);
      return USAGE_ERROR;
    }
  }

  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port,
      timeScale,
      dataDir: values['data-dir'],
      ...(faults ? { faults } : {}),
      ...(io.env ? { env: io.env } : {}),
    });
  } catch (error) {
    err(`sandbox: ${(error as Error).message}\n`);
    return 1;
  }
  const active = sandbox.faults.get();
  if (sandbox.leftovers.length > 0)
    out(
      `Ended ${sandbox.leftovers.length} process group(s) a killed sandbox left in ${sandbox.runtime.dataDir}:\n` +
        sandbox.leftovers.map((e) => `  ${describeEnded(e)}\n`).join(''),
    );
  out(
    `Sandbox listening on ${sandbox.endpoint} (time scale ${timeScale}, data in ${sandbox.runtime.dataDir})\n` +
      (active.rules.length > 0
        ? `Faults: ${active.rules.map(describeRule).join('; ')}${active.seed === undefined ? '' : ` (seed ${active.seed})`}` +
          `${values.faults === undefined ? ' from HARNESS_SANDBOX_FAULTS' : ''}; change them with PUT ${sandbox.endpoint}/_sandbox/faults\n`
        : '') +
      `Try:  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=${sandbox.runtime.region} ` +
      `aws --endpoint-url ${sandbox.endpoint} codepipeline list-pipelines\n` +
      `Stop with Ctrl-C.\n`,
  );
  io.onReady?.(sandbox);

  let onSignal: (name: NodeJS.Signals) => void = () => {};
  const reason = await new Promise<string>((resolve) => {
    onSignal = (name) => resolve(name);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
    if (io.signal?.aborted) resolve('abort');
    io.signal?.addEventListener('abort', () => resolve('abort'), { once: true });
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  out(`Stopping the sandbox (${reason})...\n`);
  try {
    await sandbox.stop();
    out('Sandbox stopped.\n');
    return 0;
  } catch (error) {
    err(`sandbox: stopping failed: ${(error as Error).message}\n`);
    return 1;
  }
}

/** `throttle 30% of codepipeline:*`, `error 503 5% of *:*`, `latency 200 ms 10% of elbv2:DescribeTargetHealth`. */
function describeRule(rule: ParsedSpec['rules'][number]): string {
  const what =
    rule.type === 'error'
      ? `error ${rule.status}`
      : rule.type === 'latency'
        ? `latency ${rule.latencyMs} ms`
        : 'throttle';
  const phase = rule.phase === 'response' ? ' after handling' : '';
  return `${what} ${Math.round(rule.rate * 1000) / 10}% of ${rule.service}:${rule.operation}${phase}`;
}
