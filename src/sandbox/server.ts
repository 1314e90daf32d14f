/**
 * The sandbox's one edge port on 127.0.0.1. Order per request: service routes (git smart HTTP, the
 * load-balancer data plane, build logs), then `/_sandbox/*` control routes, then AWS API dispatch.
 * Whatever goes wrong, the client gets an AWS-shaped error and the server keeps serving; `close()` ends
 * keep-alive connections too, so the port is free the moment it resolves.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Dispatcher, edgeError } from './protocol/dispatch.ts';
import { ServiceError } from './protocol/errors.ts';
import { queryError } from './protocol/query.ts';
import type { ApiResponse } from './protocol/wire.ts';
import type { HttpRoute } from './types.ts';

/** 10 MiB: far above any API request the five services take (pipeline declarations are < 1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface EdgeServerOptions {
  /** Raw routes checked first (read on each request, so services may add routes later). */
  routes: () => readonly HttpRoute[];
  /** The `/_sandbox/*` routes. */
  control: HttpRoute;
  /** Set once the services exist; until then API calls get a 503. */
  dispatcher?: Dispatcher;
  /** @default DEFAULT_MAX_BODY_BYTES (10 MiB) */
  maxBodyBytes?: number;
  /** Unexpected failures (for logs); the client already got a 500. */
  onError?: (error: unknown, where: string) => void;
}

/** Thrown while reading a body larger than the limit. */
class BodyTooLarge extends Error {}

/** The client hung up mid-request: nobody to answer, nothing to log. */
class ClientAborted extends Error {}

/** Reads a request body up to `limit` bytes; rejects with {@link BodyTooLarge} beyond it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new ClientAborted('request aborted by the client')));
  });
}

function send(res: ServerResponse, answer: ApiResponse, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    ...answer.headers,
    'content-length': Buffer.byteLength(answer.body),
  };
  if (close) headers.connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** The URL of a request, tolerating odd request targets (`*`, absolute-form, garbage). */
function requestUrl(req: IncomingMessage): URL {
  const raw = req.url ?? '/';
  try {
    return new URL(raw.startsWith('/') ? `http://sandbox${raw}` : raw, 'http://sandbox/');
  } catch {
    return new URL('http://sandbox/');
  }
}

export class EdgeServer {
  readonly server: Server;
  dispatcher: Dispatcher | undefined;
  readonly #options: EdgeServerOptions;
  readonly #sockets = new Set<Socket | Duplex>();
  #closing: Promise<void> | undefined;

  constructor(options: EdgeServerOptions) {
    this.#options = options;
    this.dispatcher = options.dispatcher;
    this.server = createServer({ requestTimeout: 120_000, headersTimeout: 30_000 }, (req, res) => {
      this.#serve(req, res).catch((error) => this.#fail(req, res, error, 'edge'));
    });
    this.server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // Malformed HTTP (bad request line, header overflow, ...) never reaches the handler: answer it in AWS shape.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable || error.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? 431 : 400;
      const answer = queryError(
        new ServiceError(
          tooLarge ? 'RequestHeaderFieldsTooLarge' : 'MalformedHttpRequest',
          tooLarge
            ? 'The request headers are larger than 16 KiB'
            : `The HTTP request could not be parsed (${error.code ?? error.message})`,
          { status },
        ),
        randomUUID(),
      );
      const head =
        `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        Object.entries(answer.headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        `content-length: ${Buffer.byteLength(answer.body)}\r\nconnection: close\r\n\r\n`;
      socket.end(head + answer.body);
    });
  }

  /** Listens on 127.0.0.1:`port` (0 = a free port); resolves with the port. Rejects naming the port when taken. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new Error(
            error.code === 'EADDRINUSE'
              ? `sandbox port ${port} on 127.0.0.1 is already in use; pass another port or 0 for a free one`
              : `sandbox could not listen on 127.0.0.1:${port}: ${error.message}`,
            { cause: error },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting, ends every open connection (keep-alive included) and resolves when the port is free. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    for (const route of this.#options.routes()) {
      if (route.match(req, url)) {
        await route.handle(req, res, url);
        return;
      }
    }
    if (this.#options.control.match(req, url)) {
      await this.#options.control.handle(req, res, url);
      return;
    }
    const limit = this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        const tooLarge = new ServiceError(
          'RequestEntityTooLarge',
          `The request body is larger than ${limit} bytes`,
          {
            status: 413,
          },
        );
        send(res, edgeError(req.headers, tooLarge), true);
        // Stop reading whatever else the client sends; the connection is closed after the answer.
        res.once('finish', () => req.socket.destroy());
        return;
      }
      throw error;
    }
    if (!this.dispatcher) {
      send(
        res,
        edgeError(
          req.headers,
          new ServiceError('ServiceUnavailable', 'The sandbox is starting', { status: 503 }),
        ),
      );
      return;
    }
    send(res, await this.dispatcher.handle({ method: req.method ?? 'GET', url, headers: req.headers, body }));
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown, where: string): void {
    if (error instanceof ClientAborted || req.destroyed) {
      res.destroy();
      return;
    }
    this.#options.onError?.(error, where);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const internal = new ServiceError(
      'InternalFailure',
      `The sandbox failed: ${(error as Error)?.message ?? String(error)}`,
      {
        status: 500,
      },
    );
    send(res, edgeError(req.headers, internal));
  }
}
