/**
 * Free ports on 127.0.0.1 and waiting for a port to close again.
 *
 * @example
 * const port = await freePort();
 */
import { createConnection, createServer } from 'node:net';

/** A port the OS just handed out on 127.0.0.1 (released again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the OS'))));
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until nothing listens on `port` any more; throws after `timeoutMs`. */
export async function waitPortFree(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isListening(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still in use ${timeoutMs} ms after stop`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
