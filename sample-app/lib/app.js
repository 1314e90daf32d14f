// The demo app's request handler, kept apart from server.js so the unit tests can drive it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const APP_NAME = 'awscicd demo app';

/**
 * Reads the release facts from the app directory: the version (VERSION, the one file a version bump edits)
 * and the health switch (config/health.json, `{"healthy": false}` makes /health answer 500).
 */
export function readRelease(appDir) {
  const version = readFileSync(join(appDir, 'VERSION'), 'utf8').trim();
  if (!version) throw new Error(`VERSION in ${appDir} is empty: write the release version (e.g. v3) into it`);
  const health = JSON.parse(readFileSync(join(appDir, 'config', 'health.json'), 'utf8'));
  if (typeof health.healthy !== 'boolean') {
    throw new Error(`config/health.json in ${appDir} must hold {"healthy": true|false}`);
  }
  return { version, healthy: health.healthy };
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Returns a `(req, res)` handler serving /, /version and /health with the version and instance headers. */
export function createHandler({ version, healthy, instanceId }) {
  return (req, res) => {
    const headers = { 'x-app-version': version, 'x-instance-id': instanceId, 'cache-control': 'no-store' };
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    const send = (status, type, body) => {
      res.writeHead(status, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(405, 'application/json', JSON.stringify({ error: `method ${req.method} not allowed` }));
    }
    if (path === '/') {
      const title = `${APP_NAME} — ${version}`;
      return send(
        200,
        'text/html; charset=utf-8',
        `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
          `<body><h1>${escapeHtml(title)}</h1><p>instance ${escapeHtml(instanceId)}</p></body></html>\n`,
      );
    }
    if (path === '/version') return send(200, 'application/json', JSON.stringify({ version, instanceId }));
    if (path === '/health') {
      return healthy
        ? send(200, 'application/json', JSON.stringify({ status: 'ok', version }))
        : send(500, 'application/json', JSON.stringify({ status: 'unhealthy', version, reason: 'health switch is off' }));
    }
    return send(404, 'application/json', JSON.stringify({ error: `no route ${path}` }));
  };
}
