/**
 * A scenario made to fail on purpose produces a report that says why in one glance: the failing step, the
 * reason with the last observed state, and the evidence attached to that step. Runs the real cucumber-js
 * with the real step library against the sandbox, and reads the reports it writes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'failure-report-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Envelope {
  testStepFinished?: { testStepId: string; testStepResult: { status: string; message?: string } };
  attachment?: { testStepId?: string; mediaType: string; body: string; fileName?: string };
  pickle?: { steps: { id: string; text: string }[] };
  testCase?: { testSteps: { id: string; pickleStepId?: string }[] };
}

describe('a scenario that fails on purpose', () => {
  it('reports the failing step, the reason with the last answers, and the evidence on that step', async () => {
    const run = await promisify(execFile)(
      join(root, 'node_modules', '.bin', 'cucumber-js'),
      [
        '--config',
        join('test', 'e2e', 'fixtures', 'failure-demo.cucumber.json'),
        '--format',
        `message:${join(out, 'messages.ndjson')}`,
        '--format',
        `html:${join(out, 'report.html')}`,
      ],
      { cwd: root, env: { ...process.env, HARNESS_TIMEOUT_LIVE: '3s', CI: 'true' }, timeout: 170_000 },
    ).catch((e: { code: number; stdout: string }) => e);
    expect((run as { code?: number }).code).toBe(1); // the scenario failed, as it should

    const envelopes: Envelope[] = readFileSync(join(out, 'messages.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const texts = new Map(
      envelopes.flatMap((e) => e.pickle?.steps.map((s) => [s.id, s.text] as const) ?? []),
    );
    const stepText = new Map(
      envelopes.flatMap(
        (e) => e.testCase?.testSteps.map((s) => [s.id, texts.get(s.pickleStepId ?? '')] as const) ?? [],
      ),
    );
    const failed = envelopes.find((e) => e.testStepFinished?.testStepResult.status === 'FAILED')!
      .testStepFinished!;
    // The step, in the reviewer's words.
    expect(stepText.get(failed.testStepId)).toBe(
      'every instance behind the load balancer serves version "v-never-released"',
    );
    // Why, in one line: the expected version, how long, and what the load balancer answered instead.
    expect(failed.testStepResult.message).toMatch(/v-never-released/);
    expect(failed.testStepResult.message).toMatch(/still serving another version: i-[0-9a-f]+=v1-/);
    expect(failed.testStepResult.message).toMatch(/after 3s/);
    // The evidence, attached by the After hook of that scenario: the last responses (the last observed state of a
    // live check), the pipeline state, and the teardown that still ran.
    const attachments = envelopes.flatMap((e) => (e.attachment ? [e.attachment] : []));
    const names = attachments.map((a) => a.fileName ?? a.mediaType);
    expect(names).toEqual(expect.arrayContaining(['pipeline-state.json', 'teardown.json']));
    const responses = attachments.find((a) => a.body.includes('The last responses of the load balancer'));
    expect(responses?.body).toMatch(/\| 200 \| i-[0-9a-f]+ \| v1-/);
    // No approval token anywhere in the report.
    expect(readFileSync(join(out, 'messages.ndjson'), 'utf8')).not.toMatch(/"token"/);
    expect(readFileSync(join(out, 'report.html'), 'utf8').length).toBeGreaterThan(10_000);
  }, 180_000);
});
