/**
 * The README's examples as files: every fenced code block whose info string carries `file=<relative path>`
 * (e.g. ```` ```ts file=test/release.test.ts ````) is a file of a consumer project. Markdown renderers use only
 * the first word of the info string (the language), so the attribute does not show on GitHub.
 *
 * Fences follow CommonMark: three or more backticks or tildes, indented at most three spaces, closed by a fence
 * of the same character at least as long. Blocks inside list items indented four spaces or more are not seen.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, posix, relative, resolve } from 'node:path';

export interface ReadmeBlock {
  /** The normalized relative path of `file=` (forward slashes). */
  file: string;
  /** The info string's first word (`ts`, `js`, `gherkin`, ...); '' when there is none. */
  lang: string;
  /** Every `key=value` of the info string (quoted values unquoted). */
  attrs: Readonly<Record<string, string>>;
  /** The block's text, ending with a newline. */
  content: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** The README examples the consumer test (test/consumer/run.ts) writes into a fresh project and runs. */
export const README_EXAMPLES = {
  vitest: { file: 'test/release.test.ts', what: 'the vitest example' },
  cucumberConfig: { file: 'cucumber.mjs', what: 'the cucumber config' },
  support: {
    file: 'features/support/harness.mjs',
    what: "the cucumber support file registering the package's steps",
  },
  teamSupport: { file: 'features/support/team.mjs', what: "the team's own World and step" },
  teamFeature: { file: 'features/team.feature', what: "the team's own feature" },
} as const;

export class ReadmeBlockError extends Error {
  override name = 'ReadmeBlockError';
}

const OPENING = /^( {0,3})(`{3,}|~{3,})(.*)$/;

/** Parses an info string: the language, then `key=value` or `key="value"` attributes. */
export function parseInfo(
  info: string,
  where = 'info string',
): { lang: string; attrs: Record<string, string> } {
  const tokens = [...info.trim().matchAll(/([^\s=]+)=("([^"]*)"|'([^']*)'|\S*)|\S+/g)];
  let lang = '';
  const attrs: Record<string, string> = {};
  tokens.forEach((token, i) => {
    const key = token[1];
    if (key === undefined) {
      if (i === 0) lang = token[0];
      else throw new ReadmeBlockError(`${where}: "${token[0]}" is neither the language nor key=value`);
      return;
    }
    if (key in attrs) throw new ReadmeBlockError(`${where}: ${key}= given twice`);
    attrs[key] = token[3] ?? token[4] ?? token[2] ?? '';
  });
  return { lang, attrs };
}

/** Checks a `file=` path: relative, inside the project, a file; returns it normalized with forward slashes. */
export function normalizeBlockPath(path: string, where: string): string {
  if (!path) throw new ReadmeBlockError(`${where}: file= is empty; give a path relative to the project`);
  if (path.includes('\\')) throw new ReadmeBlockError(`${where}: file=${path}: use forward slashes`);
  if (isAbsolute(path) || posix.isAbsolute(path) || /^[a-z]:/i.test(path)) {
    throw new ReadmeBlockError(`${where}: file=${path} is absolute; give a path relative to the project`);
  }
  const normalized = posix.normalize(path);
  if (normalized === '.' || normalized.endsWith('/') || normalized.split('/').includes('..')) {
    throw new ReadmeBlockError(`${where}: file=${path} is not a file inside the project`);
  }
  return normalized;
}

/**
 * Every fenced block of `markdown` that has a `file=` attribute, in document order. Throws ReadmeBlockError for
 * a bad path, a path given twice, or a `file=` block that is never closed.
 */
export function extractFileBlocks(markdown: string, source = 'README.md'): ReadmeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: ReadmeBlock[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const open = OPENING.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    // A backtick fence's info string may not contain backticks (that is inline code, not a fence).
    if (fence[0] === '`' && info.includes('`')) continue;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end]!)) end++;
    const where = `${source}:${i + 1}`;
    const { lang, attrs } = attrsOf(info, where);
    if (attrs.file !== undefined) {
      if (end >= lines.length)
        throw new ReadmeBlockError(`${where}: the block of file=${attrs.file} is never closed`);
      const file = normalizeBlockPath(attrs.file, where);
      const first = seen.get(file);
      if (first !== undefined) {
        throw new ReadmeBlockError(`${where}: file=${file} is already the block at ${source}:${first}`);
      }
      seen.set(file, i + 1);
      const body = lines.slice(i + 1, end).map((l) => stripIndent(l, indent.length));
      blocks.push({ file, lang, attrs, content: body.length ? `${body.join('\n')}\n` : '', line: i + 1 });
    }
    i = end;
  }
  return blocks;
}

/** Info strings of blocks without `file=` are not ours to judge: only parse them strictly when they have it. */
function attrsOf(info: string, where: string): { lang: string; attrs: Record<string, string> } {
  if (!/(^|\s)file=/.test(info)) return { lang: info.trim().split(/\s+/)[0] ?? '', attrs: {} };
  return parseInfo(info, where);
}

/** Removes up to `n` leading spaces (a fence indented n spaces indents its content by as many). */
function stripIndent(line: string, n: number): string {
  let i = 0;
  while (i < n && line[i] === ' ') i++;
  return line.slice(i);
}

/**
 * The blocks for `paths`, by path; throws one error naming every missing one (with what it is for) and the
 * paths the README does have.
 */
export function requireBlocks<K extends string>(
  blocks: readonly ReadmeBlock[],
  expected: Readonly<Record<K, { file: string; what: string }>>,
  source = 'README.md',
): Record<K, ReadmeBlock> {
  const byFile = new Map(blocks.map((b) => [b.file, b]));
  const found = {} as Record<K, ReadmeBlock>;
  const missing: string[] = [];
  for (const key of Object.keys(expected) as K[]) {
    const { file, what } = expected[key];
    const block = byFile.get(file);
    if (block) found[key] = block;
    else missing.push(`  ${what}: a fenced block with file=${file}`);
  }
  if (missing.length) {
    const have = blocks.length ? blocks.map((b) => `${b.file} (line ${b.line})`).join(', ') : 'none';
    throw new ReadmeBlockError(
      `${source} is missing the example${missing.length > 1 ? 's' : ''} the consumer test runs:\n${missing.join('\n')}\n` +
        `(file= blocks it has: ${have})`,
    );
  }
  return found;
}

/** Writes each block to its path under `dir`; returns the absolute paths. */
export async function writeBlocks(blocks: readonly ReadmeBlock[], dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const block of blocks) {
    const target = resolve(dir, block.file);
    const rel = relative(dir, target);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) {
      throw new ReadmeBlockError(`file=${block.file} (line ${block.line}) is outside the project ${dir}`);
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, block.content);
    written.push(target);
  }
  return written;
}
