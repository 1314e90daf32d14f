/**
 * `codepipeline-harness run`: the CLI runs the package's features with its steps (a sandbox of its own) from
 * any directory, and writes the reports there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const cwd = mkdtempSync(join(tmpdir(), 'harness-run-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
// The project it runs in has a cucumber config of its own (other paths, other support files): `run` ignores it.
writeFileSync(
  join(cwd, 'cucumber.mjs'),
  "export default { paths: ['team/*.feature'], import: ['team/support/*.mjs'], strict: true };\n",
);

describe('codepipeline-harness run', () => {
  it("runs the selected feature scenarios where it is run, whatever that project's cucumber config says", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, 'run', '--name', 'Rejecting the approval'],
      {
        cwd,
        env: { ...process.env, CI: 'true' },
        timeout: 120_000,
      },
    );
    expect(stdout).toMatch(/1 scenario \(1 passed\)/);
    for (const file of [
      'cucumber-report.html',
      'cucumber-junit.xml',
      'cucumber-messages.ndjson',
      'summary.md',
    ]) {
      expect(existsSync(join(cwd, 'reports', file)), file).toBe(true);
    }
    expect(readFileSync(join(cwd, 'reports', 'summary.md'), 'utf8')).toMatch(
      /\| Rejecting the approval stops the release before Deploy \| PASSED \|/,
    );
  }, 130_000);

  it('explains itself with --help', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'run', '--help']);
    expect(stdout).toMatch(/Usage: codepipeline-harness run/);
  });
});
