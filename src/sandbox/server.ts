/**
 * The sandbox's one edge port on 127.0.0.1. Order per request: the `Host` allow-list (auth/), then who is
 * calling — nobody for a load balancer's listener (a public ALB), Basic git credentials for git smart HTTP,
 * a SigV4 signature with the sandbox's credentials for everything else — and only then service routes (git,
 * the load-balancer data plane, build logs), `/_sandbox/*` control routes, AWS API dispatch. Faults come after
 * authentication (in the dispatcher): AWS throttles an account's calls, so it knows the caller first, and an
 * unsigned call is refused, never throttled. Whatever goes wrong, the client gets an AWS-shaped error and the
 * server keeps serving; `close()` ends keep-alive connections too, so the port is free the moment it resolves.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type AuthFailure,
  type AuthProtocol,
  authErrorResponse,
  checkHost,
  credentialScope,
  DEFAULT_CREDENTIALS,
  type SandboxCredentials,
  verifyGitCredentials,
  verifySignature,
} from './auth/index.ts';
import { type Dispatcher, edgeError, looksJson } from './protocol/dispatch.ts';
import { ServiceError } from './protocol/errors.ts';
import { queryError } from './protocol/query.ts';
import type { ApiResponse } from './protocol/wire.ts';
import type { HttpRoute } from './types.ts';

// Not `import { createServer } from 'node:http'`: the ESM view of node:http reads every export, and its lazy
// `WebSocket`/`CloseEvent`/`MessageEvent` getters load Node's bundled undici, ~20 ms of a cold start. The
// saving is realised once no module the sandbox loads at start imports node:http as ESM.
const { createServer } = process.getBuiltinModule('node:http');

/** 10 MiB: far above any API request the five services take (pipeline declarations are < 1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface EdgeServerOptions {
  /** Raw routes checked first (read on each request, so services may add routes later). */
  routes: () => readonly HttpRoute[];
  /** The `/_sandbox/*` routes; they get the body the server read to check its signature. */
  control: ControlRoute;
  /** Set once the services exist; until then API calls get a 503. */
  dispatcher?: Dispatcher;
  /** @default DEFAULT_MAX_BODY_BYTES (10 MiB) */
  maxBodyBytes?: number;
  /** Unexpected failures (for logs); the client already got a 500. */
  onError?: (error: unknown, where: string) => void;
  /** The only credentials API, control and git requests may be signed with. @default test/test */
  credentials?: SandboxCredentials;
  /**
   * Regions a git password (`aws codecommit credential-helper`) may be scoped to besides the one in the URL
   * (git's password does not name it). @default ['us-east-1']
   */
  gitRegions?: () => readonly string[];
}

/** A route that takes the body the edge server already read (to verify its signature). */
export interface ControlRoute extends HttpRoute {
  handle(req: IncomingMessage, res: ServerResponse, url: URL, body?: Buffer): void | Promise<void>;
}

/** `/_sandbox/…`, also under a region prefix (a build log of another region): refused in the control shape. */
const CONTROL_PATH = /^(?:\/[a-z]{2}(?:-[a-z]+)+-\d{1,2})?\/_sandbox(?:\/|$)/;

/** `/v1/repos/<name>…` or, in another region, `/<region>/v1/repos/<name>…`: git smart HTTP. */
const GIT_PATH = /^(?:\/([a-z]{2}(?:-[a-z]+)+-\d{1,2}))?(\/v1\/repos\/.*)$/;

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

function plainText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Whether a request announces a body (a length above 0, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The protocol an API request speaks, for the shape of its refusal: JSON 1.1 or Query. */
function apiProtocol(req: IncomingMessage, url: URL, body: Buffer): AuthProtocol {
  if (looksJson(req.headers)) return 'json';
  if (credentialScope(req.headers, url)?.service === 's3') return 's3';
  const form = body.length > 0 && body.length < 1_000_000 ? body.toString('latin1') : '';
  return url.searchParams.has('Action') || /(?:^|&)Action=/.test(form) || url.pathname === '/'
    ? 'query'
    : 's3';
}

export class EdgeServer {
  readonly server: Server;
  dispatcher: Dispatcher | undefined;
  readonly #options: EdgeServerOptions;
  readonly #sockets = new Set<Socket | Duplex>();
  readonly #credentials: SandboxCredentials;
  #closing: Promise<void> | undefined;
  /** The bound port, which `Host` must name. */
  #port = 0;

  constructor(options: EdgeServerOptions) {
    this.#options = options;
    this.#credentials = options.credentials ?? DEFAULT_CREDENTIALS;
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
        this.#port = typeof address === 'object' && address ? address.port : port;
        resolve(this.#port);
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
    const host = checkHost(req.headers.host, this.#port);
    if (host.kind === 'refused') {
      // Before any work, and the connection closed: nothing of the request is read.
      const refused = new ServiceError('InvalidHostHeader', host.message, { status: 403 });
      send(res, edgeError(req.headers, refused), true);
      res.once('finish', () => req.socket.destroy());
      return;
    }
    const routes = this.#options.routes();
    if (host.kind === 'load-balancer') {
      // A load balancer's listener: public, like an internet-facing ALB; nothing else is reached by this Host.
      const route = routes.find((r) => r.match(req, url));
      if (route) {
        await route.handle(req, res, url);
        return;
      }
      req.resume();
      plainText(res, 503, `No load balancer with DNS name ${host.name} in this sandbox\n`);
      return;
    }
    const git = GIT_PATH.exec(url.pathname);
    if (git) {
      if (!(await this.#gitAllowed(req, res, git[1], url.pathname))) return;
      const gitRoute = routes.find((r) => r.match(req, url));
      if (gitRoute) {
        await gitRoute.handle(req, res, url);
        return;
      }
      req.resume();
      plainText(res, 404, `No git repository at ${url.pathname.slice(0, 200)} in this sandbox\n`);
      return;
    }
    const route = routes.find((r) => r.match(req, url));
    const control = !route && this.#options.control.match(req, url);
    const limit = this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (route) {
      // A raw route streams its own body: the signature covers it through a signed x-amz-content-sha256 (S3
      // requires one), or there is none (GET of a build log).
      const failure = await verifySignature(
        {
          method: req.method ?? 'GET',
          target: req.url ?? '/',
          headers: req.headers,
          ...(hasBody(req) ? {} : { body: Buffer.alloc(0) }),
        },
        this.#credentials,
      );
      if (failure) {
        this.#refuse(req, res, failure, CONTROL_PATH.test(url.pathname) ? 'control' : 's3');
        return;
      }
      await route.handle(req, res, url);
      return;
    }
    // What can be refused from the headers is refused before the body is read: it is drained, never buffered.
    const early = await verifySignature(
      { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers },
      this.#credentials,
      { headersOnly: true },
    );
    if (early) {
      this.#refuse(req, res, early, control ? 'control' : apiProtocol(req, url, Buffer.alloc(0)));
      return;
    }
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
    const failure = await verifySignature(
      { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body },
      this.#credentials,
    );
    if (failure) {
      this.#refuse(req, res, failure, control ? 'control' : apiProtocol(req, url, body));
      return;
    }
    if (control) {
      await this.#options.control.handle(req, res, url, body);
      return;
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

  /** Answers a refused signature in the request's protocol. */
  #refuse(req: IncomingMessage, res: ServerResponse, failure: AuthFailure, protocol: AuthProtocol): void {
    const s3 = protocol === 's3' || credentialScope(req.headers, requestUrl(req))?.service === 's3';
    send(res, authErrorResponse(failure, s3 && protocol !== 'control' ? 's3' : protocol, randomUUID()));
    // A streamed body nobody will read: drain it so the connection can answer the next request.
    req.resume();
  }

  /**
   * CodeCommit's git endpoint (§4.3): no credentials → 401 with a Basic challenge (git then asks its credential
   * helper), wrong ones → 403. Resolves whether the request may go on.
   */
  async #gitAllowed(
    req: IncomingMessage,
    res: ServerResponse,
    region: string | undefined,
    path: string,
  ): Promise<boolean> {
    const regions = [
      ...new Set([...(region ? [region] : []), ...(this.#options.gitRegions?.() ?? ['us-east-1'])]),
    ];
    const failure = await verifyGitCredentials(req.headers, path, this.#credentials, { regions });
    if (!failure) return true;
    req.resume();
    if (failure === 'missing') {
      res.setHeader('www-authenticate', 'Basic realm="codepipeline-harness sandbox git"');
      plainText(
        res,
        401,
        'git over HTTP needs the sandbox credentials: the access key id as user name and, as password, the secret ' +
          "access key or the password of `aws codecommit credential-helper` (see the README's sandbox section)\n",
      );
    } else {
      plainText(
        res,
        403,
        "The git credentials are not the sandbox's (user: its access key id; password: its secret access key or a SigV4 git password)\n",
      );
    }
    return false;
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
