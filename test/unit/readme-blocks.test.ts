/** The consumer test's README extraction (test/consumer/readme-blocks.ts) and its reading of cucumber's results. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  extractFileBlocks,
  parseInfo,
  README_EXAMPLES,
  ReadmeBlockError,
  requireBlocks,
  writeBlocks,
} from '../consumer/readme-blocks.ts';
import { cucumberProblems, cucumberResults } from '../consumer/results.ts';

const fence = '```';
const md = (...lines: string[]) => `${lines.join('\n')}\n`;
const error = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('extractFileBlocks', () => {
  it('takes the blocks marked file=, with their language, text and line, and ignores the others', () => {
    const blocks = extractFileBlocks(
      md(
        '# Title',
        '',
        `${fence}ts file=test/release.test.ts`,
        "import { it } from 'vitest';",
        '',
        "it('works', () => {});",
        fence,
        '',
        `${fence}js`,
        '// no file: only shown',
        fence,
        '',
        '    npm install   # an indented code block, not a fence',
        '',
        `${fence}gherkin file=features/team.feature`,
        'Feature: ours',
        fence,
      ),
    );
    expect(blocks).toEqual([
      {
        file: 'test/release.test.ts',
        lang: 'ts',
        attrs: { file: 'test/release.test.ts' },
        content: "import { it } from 'vitest';\n\nit('works', () => {});\n",
        line: 3,
      },
      {
        file: 'features/team.feature',
        lang: 'gherkin',
        attrs: { file: 'features/team.feature' },
        content: 'Feature: ours\n',
        line: 15,
      },
    ]);
  });

  it('follows CommonMark fences: tildes, longer fences holding shorter ones, indentation, CRLF', () => {
    const blocks = extractFileBlocks(
      [
        '~~~md file=docs/a.md',
        `${fence}ts`,
        'inner',
        fence,
        '~~~',
        '',
        '````md file="docs/b.md"',
        `${fence}`,
        '````',
        '',
        `  ${fence}js file=c.js`,
        '  indented(2);',
        '    deeper(4);',
        `  ${fence}`,
        '',
        `    ${fence}js file=not-a-fence.js`,
        `    ${fence}`,
      ].join('\r\n'),
    );
    expect(blocks.map((b) => [b.file, b.content])).toEqual([
      ['docs/a.md', `${fence}ts\ninner\n${fence}\n`],
      ['docs/b.md', `${fence}\n`],
      ['c.js', 'indented(2);\n  deeper(4);\n'],
    ]);
  });

  it('normalizes paths and rejects two blocks for the same file', () => {
    expect(extractFileBlocks(md(`${fence}js file=./a/../b.js`, 'x', fence))[0]?.file).toBe('b.js');
    const e = error(() =>
      extractFileBlocks(
        md(`${fence}js file=cucumber.mjs`, 'a', fence, '', `${fence}js file=./cucumber.mjs`, 'b', fence),
      ),
    );
    expect(e).toBeInstanceOf(ReadmeBlockError);
    expect(e.message).toBe('README.md:5: file=cucumber.mjs is already the block at README.md:1');
  });

  it.each([
    ['file=', 'file= is empty'],
    ['file=/etc/passwd', 'is absolute'],
    ['file=C:/x.js', 'is absolute'],
    ['file=../outside.js', 'is not a file inside the project'],
    ['file=a/../../outside.js', 'is not a file inside the project'],
    ['file=dir/', 'is not a file inside the project'],
    ['file=a\\b.js', 'use forward slashes'],
    ['file=a.js file=b.js', 'file= given twice'],
    ['file=a.js title', '"title" is neither the language nor key=value'],
  ])('rejects the info string "js %s"', (attrs, message) => {
    const e = error(() => extractFileBlocks(md('', `${fence}js ${attrs}`, 'x', fence), 'README.md'));
    expect(e).toBeInstanceOf(ReadmeBlockError);
    expect(e.message).toContain('README.md:2:');
    expect(e.message).toContain(message);
  });

  it('rejects a file= block that is never closed', () => {
    // Neither a tilde fence nor a shorter backtick one closes a ```` block.
    const e = error(() => extractFileBlocks(md(`${fence}\`ts file=a.ts`, 'const a = 1;', '~~~~', fence)));
    expect(e.message).toBe('README.md:1: the block of file=a.ts is never closed');
  });

  it('reads quoted attribute values', () => {
    expect(parseInfo(`ts file="my tests/a.test.ts" title='the example'`)).toEqual({
      lang: 'ts',
      attrs: { file: 'my tests/a.test.ts', title: 'the example' },
    });
    expect(parseInfo('file=a.js')).toEqual({ lang: '', attrs: { file: 'a.js' } });
  });
});

describe('requireBlocks', () => {
  const blocks = extractFileBlocks(md(`${fence}js file=cucumber.mjs`, 'export default {};', fence));
  const expected = {
    config: { file: 'cucumber.mjs', what: 'the cucumber config' },
    vitest: { file: 'test/release.test.ts', what: 'the vitest example' },
    support: { file: 'features/support/harness.mjs', what: 'the support file' },
  };

  it('names every missing block, what it is for, and the blocks there are', () => {
    const e = error(() => requireBlocks(blocks, expected));
    expect(e).toBeInstanceOf(ReadmeBlockError);
    expect(e.message).toBe(
      'README.md is missing the examples the consumer test runs:\n' +
        '  the vitest example: a fenced block with file=test/release.test.ts\n' +
        '  the support file: a fenced block with file=features/support/harness.mjs\n' +
        '(file= blocks it has: cucumber.mjs (line 1))',
    );
  });

  it('a README without any file= block says so', () => {
    expect(error(() => requireBlocks([], { config: expected.config })).message).toContain(
      '(file= blocks it has: none)',
    );
  });

  it('returns the blocks by name when all are there', () => {
    expect(requireBlocks(blocks, { config: expected.config }).config.content).toBe('export default {};\n');
  });

  it("finds every example the consumer test needs in this repository's README", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const found = requireBlocks(extractFileBlocks(readme), README_EXAMPLES);
    expect(found.teamFeature.content).toMatch(/^\s*Scenario:/m);
  });
});

describe('writeBlocks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harness-readme-blocks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each block to its path, making directories', async () => {
    const blocks = extractFileBlocks(
      md(
        `${fence}js file=features/support/harness.mjs`,
        "import 'x';",
        fence,
        `${fence}js file=cucumber.mjs`,
        fence,
      ),
    );
    const written = await writeBlocks(blocks, dir);
    expect(written).toEqual([join(dir, 'features/support/harness.mjs'), join(dir, 'cucumber.mjs')]);
    expect(readFileSync(written[0]!, 'utf8')).toBe("import 'x';\n");
    expect(readFileSync(written[1]!, 'utf8')).toBe('');
  });

  it('refuses a path outside the project even when handed one directly', async () => {
    const outside = { file: '../x.js', lang: 'js', attrs: {}, content: '', line: 7 };
    await expect(writeBlocks([outside], dir)).rejects.toThrow('file=../x.js (line 7) is outside the project');
  });
});

describe('cucumberResults', () => {
  const messages = (status: string, willBeRetried = false) =>
    [
      {
        pickle: {
          id: 'p1',
          name: 'our smoke check',
          uri: 'features/team.feature',
          steps: [{ id: 's1', text: 'x' }],
        },
      },
      { testCase: { id: 'c1', pickleId: 'p1', testSteps: [{ id: 'h1' }, { id: 't1', pickleStepId: 's1' }] } },
      { testCaseStarted: { id: 'r1', testCaseId: 'c1' } },
      {
        testStepFinished: { testCaseStartedId: 'r1', testStepId: 'h1', testStepResult: { status: 'PASSED' } },
      },
      { testStepFinished: { testCaseStartedId: 'r1', testStepId: 't1', testStepResult: { status } } },
      { testCaseFinished: { testCaseStartedId: 'r1', willBeRetried } },
      { testRunFinished: { success: status === 'PASSED' } },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n');

  it('tallies scenarios and steps (hooks apart) and finds nothing wrong with a passed run', () => {
    const results = cucumberResults(messages('PASSED'));
    expect(results.scenarios).toEqual([
      {
        name: 'our smoke check',
        uri: 'features/team.feature',
        status: 'PASSED',
        steps: [{ text: 'x', status: 'PASSED' }],
      },
    ]);
    expect(results.steps).toEqual({ PASSED: 1 });
    expect(cucumberProblems(results, { scenarios: ['our smoke check'] })).toEqual([]);
  });

  it('calls undefined steps, missing scenarios and missing package features problems', () => {
    const problems = cucumberProblems(cucumberResults(messages('UNDEFINED')), {
      scenarios: ['another one'],
      fromUri: [{ prefix: 'node_modules/codepipeline-harness/features/', what: "the package's features" }],
    });
    expect(problems).toEqual([
      'the run did not report success (success=false)',
      'scenario "our smoke check" (features/team.feature) is UNDEFINED: "x" UNDEFINED',
      '1 step(s) undefined',
      'scenario "another one" did not run and pass',
      "no scenario of the package's features (node_modules/codepipeline-harness/features/...) ran and passed",
    ]);
  });

  it('counts only the last attempt of a retried scenario', () => {
    expect(cucumberResults(messages('FAILED', true)).scenarios).toEqual([]);
  });
});
