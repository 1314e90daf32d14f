#!/usr/bin/env node
/**
 * `codepipeline-harness <command>`:
 *   sandbox   run the local AWS sandbox in the foreground
 *   run       run the release features with the harness's steps
 *   sweep     remove what a killed run left behind
 *   doctor    check, before a run, everything it needs from its target
 */
import { enableCompileCache } from 'node:module';

// Before any other module loads: Node keeps the compiled (and, for .ts sources, type-stripped) code of every
// module in its on-disk cache, so the next start skips most of the work (a sandbox answers its first call in a
// fraction of the time; `npm run bench` measures it). NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache();

const USAGE = `Usage: codepipeline-harness <command> [options]

Commands:
  sandbox   run the local AWS sandbox (CodePipeline, CodeDeploy, ELBv2, AutoScaling, CodeCommit) in the foreground
  run       run the release features with the harness's steps (cucumber options pass through)
  sweep     remove every resource a killed run left behind, then prove nothing is left
  doctor    check the config, credentials and the stack's names before a run; says what to set

Run 'codepipeline-harness <command> --help' for a command's options.
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'sandbox': {
      const { runSandboxCommand } = await import('./sandbox/cli.ts');
      return runSandboxCommand(rest);
    }
    case 'run': {
      const { runFeaturesCommand } = await import('./run-command.ts');
      return runFeaturesCommand(rest);
    }
    case 'sweep': {
      const { runSweepCommand } = await import('./teardown/sweep-command.ts');
      return runSweepCommand(rest);
    }
    case 'doctor': {
      const { runDoctorCommand } = await import('./doctor/command.ts');
      return runDoctorCommand(rest);
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`codepipeline-harness: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
