/**
 * seedRepository copies the sample app into the first commit. Installed as a package, the app itself lives under
 * `node_modules/codepipeline-harness/sample-app`: only `node_modules/` and `.git/` *inside* the app are skipped.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_APP_DIR, seedRepository } from '../../src/stack/seed.ts';

const root = mkdtempSync(join(tmpdir(), 'harness-seed-test-'));
const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const bareRepo = (name: string) => {
  const bare = join(root, `${name}.git`);
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  return bare;
};
const tree = (bare: string) =>
  git(['--git-dir', bare, 'ls-tree', '-r', '--name-only', 'main']).split('\n').filter(Boolean);

// The app as npm installs it: under a node_modules/ path, with its own node_modules/ and .git/ beside the files.
const installedApp = join(root, 'project', 'node_modules', 'codepipeline-harness', 'sample-app');

beforeAll(() => {
  cpSync(SAMPLE_APP_DIR, installedApp, { recursive: true });
  mkdirSync(join(installedApp, 'node_modules', 'left-pad'), { recursive: true });
  writeFileSync(join(installedApp, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
  mkdirSync(join(installedApp, '.git'), { recursive: true });
  writeFileSync(join(installedApp, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  mkdirSync(join(installedApp, 'lib', 'node_modules'), { recursive: true });
  writeFileSync(join(installedApp, 'lib', 'node_modules', 'x.js'), '\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('seedRepository', () => {
  it('seeds the app from a directory under node_modules/ (the package as installed)', async () => {
    const bare = bareRepo('installed');
    const { commitId, message } = await seedRepository({
      repoUrl: pathToFileURL(bare).href,
      appDir: installedApp,
      runId: 'run-seed',
      version: 'v-seed-1',
    });
    expect(git(['--git-dir', bare, 'rev-parse', 'main'])).toBe(commitId);
    expect(message).toContain('run-seed');
    const files = tree(bare);
    expect(files).toEqual(
      expect.arrayContaining([
        'VERSION',
        'appspec.yml',
        'buildspec.yml',
        'server.js',
        'lib/app.js',
        'config/health.json',
        'scripts/application_start.sh',
      ]),
    );
    expect(git(['--git-dir', bare, 'show', 'main:VERSION'])).toBe('v-seed-1');
    // The app's own install and git directories stay out, at any depth.
    expect(files.filter((f) => /(^|\/)(node_modules|\.git)\//.test(f))).toEqual([]);
  });

  it('seeds the same files from the source checkout as from the installed copy', async () => {
    const fromSource = bareRepo('source');
    const fromInstalled = bareRepo('installed-again');
    await seedRepository({ repoUrl: pathToFileURL(fromSource).href, runId: 'run-a' });
    await seedRepository({
      repoUrl: pathToFileURL(fromInstalled).href,
      appDir: installedApp,
      runId: 'run-b',
    });
    expect(tree(fromInstalled)).toEqual(tree(fromSource));
  });
});
