/**
 * The package as teams meet it: `npm pack` this repository, install the tarball into a fresh project (with vitest
 * and cucumber from the registry), write the README's examples into it (every fenced block marked
 * `file=<path>`, see readme-blocks.ts), and run them as a team would:
 *
 *   npx vitest run                                   the README's vitest example, with no vitest config of ours
 *   npx cucumber-js --tags "not @slow and ..."       the README's cucumber config and support files: some of the
 *                                                    package's features and the README's own team feature
 *   npx codepipeline-harness run --tags ...          the CLI's features, reports in ./reports
 *   npx codepipeline-harness sweep --help
 *   node scripts/nightly.ts                          the README's nightly script, when it is marked file=
 *
 * Each command has a deadline; a failure names the command, its exit and the tail of its output. Results are
 * read from the runners' reports (scenarios and tests that passed, no undefined or skipped step), not only from
 * exit codes. Everything lives in one mkdtemp directory (TMPDIR of the commands too) that is removed at the end,
 * whatever happened; processes left running by a command are reported and killed.
 *
 *   node test/consumer/run.ts [--keep] [--verbose]     (npm run test:consumer)
 *     --keep      keep the temporary directory (printed) for debugging
 *     --verbose   echo every command's output as it runs
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CommandOptions,
  type CommandResult,
  expectSuccess,
  killAll,
  processesUnder,
  seconds,
} from './exec.ts';
import {
  extractFileBlocks,
  README_EXAMPLES,
  type ReadmeBlock,
  requireBlocks,
  writeBlocks,
} from './readme-blocks.ts';
import {
  cucumberProblems,
  cucumberResults,
  cucumberSummary,
  type VitestReport,
  vitestProblems,
} from './results.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const PACKAGE = 'codepipeline-harness';

const EXPECTED = README_EXAMPLES;
/** Run when the README marks it. */
const NIGHTLY = 'scripts/nightly.ts';

/** The package's features each command runs: small, and not the slow full deployments. */
const CUCUMBER_TAGS = 'not @slow and not @sandbox-only';
const RUN_TAGS = '@sandbox-only';

const DEADLINES = {
  pack: 180_000,
  install: 240_000,
  help: 30_000,
  run: 150_000,
  vitest: 150_000,
  cucumber: 180_000,
  nightly: 150_000,
};

const { values: flags } = parseArgs({
  options: { keep: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false } },
});

interface Step {
  name: string;
  ms: number;
  ok: boolean;
  note: string;
}
const steps: Step[] = [];
/** The temporary directory of the run, once made. */
let scratchRoot: string | undefined;
const startedAt = Date.now();
const abort = new AbortController();

function log(line: string): void {
  const at = seconds(Date.now() - startedAt).padStart(8);
  process.stdout.write(`[${at}] ${line}\n`);
}

/** Runs one step; a setup step that fails ends the test, a check that fails is recorded and the next runs. */
async function step(name: string, fn: () => Promise<string>, fatal: boolean): Promise<void> {
  if (abort.signal.aborted) throw new Error('interrupted');
  log(`${name} ...`);
  const t = Date.now();
  let note = '';
  let failure: unknown;
  try {
    note = await fn();
  } catch (error) {
    failure = error;
  }
  // What the step's commands left running outside their own process group (the sandbox gives app instances
  // groups of their own), found by working directory or command line inside our directory.
  const stray = scratchRoot ? await processesUnder(scratchRoot) : [];
  if (stray.length) {
    killAll(stray);
    const left = `left running (now killed):\n${stray.map((p) => `  ${p.pid} in ${p.cwd}: ${p.commandLine}`).join('\n')}`;
    failure = new Error(failure ? `${(failure as Error).message ?? failure}\n${left}` : left);
  }
  const ms = Date.now() - t;
  if (!failure) {
    steps.push({ name, ms, ok: true, note });
    log(`${name}: ok in ${seconds(ms)}${note ? `: ${note}` : ''}`);
    return;
  }
  const message = failure instanceof Error ? failure.message : String(failure);
  steps.push({ name, ms, ok: false, note: message });
  log(`${name}: FAILED after ${seconds(ms)}\n${message.replace(/^/gm, '    ')}`);
  if (fatal || abort.signal.aborted) throw failure;
}

/** The environment of the consumer's commands: ours without this repository's bins, npm-script or HARNESS_ vars. */
function consumerEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(HARNESS_|npm_package_|npm_lifecycle_)/.test(key)) continue;
    if (
      ['npm_config_local_prefix', 'npm_command', 'npm_execpath', 'npm_node_execpath', 'INIT_CWD'].includes(
        key,
      )
    )
      continue;
    env[key] = value;
  }
  // This Node first (the package needs >= 22.18; the machine's may be older), and no node_modules/.bin of ours:
  // every tool must come from the consumer project.
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p && !/node_modules[\\/]\.bin$/.test(p));
  env.PATH = [dirname(process.execPath), ...path].join(delimiter);
  env.TMPDIR = tmp; // the sandbox, git scratch and builds land in our directory, removed at the end
  env.NO_COLOR = '1';
  // npx runs what the project installed, never a download (`--no` would do the same, but it takes the next
  // word as its value and hands the command's own options to npm).
  env.npm_config_yes = 'false';
  delete env.FORCE_COLOR;
  return env;
}

async function main(): Promise<number> {
  const readmePath = join(REPO, 'README.md');
  const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
    version: string;
    devDependencies: Record<string, string>;
  };
  const root = await mkdtemp(join(tmpdir(), 'cph-consumer-'));
  scratchRoot = root;
  const packDir = join(root, 'pack');
  const project = join(root, 'project');
  const tmp = join(root, 'tmp');
  await Promise.all([mkdir(packDir), mkdir(project), mkdir(tmp)]);
  const env = consumerEnv(tmp);
  const inProject = (timeoutMs: number): CommandOptions => ({
    cwd: project,
    env,
    timeoutMs,
    stream: flags.verbose,
    signal: abort.signal,
  });
  log(`consumer test of ${PACKAGE}@${manifest.version} in ${root} (node ${process.version})`);

  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the running command and cleaning up`);
    abort.abort();
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  let blocks: Record<keyof typeof EXPECTED, ReadmeBlock> | undefined;
  let all: ReadmeBlock[] = [];
  try {
    await step(
      'README examples',
      async () => {
        all = extractFileBlocks(await readFile(readmePath, 'utf8'), 'README.md');
        blocks = requireBlocks(all, EXPECTED, 'README.md');
        return all.map((b) => `${b.file} (line ${b.line})`).join(', ');
      },
      true,
    );

    let tarball = '';
    await step(
      'npm pack',
      async () => {
        await expectSuccess('npm', ['pack', '--pack-destination', packDir], {
          cwd: REPO,
          env: { ...env, PATH: process.env.PATH, TMPDIR: tmpdir() }, // the repo's own build tools
          timeoutMs: DEADLINES.pack,
          stream: flags.verbose,
          signal: abort.signal,
        });
        const packed = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
        if (packed.length !== 1)
          throw new Error(`expected one tarball in ${packDir}, found: ${packed.join(', ')}`);
        tarball = join(packDir, packed[0]!);
        return `${packed[0]} (${Math.round((await stat(tarball)).size / 1024)} kB)`;
      },
      true,
    );

    await step(
      'npm install',
      async () => {
        const range = (name: string) => {
          const r = manifest.devDependencies[name];
          if (!r) throw new Error(`package.json has no devDependency ${name} to take its version range from`);
          return `${name}@${r}`;
        };
        const consumer = { name: 'consumer-of-codepipeline-harness', private: true, type: 'module' };
        await writeFile(join(project, 'package.json'), `${JSON.stringify(consumer, null, 2)}\n`);
        const deps = [tarball, range('vitest'), range('@cucumber/cucumber')];
        await expectSuccess(
          'npm',
          ['install', '--no-audit', '--no-fund', ...deps],
          inProject(DEADLINES.install),
        );
        const installed = JSON.parse(
          await readFile(join(project, 'node_modules', PACKAGE, 'package.json'), 'utf8'),
        ) as { version: string };
        if (installed.version !== manifest.version) {
          throw new Error(`installed ${PACKAGE}@${installed.version}, packed ${manifest.version}`);
        }
        return `${deps.slice(1).join(' ')} and the tarball`;
      },
      true,
    );

    await step(
      'write the README examples',
      async () => {
        await writeBlocks(all, project);
        const ours = all.map((b) => b.file);
        const configs = ['vitest.config', 'vite.config', 'vitest.workspace'].flatMap((c) =>
          ['ts', 'mts', 'js', 'mjs', 'cjs'].map((e) => `${c}.${e}`),
        );
        const extra = configs.filter((c) => existsSync(join(project, c)) && !ours.includes(c));
        if (extra.length)
          throw new Error(`the project has a vitest config the README does not show: ${extra}`);
        return `${ours.length} files`;
      },
      true,
    );
    const b = blocks!;

    await step(
      'npx codepipeline-harness sweep --help',
      async () => {
        const r = await expectSuccess('npx', [PACKAGE, 'sweep', '--help'], inProject(DEADLINES.help));
        if (!r.output.includes(`Usage: ${PACKAGE} sweep`))
          throw new Error(`no usage in its output:\n${r.output}`);
        return 'usage printed';
      },
      false,
    );

    await step(
      `npx codepipeline-harness run --tags "${RUN_TAGS}"`,
      async () => {
        await rm(join(project, 'reports'), { recursive: true, force: true });
        const r = await expectSuccess('npx', [PACKAGE, 'run', '--tags', RUN_TAGS], inProject(DEADLINES.run));
        const html = join(project, 'reports', 'cucumber-report.html');
        if (!existsSync(html) || (await stat(html)).size < 1000) {
          throw new Error(`no reports/cucumber-report.html in ${project}; its output:\n${r.output}`);
        }
        const results = cucumberResults(await readReport(project, 'reports/cucumber-messages.ndjson', r));
        const features = `node_modules/${PACKAGE}/features/`;
        const problems = cucumberProblems(results, {
          fromUri: [{ prefix: features, what: "the package's features" }],
        });
        const others = results.scenarios.filter((s) => !s.uri.startsWith(features));
        if (others.length) {
          problems.push(
            `it ran scenarios that are not the package's: ${others.map((s) => s.uri).join(', ')}`,
          );
        }
        if (!existsSync(join(project, 'reports', 'summary.md'))) problems.push('no reports/summary.md');
        if (problems.length) throw new Error(`${problems.join('\n')}\n${cucumberSummary(results)}`);
        // cucumber-js also loads the project's own cucumber config (the README's), merging its paths, imports and
        // formats into the run's: say so until `run` stops doing that.
        const merged = r.output.includes('paths in both your configuration file and as CLI arguments');
        if (merged)
          log(
            `warning: run merged the project's ${EXPECTED.cucumberConfig.file} into its own cucumber options`,
          );
        return `${cucumberSummary(results)}; reports/cucumber-report.html written${merged ? ` (merged ${EXPECTED.cucumberConfig.file})` : ''}`;
      },
      false,
    );

    await step(
      'npx vitest run',
      async () => {
        await rm(join(project, 'reports'), { recursive: true, force: true });
        const json = 'reports/vitest-results.json';
        const r = await expectSuccess(
          'npx',
          ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`],
          inProject(DEADLINES.vitest),
        );
        const report = JSON.parse(await readReport(project, json, r)) as VitestReport;
        const tests = b.vitest.content.match(/\bit\(/g)?.length ?? 1;
        const problems = vitestProblems(report, { files: [b.vitest.file], minTests: tests });
        if (problems.length) throw new Error(problems.join('\n'));
        return `${report.numPassedTests} of ${report.numTotalTests} tests passed (${b.vitest.file})`;
      },
      false,
    );

    await step(
      `npx cucumber-js --tags "${CUCUMBER_TAGS}"`,
      async () => {
        await rm(join(project, 'reports'), { recursive: true, force: true });
        const messages = 'reports/consumer-cucumber.ndjson';
        const r = await expectSuccess(
          'npx',
          ['cucumber-js', '--tags', CUCUMBER_TAGS, '--format', `message:${messages}`],
          inProject(DEADLINES.cucumber),
        );
        const results = cucumberResults(await readReport(project, messages, r));
        const team = [...b.teamFeature.content.matchAll(/^\s*Scenario(?: Outline)?:\s*(.+?)\s*$/gm)].map(
          (m) => m[1]!,
        );
        if (!team.length) throw new Error(`the README's ${EXPECTED.teamFeature.file} has no Scenario`);
        const problems = cucumberProblems(results, {
          scenarios: team,
          fromUri: [{ prefix: `node_modules/${PACKAGE}/features/`, what: "the package's features" }],
        });
        const summary = /summary:\s*['"]([^'"]+)['"]/.exec(b.support.content)?.[1];
        if (summary && !existsSync(join(project, summary)))
          problems.push(`no ${summary} (the support file asks for it)`);
        if (problems.length) throw new Error(`${problems.join('\n')}\n${cucumberSummary(results)}`);
        return cucumberSummary(results) + (summary ? `; ${summary} written` : '');
      },
      false,
    );

    const nightly = all.find((x) => x.file === NIGHTLY);
    if (nightly) {
      await step(
        `node ${NIGHTLY}`,
        async () => {
          await expectSuccess(process.execPath, [NIGHTLY], inProject(DEADLINES.nightly));
          return 'exit 0';
        },
        false,
      );
    } else {
      log(`the README marks no nightly script (file=${NIGHTLY}): not run`);
    }
  } catch (error) {
    // A step's failure is recorded already; anything else (or an interruption) is recorded here.
    if (steps.every((s) => s.ok)) {
      steps.push({ name: 'consumer test', ms: 0, ok: false, note: String((error as Error)?.stack ?? error) });
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await cleanUp(root);
  }

  printSummary();
  if (abort.signal.aborted) return 130;
  return steps.every((s) => s.ok) ? 0 : 1;
}

/** A report a command should have written; a clear error with its output when it did not. */
async function readReport(project: string, path: string, result: CommandResult): Promise<string> {
  try {
    return await readFile(join(project, path), 'utf8');
  } catch {
    throw new Error(`${result.command} wrote no ${path}; its output:\n${result.output}`);
  }
}

/** Kills and reports what the commands left running, then removes the directory (unless --keep). */
async function cleanUp(root: string): Promise<void> {
  const t = Date.now();
  const stray = await processesUnder(root);
  if (stray.length) {
    killAll(stray);
    steps.push({
      name: 'no process left',
      ms: 0,
      ok: false,
      note: `left running (now killed):\n${stray.map((p) => `  ${p.pid} in ${p.cwd}: ${p.commandLine}`).join('\n')}`,
    });
  } else {
    steps.push({ name: 'no process left', ms: 0, ok: true, note: `none under ${root}` });
  }
  // The harness promises to leave nothing behind: its sandbox, git scratch and builds all use TMPDIR. (Node's
  // module compile cache, which npm turns on, is not the harness's.)
  const tmpLeft = (await readdir(join(root, 'tmp')).catch(() => [])).filter(
    (f) => f !== 'node-compile-cache',
  );
  steps.push({
    name: 'nothing left in TMPDIR',
    ms: 0,
    ok: tmpLeft.length === 0,
    note: tmpLeft.length ? `left in the commands' TMPDIR: ${tmpLeft.join(', ')}` : join(root, 'tmp'),
  });
  if (flags.keep) {
    log(`--keep: left ${root} in place`);
    return;
  }
  await rm(root, { recursive: true, force: true, maxRetries: 3 });
  const removed = !existsSync(root);
  steps.push({
    name: 'temporary directory removed',
    ms: Date.now() - t,
    ok: removed,
    note: removed ? root : `could not remove ${root}`,
  });
}

function printSummary(): void {
  const width = Math.max(...steps.map((s) => s.name.length));
  process.stdout.write('\nconsumer test summary\n');
  for (const s of steps) {
    const first = s.note.split('\n')[0] ?? '';
    process.stdout.write(
      `  ${s.ok ? 'ok  ' : 'FAIL'}  ${s.name.padEnd(width)}  ${seconds(s.ms).padStart(8)}  ${first}\n`,
    );
  }
  process.stdout.write(`  total ${seconds(Date.now() - startedAt)}\n`);
}

process.exitCode = await main();
