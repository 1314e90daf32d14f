/**
 * `codepipeline-harness run [cucumber options]`: runs the harness's features with its step library (cucumber-js
 * in a child process), writing the reports to `reports/` of the current directory. Extra arguments go to
 * cucumber (`--tags "not @slow"`, `--name ...`, more feature paths).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `Usage: codepipeline-harness run [cucumber-js options]

Runs the release features (release, rollback, approval, build gate, supersession, teardown) with the harness's
steps against the target of HARNESS_TARGET (default: a sandbox it starts itself), and writes
reports/cucumber-report.html, cucumber-junit.xml, cucumber-messages.ndjson and summary.md.

  e.g. codepipeline-harness run --tags "not @slow"
       HARNESS_TARGET=aws HARNESS_PIPELINE_NAME=... codepipeline-harness run --tags "not @sandbox-only"
`;

/** The package root: where `features/` and `steps/` are, from `src/` and from the built `dist/src/`. */
function packageRoot(): string {
  for (let dir = import.meta.dirname, i = 0; i < 4; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'features')) && existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(
    `codepipeline-harness: cannot find its features/ above ${import.meta.dirname}; reinstall the package`,
  );
}

/** cucumber-js's own entry script (its package exports no bin path, so walk up from its main module). */
function cucumberBin(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('@cucumber/cucumber')));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'cucumber.js');
    if (existsSync(bin)) return bin;
  }
  throw new Error(
    'codepipeline-harness run needs @cucumber/cucumber installed beside it: npm install -D @cucumber/cucumber',
  );
}

export async function runFeaturesCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const root = packageRoot();
  const built = join(import.meta.dirname, '..', 'steps', 'support.js');
  const steps = existsSync(built) ? built : join(root, 'steps', 'support.ts');
  const cucumber = cucumberBin();
  const args = [
    cucumber,
    // A config of our own (empty: everything is on this command line), so a cucumber config of the project we
    // run in (its own steps, paths, formats) is not merged in. cucumber-js joins even an absolute --config path
    // onto the working directory, hence relative.
    '--config',
    relative(process.cwd(), join(root, 'features', 'run-command.cucumber.json')),
    '--import',
    steps,
    '--format',
    'summary',
    '--format',
    'html:reports/cucumber-report.html',
    '--format',
    'junit:reports/cucumber-junit.xml',
    '--format',
    'message:reports/cucumber-messages.ndjson',
    join(root, 'features'),
    ...argv,
  ];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off('SIGINT', forward).off('SIGTERM', forward);
  }
}
