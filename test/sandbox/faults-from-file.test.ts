/**
 * Faults from the start without code: `codepipeline-harness sandbox --faults FILE` (JSON or YAML, the body of
 * PUT /_sandbox/faults) and `HARNESS_SANDBOX_FAULTS` (a file or inline JSON) for the sandbox the steps and
 * `Harness.start` start in-process; and the API call counts a sandbox writes to `HARNESS_SANDBOX_STATS`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSandboxCommand } from '../../src/sandbox/cli.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { rawRequest } from './helpers/http.ts';

const dir = mkdtempSync(join(tmpdir(), 'harness-faults-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the sandbox command until it is ready, returns what it printed and the faults it serves. */
async function runWith(argv: string[], env: Record<string, string> = {}) {
  const controller = new AbortController();
  let out = '';
  let err = '';
  let served: unknown;
  const code = await runSandboxCommand(['--port', '0', ...argv], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    signal: controller.signal,
    onReady: (sandbox) => {
      rawRequest(sandbox.endpoint, { method: 'GET', path: '/_sandbox/faults' }).then(
        (r) => {
          served = JSON.parse(r.body);
          controller.abort();
        },
        () => controller.abort(),
      );
    },
  });
  return { code, out, err, served };
}

describe('codepipeline-harness sandbox --faults', () => {
  it('starts with the faults of a YAML file and says so', async () => {
    const spec = file(
      'chaos.yaml',
      'seed: 7\nrules:\n  - type: throttle\n    rate: 0.3\n  - type: error\n    status: 503\n    rate: 0.05\n' +
        '  - service: codepipeline\n    operation: PutApprovalResult\n    type: error\n    status: 503\n' +
        '    rate: 0.1\n    phase: response\n',
    );
    const { code, out, served } = await runWith(['--faults', spec]);
    expect(code).toBe(0);
    expect(served).toEqual({
      seed: 7,
      rules: [
        { service: '*', operation: '*', type: 'throttle', rate: 0.3, status: 500, latencyMs: 0 },
        { service: '*', operation: '*', type: 'error', rate: 0.05, status: 503, latencyMs: 0 },
        {
          service: 'codepipeline',
          operation: 'PutApprovalResult',
          type: 'error',
          rate: 0.1,
          status: 503,
          latencyMs: 0,
          phase: 'response',
        },
      ],
    });
    expect(out).toContain(
      'Faults: throttle 30% of *:*; error 503 5% of *:*; error 503 10% of codepipeline:PutApprovalResult after handling (seed 7); change them with PUT',
    );
  });

  it('takes a JSON file and inline JSON, and --faults wins over HARNESS_SANDBOX_FAULTS', async () => {
    const json = file('rules.json', JSON.stringify([{ service: 'elbv2', type: 'throttle', rate: 0.5 }]));
    const fromFile = await runWith(['--faults', json], { HARNESS_SANDBOX_FAULTS: '{"rules": []}' });
    expect(fromFile.served).toMatchObject({ rules: [{ service: 'elbv2', rate: 0.5 }] });
    const inline = await runWith(['--faults', '{"rules": [{"type": "latency", "latencyMs": 5}]}']);
    expect(inline.served).toMatchObject({ rules: [{ type: 'latency', latencyMs: 5 }] });
  });

  it('refuses a spec that does not validate or cannot be read, with exit code 2 naming the flag and field', async () => {
    const bad = await runWith(['--faults', file('bad.json', '{"rules": [{"type": "throttle", "rate": 3}]}')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      'sandbox: --faults: invalid fault spec: rules.0.rate: rate must be between 0 and 1',
    );
    const missing = await runWith(['--faults', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`--faults: cannot read the fault spec file ${join(dir, 'nope.yaml')}`);
    const throttleAfter = await runWith(['--faults', '[{"type": "throttle", "phase": "response"}]']);
    expect(throttleAfter.err).toContain(
      'rules.0.phase: a throttle or a denial happens before the request is handled',
    );
  });
});

describe('HARNESS_SANDBOX_FAULTS and HARNESS_SANDBOX_STATS', () => {
  let sandbox: Sandbox | undefined;
  afterAll(() => sandbox?.stop());

  it('gives a sandbox started in-process its faults from a file or inline JSON, unless the code gives its own', async () => {
    const spec = file(
      'env.json',
      JSON.stringify({ seed: 3, rules: [{ type: 'error', status: 503, rate: 0.05 }] }),
    );
    sandbox = await startSandbox({ env: { HARNESS_SANDBOX_FAULTS: spec } });
    expect(sandbox.faults.get()).toMatchObject({ seed: 3, rules: [{ type: 'error', status: 503 }] });
    await sandbox.stop();
    sandbox = await startSandbox({ env: { HARNESS_SANDBOX_FAULTS: '[{"type":"throttle","rate":0.3}]' } });
    expect(sandbox.faults.get().rules).toMatchObject([{ type: 'throttle', rate: 0.3 }]);
    await sandbox.stop();
    sandbox = await startSandbox({ faults: [], env: { HARNESS_SANDBOX_FAULTS: spec } });
    expect(sandbox.faults.get().rules).toEqual([]);
    await sandbox.stop();
    sandbox = undefined;
  });

  it('refuses to start on a wrong HARNESS_SANDBOX_FAULTS, naming it', async () => {
    await expect(
      startSandbox({ env: { HARNESS_SANDBOX_FAULTS: '{"rules": [{"type": "slow"}]}' } }),
    ).rejects.toThrow(/^HARNESS_SANDBOX_FAULTS: invalid fault spec: rules\.0\.type/);
  });

  it('appends the API calls it answered and the faults it injected to HARNESS_SANDBOX_STATS on stop', async () => {
    const stats = join(dir, 'stats', 'sandbox.ndjson');
    for (let i = 0; i < 2; i++) {
      const started = await startSandbox({
        faults: {
          seed: 1,
          rules: [{ service: 'codepipeline', operation: 'ListPipelines', type: 'throttle', rate: 1 }],
        },
        env: { HARNESS_SANDBOX_STATS: stats },
      });
      const call = () =>
        rawRequest(started.endpoint, {
          method: 'POST',
          path: '/',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'CodePipeline_20150709.ListPipelines',
          },
          body: '{}',
          signingService: 'codepipeline',
        });
      expect((await call()).status).toBe(400);
      await started.stop();
    }
    const lines = readFileSync(stats, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      calls: 1,
      throttled: 1,
      errors: 0,
      byOperation: { 'codepipeline:ListPipelines': { calls: 1, throttled: 1, errors: 0 } },
    });
  });
});
