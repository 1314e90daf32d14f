/** Free-port reservation on 127.0.0.1 for the instances' apps. */
import { connect, createServer } from 'node:net';

/**
 * Asks the kernel for a free port on 127.0.0.1 (listen on 0, close) that is not in `taken`. The port stays
 * reserved in the caller's set until the instance is terminated; nothing listens on it until a hook starts the app.
 *
 * @example
 * const port = await reservePort(new Set()); // e.g. 41537
 */
export async function reservePort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port > 0 && !taken.has(port)) return port;
  }
  throw new Error('fleet: no free port on 127.0.0.1 after 50 attempts; too many instances or ports in use');
}

/**
 * True when something accepts TCP connections on `port` of 127.0.0.1: how tests and the teardown proof show a
 * terminated instance's port is really closed.
 *
 * @example
 * ```ts
 * expect(await acceptsConnections(instance.port)).toBe(false);
 * ```
 */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
