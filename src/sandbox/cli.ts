/**
 * `codepipeline-harness sandbox [--port N] [--time-scale X] [--data-dir DIR] [--faults FILE] [--credentials C]`:
 * runs the sandbox in the foreground until SIGINT/SIGTERM/SIGHUP, printing the endpoint, the active faults, the
 * credentials to use (fresh ones with `--credentials random`) and an example AWS CLI line.
 *
 * @example
 * // src/cli.ts
 * if (command === 'sandbox') process.exitCode = await runSandboxCommand(process.argv.slice(3));
 */
import { parseArgs } from 'node:util';
import { type ParsedSpec, readFaultSpec } from './faults.ts';
import { randomCredentials, type SandboxCredentials } from './auth/index.ts';
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
                                     [--credentials random|test]

Runs a local CodePipeline, CodeDeploy, ELBv2, AutoScaling and CodeCommit on 127.0.0.1 until Ctrl-C.

  --port N          edge port on 127.0.0.1 (0 = a free port)           default 4566
  --time-scale X    multiplier for AWS-defined durations (0.01 = 100x faster)  default 1
  --data-dir DIR    keep repositories, instances and builds here (kept on exit); process groups a killed
                    sandbox left there are ended first (so is 'codepipeline-harness sweep --data-dir DIR')
  --faults FILE     inject throttling / 5xx / latency from the start: a JSON or YAML fault spec, the body
                    PUT /_sandbox/faults takes, e.g. {"seed": 7, "rules": [{"type": "throttle", "rate": 0.3},
                    {"type": "error", "status": 503, "rate": 0.05}]}; inline JSON works too
                    default: $HARNESS_SANDBOX_FAULTS (a file or inline JSON), else none
  --credentials C   the only credentials API calls, control routes and git may use: 'random' prints fresh
                    ones as export lines to eval (the secret is printed there and nowhere else), 'test'
                    is test/test; default: $HARNESS_SANDBOX_ACCESS_KEY_ID/$HARNESS_SANDBOX_SECRET_ACCESS_KEY
                    when set, else test/test
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
  let values: {
    port?: string;
    'time-scale'?: string;
    'data-dir'?: string;
    faults?: string;
    credentials?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        'time-scale': { type: 'string' },
        'data-dir': { type: 'string' },
        faults: { type: 'string' },
        credentials: { type: 'string' },
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

  let credentials: SandboxCredentials | undefined;
  if (values.credentials === 'random') credentials = randomCredentials();
  else if (values.credentials === 'test') credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  else if (values.credentials !== undefined) {
    err(
      `sandbox: --credentials takes 'random' (fresh ones, printed as export lines) or 'test' (test/test), got '${values.credentials.slice(0, 40)}'; ` +
        'to choose your own, set HARNESS_SANDBOX_ACCESS_KEY_ID and HARNESS_SANDBOX_SECRET_ACCESS_KEY instead (a secret on the command line is visible to every local user)\n',
    );
    return USAGE_ERROR;
  }

  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      ...(credentials ? { credentials } : {}),
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
      credentialLines(sandbox, values.credentials === 'random') +
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

/**
 * How to call the sandbox. Random credentials are printed once, as `export` lines a shell can eval (the harness
 * reads the HARNESS_SANDBOX_* pair, the AWS CLI and SDKs the AWS_* one); credentials from the environment are
 * never printed (the user has them); test/test is no secret.
 */
function credentialLines(sandbox: Sandbox, fresh: boolean): string {
  const { accessKeyId, secretAccessKey } = sandbox.credentials;
  const cli = `AWS_DEFAULT_REGION=${sandbox.runtime.region} aws --endpoint-url ${sandbox.endpoint} codepipeline list-pipelines`;
  if (fresh) {
    return (
      'Credentials (only these are accepted; eval these lines in the shell that calls the sandbox):\n' +
      `export AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey}\n` +
      `export HARNESS_SANDBOX_ACCESS_KEY_ID=${accessKeyId} HARNESS_SANDBOX_SECRET_ACCESS_KEY=${secretAccessKey}\n` +
      `Try:  ${cli}\n`
    );
  }
  if (accessKeyId === 'test' && secretAccessKey === 'test') {
    return `Try:  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test ${cli}\n`;
  }
  return (
    `Credentials: access key ${accessKeyId} from HARNESS_SANDBOX_ACCESS_KEY_ID (its secret from HARNESS_SANDBOX_SECRET_ACCESS_KEY)\n` +
    `Try:  AWS_ACCESS_KEY_ID=$HARNESS_SANDBOX_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$HARNESS_SANDBOX_SECRET_ACCESS_KEY ${cli}\n`
  );
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
