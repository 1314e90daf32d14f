/**
 * The sandbox agent's AppSpec reader: what it takes from a good file, and a message naming the part that is
 * wrong for each bad one (what a deployment's lifecycle event diagnostics show).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAppSpec } from '../../src/sandbox/codedeploy/appspec.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bundle(appspec: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'cph-appspec-'));
  dirs.push(dir);
  if (appspec !== undefined) writeFileSync(join(dir, 'appspec.yml'), appspec);
  return dir;
}

describe('readAppSpec', () => {
  it('reads files, hooks with their timeouts and runas, and file_exists_behavior', () => {
    const spec = readAppSpec(
      bundle(
        [
          'version: 0.0',
          'os: linux',
          'files:',
          '  - source: /',
          '    destination: /srv/app',
          'file_exists_behavior: OVERWRITE',
          'hooks:',
          '  ApplicationStart:',
          '    - location: scripts/start.sh',
          '      timeout: 60',
          '      runas: app',
          '  ValidateService:',
          '    - location: scripts/validate.sh',
          '  BeforeInstall:',
        ].join('\n'),
      ),
    );
    expect(spec).toEqual({
      files: [{ source: '/', destination: '/srv/app' }],
      fileExistsBehavior: 'OVERWRITE',
      hooks: {
        ApplicationStart: [{ location: 'scripts/start.sh', timeout: 60, runas: 'app' }],
        ValidateService: [{ location: 'scripts/validate.sh', timeout: 3600 }],
      },
    });
  });

  it.each([
    [undefined, /did not find an AppSpec file/],
    ['hooks: [unclosed', /is not valid YAML/],
    ['- a list', /empty or not a mapping/],
    ['files: /srv', /files must be a list of source\/destination pairs/],
    ['files:\n  - source: /', /files\[0\] needs a string source and destination/],
    ['hooks: [start.sh]', /hooks must map lifecycle events to lists of scripts/],
    ['hooks:\n  ApplicationStart: scripts/start.sh', /hooks\.ApplicationStart must be a list of scripts/],
    ['hooks:\n  ApplicationStart:\n    - timeout: 5', /hooks\.ApplicationStart\[0\] needs a location/],
    [
      'hooks:\n  ApplicationStart:\n    - location: s.sh\n      timeout: -1',
      /hooks\.ApplicationStart\[0\]\.timeout must be a positive number of seconds/,
    ],
  ])('refuses %j, naming what is wrong', (appspec, message) => {
    expect(() => readAppSpec(bundle(appspec))).toThrow(message);
  });
});
