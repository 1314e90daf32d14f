/**
 * Config that could hurt the process is refused by name: a `__proto__` / `constructor` / `prototype` key in a
 * config file (prototype pollution through the merge), durations a Node timer cannot hold (above 2^31-1 ms a
 * timer fires after 1 ms, so every poll gave up at once), and a sandbox time scale above AWS's own durations.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig, MAX_DURATION_MS, releaseTimeout, sandboxTimeScale } from '../../src/config.ts';
import { configError } from './helpers/config-error.ts';
import { Harness } from '../../src/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'harness-config-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether anything reached Object.prototype (the whole process would see it). */
function polluted(): string[] {
  return ['polluted', 'pipelineName', 'isAdmin'].filter((k) => k in {});
}

afterEach(() => {
  // Should a test ever pollute, the next tests must not inherit it.
  for (const k of polluted()) delete (Object.prototype as Record<string, unknown>)[k];
});

describe('merging config layers', () => {
  it.each([
    ['a JSON file', 'proto.json', '{ "__proto__": { "polluted": "yes" }, "pipelineName": "p" }', '__proto__'],
    ['a YAML file', 'proto.yml', '__proto__:\n  polluted: yes\npipelineName: p\n', '__proto__'],
    [
      'a nested key',
      'nested.json',
      '{ "timeouts": { "__proto__": { "polluted": "yes" } } }',
      'timeouts.__proto__',
    ],
    [
      'constructor.prototype',
      'ctor.json',
      '{ "constructor": { "prototype": { "isAdmin": true } } }',
      'constructor',
    ],
  ])('refuses %s holding a prototype key, naming it, and pollutes nothing', (_what, name, text, key) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    const error = configError(() => loadConfig({ env: {}, file }));
    expect(polluted()).toEqual([]);
    expect(error.key).toBe(key);
    expect(error.source).toBe(file);
    expect(error.message).toContain(`config key ${key} (${file}) is refused`);
    expect(error.message).toContain('prototype pollution');
  });

  it('refuses a prototype key from code (parsed JSON, as a caller may pass it)', () => {
    const overrides = JSON.parse('{ "probe": { "prototype": { "polluted": 1 } } }');
    const error = configError(() => loadConfig({ env: {}, overrides }));
    expect(error.message).toMatchInlineSnapshot(
      `"config key probe.prototype (code) is refused: "prototype" is not a setting, and merging it would change every object of the process (prototype pollution); remove it"`,
    );
    expect(polluted()).toEqual([]);
  });
});

describe('bounds on durations', () => {
  it('refuses a duration above 24h, naming the key and the maximum', () => {
    const error = configError(() => loadConfig({ env: { HARNESS_TIMEOUT_DEPLOY: '600h' } }));
    expect(error.key).toBe('timeouts.deploy');
    expect(error.message).toMatchInlineSnapshot(
      `"HARNESS_TIMEOUT_DEPLOY (timeouts.deploy): expected a duration in ms (600000) or with a unit ("1500ms", "30s", "10m", "1h") of at most 24h (86400000 ms), got "600h" from HARNESS_TIMEOUT_DEPLOY; fix: set HARNESS_TIMEOUT_DEPLOY or timeouts.deploy in the config file/code to a valid value"`,
    );
  });

  it('refuses the ms settings beyond what a timer holds', () => {
    const error = configError(() => loadConfig({ env: {}, overrides: { poll: { maxIntervalMs: 2 ** 31 } } }));
    expect(error.key).toBe('poll.maxIntervalMs');
    expect(error.message).toContain('at most 86400000 ms (24h)');
  });

  it('takes the maximum itself, and a release timeout built from maxima still fits a timer', () => {
    const max = loadConfig({
      env: {},
      overrides: {
        timeouts: {
          findExecution: '24h',
          source: '24h',
          build: '24h',
          approval: '24h',
          deploy: '24h',
          live: '24h',
        },
      },
    });
    expect(max.timeouts.deploy).toBe(MAX_DURATION_MS);
    expect(releaseTimeout(max)).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});

describe('bounds on the sandbox time scale', () => {
  it('takes a scale above 0 and at most 1', () => {
    expect(sandboxTimeScale('0.5', 'HARNESS_TIME_SCALE')).toBe(0.5);
    expect(sandboxTimeScale(1, 'Harness.start({ timeScale })')).toBe(1);
  });

  it.each([
    ['2', 'expected at most 1'],
    ['0', 'expected a number above 0'],
    ['fast', 'expected a number above 0'],
  ])('refuses HARNESS_TIME_SCALE=%s naming it', (value, said) => {
    const error = configError(() => sandboxTimeScale(value, 'HARNESS_TIME_SCALE'));
    expect(error.key).toBe('HARNESS_TIME_SCALE');
    expect(error.message).toContain(`HARNESS_TIME_SCALE: ${said}`);
    expect(error.message).toContain(`got "${value}"`);
  });

  it('is checked when the harness starts its own sandbox', async () => {
    await expect(Harness.start({ timeScale: 1e6 })).rejects.toThrow(
      'Harness.start({ timeScale }): expected at most 1',
    );
  });
});
