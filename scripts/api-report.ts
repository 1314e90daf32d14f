/**
 * The public API report: one api/<name>.api.md per entry point of package.json "exports", made by API Extractor
 * (settings: api-extractor.json) from the declarations `npm run build` ships.
 *
 *   node scripts/api-report.ts           (npm run api)        rewrites the reports; commit the diff
 *   node scripts/api-report.ts --check   (npm run api:check)  fails when a report differs from the committed one
 *   --verbose                                                 API Extractor's own chatter too
 *
 * 1. The declarations are emitted on their own to temp/api/dts/ (tsconfig.build.json, .d.ts and their maps only),
 *    so dist/ is left as it is and messages point at src/ lines.
 * 2. API Extractor runs once per entry point (one compiler program for all) and writes temp/api/report/.
 * 3. Every type an entry point's API uses must be exported (ae-forgotten-export). One that another entry point
 *    exports is fine: the report shows it as an import from that entry point (`Harness` in the steps report comes
 *    from 'codepipeline-harness'), as a consumer would write it. `knownInternal` lists the only exceptions.
 * 4. The reports are compared with api/ (--check) or copied there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diff } from 'node:util';
import {
  CompilerState,
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
} from '@microsoft/api-extractor';

/**
 * Types an entry point's API reaches although no entry point exports them, on purpose. The report names them in
 * a comment; any other unexported type fails.
 * - ./sandbox: `Sandbox.services` is the in-process handle our tests, steps and bench use; exporting its service
 *   classes would make some 1,700 lines of sandbox internals public API.
 */
const knownInternal: Record<string, readonly string[]> = {
  './sandbox': [
    'AutoScalingService',
    'CloudFormationService',
    'CodeBuildService',
    'CodeCommitService',
    'CodeDeployService',
    'CodePipelineService',
    'Elbv2Service',
    'EventBridgeService',
    'Fleet',
    'LogsService',
    'SqsService',
  ],
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const verbose = process.argv.includes('--verbose');
const dtsDir = join(root, 'temp/api/dts');
const generatedDir = join(root, 'temp/api/report');
const reportDir = join(root, 'api');

interface Entry {
  /** The subpath of package.json "exports": `.`, `./sandbox`, ... */
  subpath: string;
  /** How a consumer imports it: `codepipeline-harness`, `codepipeline-harness/sandbox`, ... */
  specifier: string;
  /** Its declarations in temp/api/dts/. */
  dts: string;
  /** api/<fileName>: `codepipeline-harness.api.md`, `codepipeline-harness-sandbox.api.md`, ... */
  fileName: string;
}

const packageJsonPath = join(root, 'package.json');
const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as {
  name: string;
  exports: Record<string, string | { types?: string }>;
};

const entries: Entry[] = Object.entries(pkg.exports).flatMap(([subpath, target]) => {
  const types = typeof target === 'object' ? target.types : undefined;
  if (!types) return [];
  if (!types.startsWith('./dist/'))
    throw new Error(`exports["${subpath}"].types is not under ./dist/: ${types}`);
  const name = subpath === '.' ? pkg.name : `${pkg.name}-${subpath.slice(2).replaceAll('/', '-')}`;
  return [
    {
      subpath,
      specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
      dts: join(dtsDir, types.slice('./dist/'.length)),
      fileName: `${name}.api.md`,
    },
  ];
});

// 1. The declarations, as `npm run build` emits them to dist/.
rmSync(join(root, 'temp/api'), { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
    '--emitDeclarationOnly',
    '--declarationMap',
    '--outDir',
    dtsDir,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.error(`api: tsc failed (exit ${tsc.status ?? tsc.signal}), so no API report`);
  process.exit(1);
}

// 2. API Extractor, once per entry point. Unexported types are collected here and judged in step 3.
const configPath = join(root, 'api-extractor.json');
const baseConfig = ExtractorConfig.loadFile(configPath);
const configs = entries.map((entry) =>
  ExtractorConfig.prepare({
    configObject: {
      ...baseConfig,
      mainEntryPointFilePath: entry.dts,
      apiReport: { ...baseConfig.apiReport!, reportFileName: entry.fileName },
    },
    configObjectFullPath: configPath,
    packageJsonFullPath: packageJsonPath,
  }),
);
const compilerState = CompilerState.create(configs[0]!, { additionalEntryPoints: entries.map((e) => e.dts) });

const problems: string[] = [];
const unexported = new Map<Entry, { symbol: string; where: string }[]>();
entries.forEach((entry, i) => {
  const forgotten: { symbol: string; where: string }[] = [];
  unexported.set(entry, forgotten);
  const result = Extractor.invoke(configs[i]!, {
    compilerState,
    localBuild: true, // writes temp/api/report/; step 4 compares
    showVerboseMessages: verbose,
    messageCallback: (message: ExtractorMessage) => {
      const symbol = /^The symbol "(\w+)"/.exec(message.text)?.[1];
      if (message.messageId === 'ae-forgotten-export' && symbol) {
        forgotten.push({ symbol, where: message.formatMessageWithLocation(root) });
        message.logLevel = ExtractorLogLevel.None;
        message.handled = true;
      } else if (
        !verbose &&
        (message.logLevel === ExtractorLogLevel.Info ||
          message.logLevel === ExtractorLogLevel.Verbose ||
          message.messageId.startsWith('console-api-report-'))
      ) {
        message.handled = true;
      }
    },
  });
  if (result.errorCount > 0) problems.push(`${entry.subpath}: ${result.errorCount} error(s) above`);
});

// 3. Unexported types: from another entry point, known internals, or an error.
const generated = new Map<Entry, string>();
for (const entry of entries) generated.set(entry, readFileSync(join(generatedDir, entry.fileName), 'utf8'));
const exportedBy = new Map<string, Entry>();
for (const entry of entries) {
  const declarations = generated
    .get(entry)!
    .matchAll(
      /^export (?:declare )?(?:abstract )?(?:class|interface|type|function|const|let|enum|namespace) (\w+)/gm,
    );
  for (const [, name] of declarations) if (!exportedBy.has(name!)) exportedBy.set(name!, entry);
}
for (const entry of entries) {
  const imports: string[] = [];
  const internal: string[] = [];
  const missing: string[] = [];
  for (const { symbol, where } of unexported.get(entry)!) {
    const from = exportedBy.get(symbol);
    if (from && from !== entry) imports.push(`import { ${symbol} } from '${from.specifier}';`);
    else if (knownInternal[entry.subpath]?.includes(symbol)) internal.push(symbol);
    else {
      console.error(`Error: ${where}`);
      missing.push(symbol);
    }
  }
  if (missing.length > 0) {
    problems.push(
      `${entry.subpath}: its API uses ${missing.join(', ')}: export them from ${entry.specifier}`,
    );
  }
  // The header names the package; name the entry point.
  let text = generated
    .get(entry)!
    .replace(/^## API Report File for ".*"$/m, `## API Report File for "${entry.specifier}"`);
  // The imports follow "```ts\n\n" and end with a blank line. API Extractor lists every import of every type it
  // looked at, the unexported ones included; keep those the report uses, and sort them as it does.
  const start = text.indexOf('```ts\n\n') + '```ts\n\n'.length;
  const end = text.startsWith('import ', start) ? text.indexOf('\n\n', start) + 2 : start;
  const body = text.slice(end);
  const localName = (line: string) => /(\w+) ?\}? from /.exec(line)?.[1] ?? line;
  const block = [...text.slice(start, end).split('\n').filter(Boolean), ...imports]
    .filter((line) => new RegExp(`\\b${localName(line)}\\b`).test(body))
    .map((line) => ({ line, key: `${localName(line).toLowerCase()} ${line}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ line }) => line);
  const note = internal.length
    ? `// Not exported, on purpose (knownInternal in scripts/api-report.ts): ${internal.sort().join(', ')}\n`
    : '';
  text = `${text.slice(0, start)}${block.map((l) => `${l}\n`).join('')}${note}${block.length || note ? '\n' : ''}${body}`;
  // An import the compiler could not resolve lands in the report as an import of a relative path (with
  // skipLibCheck nothing else says so).
  for (const line of text.match(/^import .* from '\.{1,2}\/.*$/gm) ?? []) {
    problems.push(`${entry.subpath}: unresolved import in the declarations: ${line}`);
  }
  generated.set(entry, text);
}

// 4. Compare with, or copy to, api/.
mkdirSync(reportDir, { recursive: true });
const changed: string[] = [];
for (const entry of entries) {
  const path = join(reportDir, entry.fileName);
  const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const text = generated.get(entry)!;
  if (committed === text) continue;
  changed.push(`api/${entry.fileName}`);
  if (!check) writeFileSync(path, text);
  else if (committed === undefined) problems.push(`${entry.subpath}: api/${entry.fileName} is missing`);
  else {
    console.error(`\napi/${entry.fileName} differs from the API of the code (- committed, + code):`);
    printDiff(committed, text);
    problems.push(`${entry.subpath}: api/${entry.fileName} differs from the API of the code`);
  }
}
const expected = new Set(entries.map((e) => e.fileName));
for (const file of readdirSync(reportDir).filter((f) => f.endsWith('.api.md') && !expected.has(f))) {
  changed.push(`api/${file} (removed)`);
  if (check) problems.push(`api/${file} is the report of no entry point of package.json "exports"`);
  else rmSync(join(reportDir, file));
}

if (problems.length > 0) {
  console.error(`\napi${check ? ':check' : ''} failed:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  if (check && changed.length > 0) {
    console.error('If the API change is deliberate, run `npm run api` and commit the diff in api/.');
  }
  process.exit(1);
}
if (check) console.log(`api:check: the ${entries.length} reports in api/ match the code`);
else if (changed.length > 0) console.log(`api: updated ${changed.join(', ')}; review and commit the diff`);
else console.log(`api: the ${entries.length} reports in api/ are up to date`);

/** The changed lines with two lines of context, `-` committed and `+` generated. */
function printDiff(committed: string, generated: string): void {
  const ops = diff(committed.split('\n'), generated.split('\n'));
  const near = (i: number) => ops.slice(Math.max(0, i - 2), i + 3).some(([op]) => op !== 0);
  let skipped = false;
  ops.forEach(([op, line], i) => {
    if (op === 0 && !near(i)) {
      if (!skipped) console.error('  ...');
      skipped = true;
      return;
    }
    skipped = false;
    console.error(`${op === 1 ? '-' : op === -1 ? '+' : ' '} ${line}`);
  });
}
