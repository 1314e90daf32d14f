// awscicd demo app: `PORT` (default 80) and `INSTANCE_ID` (default: the host name) from the environment.
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHandler, readRelease } from './lib/app.js';

const port = Number(process.env.PORT ?? 80);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer 0-65535 (got "${process.env.PORT}")`);
  process.exit(2);
}
const release = readRelease(dirname(fileURLToPath(import.meta.url)));
const instanceId = process.env.INSTANCE_ID || hostname();
const server = createServer(createHandler({ ...release, instanceId }));
// Keep idle connections open longer than the load balancer does (ALB idle timeout: 60 s by default), so the ALB
// never reuses a connection the app has just closed: AWS documents that a target keep-alive shorter than the
// load balancer's idle timeout causes intermittent 502s ("Troubleshoot your Application Load Balancers", HTTP
// 502). headersTimeout must exceed keepAliveTimeout, as Node requires for idle sockets.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  console.log(`awscicd demo app ${release.version} on port ${server.address().port} (instance ${instanceId})`);
});
const shutdown = () => server.close(() => process.exit(0)).closeAllConnections();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
