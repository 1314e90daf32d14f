import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHandler, readRelease } from '../lib/app.js';

async function serve(release) {
  const server = createServer(createHandler({ ...release, instanceId: 'i-test' }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  return `http://127.0.0.1:${server.address().port}`;
}

describe('demo app', () => {
  it('serves the version on / and /version with the version and instance headers', async () => {
    const base = await serve({ version: 'v7', healthy: true });
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /awscicd demo app — v7/);
    assert.equal(page.headers.get('x-app-version'), 'v7');
    assert.equal(page.headers.get('x-instance-id'), 'i-test');
    const version = await fetch(`${base}/version`);
    assert.deepEqual(await version.json(), { version: 'v7', instanceId: 'i-test' });
    assert.equal(version.headers.get('x-app-version'), 'v7');
  });

  it('answers /health 200 when healthy and 500 when the health switch is off', async () => {
    const good = await serve({ version: 'v1', healthy: true });
    assert.equal((await fetch(`${good}/health`)).status, 200);
    const bad = await serve({ version: 'v1', healthy: false });
    const res = await fetch(`${bad}/health`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-app-version'), 'v1');
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    const base = await serve({ version: 'v1', healthy: true });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
  });

  it('reads the version file and the health switch, and names the file when one is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'app-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'VERSION'), 'v9\n');
    writeFileSync(join(dir, 'config', 'health.json'), '{"healthy": false}');
    assert.deepEqual(readRelease(dir), { version: 'v9', healthy: false });
    writeFileSync(join(dir, 'config', 'health.json'), '{"healthy": "no"}');
    assert.throws(() => readRelease(dir), /config\/health.json/);
    writeFileSync(join(dir, 'VERSION'), '\n');
    assert.throws(() => readRelease(dir), /VERSION .* is empty/);
  });
});
