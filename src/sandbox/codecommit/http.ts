/**
 * Git smart HTTP for `/v1/repos/<name>/...` (the path of a CodeCommit `cloneUrlHttp`), served by
 * `git http-backend` as a CGI: request body streamed in (gzip passed through as HTTP_CONTENT_ENCODING, which
 * http-backend inflates itself), CGI headers parsed (incl. `Status:`), response body streamed out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '../types.ts';
import { gitEnv } from './git.ts';

/** A git HTTP request may legitimately take long (big pushes), but not forever. */
const BACKEND_TIMEOUT_MS = 5 * 60_000;
const MAX_CGI_HEADER_BYTES = 64 * 1024;

export interface GitHttpOptions {
  /** The directory holding `<name>.git` repositories. */
  projectRoot: string;
  /** Whether a repository exists (unknown ones get a 404 before any process starts). */
  exists: (name: string) => boolean;
  /** Runs around a receive-pack (push) so the service can diff refs; must call `run` and return its result. */
  aroundReceivePack: (name: string, run: () => Promise<void>) => Promise<void>;
}

const PREFIX = '/v1/repos/';

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The route; `children` holds the running http-backend processes so stop() can end them. */
export class GitHttpRoute implements HttpRoute {
  readonly children = new Set<ChildProcess>();
  readonly #options: GitHttpOptions;

  constructor(options: GitHttpOptions) {
    this.#options = options;
  }

  match(_req: IncomingMessage, url: URL): boolean {
    return url.pathname.startsWith(PREFIX);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const rest = url.pathname.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    let name: string;
    try {
      name = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    } catch {
      name = ''; // malformed percent-encoding: no such repository
    }
    const tail = slash < 0 ? '' : rest.slice(slash);
    if (!/^[\w.-]{1,100}$/.test(name) || !this.#options.exists(name)) {
      req.resume();
      plain(
        res,
        404,
        `Repository '${name.slice(0, 100)}' not found in the sandbox (create it with CreateRepository first)\n`,
      );
      return;
    }
    const isPush = tail === '/git-receive-pack' && req.method === 'POST';
    if (!isPush) {
      await this.#cgi(req, res, name, tail, url, true);
      return;
    }
    // The response is ended only after the service has diffed the refs and told its listeners, so a
    // `git push` that returned has already been seen (no race between the client and the pipeline trigger).
    try {
      await this.#options.aroundReceivePack(name, () => this.#cgi(req, res, name, tail, url, false));
    } finally {
      if (!res.writableEnded) res.end();
    }
  }

  #cgi(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    tail: string,
    url: URL,
    end: boolean,
  ): Promise<void> {
    const h = (n: string) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    };
    const env = gitEnv({
      GIT_PROJECT_ROOT: this.#options.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: `/${name}.git${tail}`,
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: h('content-type'),
      REMOTE_USER: 'sandbox',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    });
    // Without CONTENT_LENGTH http-backend reads to EOF, which is what a chunked push needs.
    if (req.headers['content-length']) env.CONTENT_LENGTH = h('content-length');
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = h('content-encoding');
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = h('git-protocol');

    return new Promise<void>((resolve) => {
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.children.add(child);
      const timer = setTimeout(() => child.kill('SIGKILL'), BACKEND_TIMEOUT_MS);
      let stderr = '';
      child.stderr.on('data', (d) => {
        if (stderr.length < 4096) stderr += d;
      });
      req.pipe(child.stdin);
      child.stdin.on('error', () => {}); // the backend may stop reading early (e.g. an error answer)
      req.on('aborted', () => child.kill('SIGKILL'));

      let head = Buffer.alloc(0);
      let headersDone = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const crlf = head.indexOf('\r\n\r\n');
        const lf = head.indexOf('\n\n');
        const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
        if (end < 0) {
          if (head.length > MAX_CGI_HEADER_BYTES) child.kill('SIGKILL');
          return;
        }
        headersDone = true;
        const sepLength = end === crlf ? 4 : 2;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const key = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (key === 'status') status = Number.parseInt(value, 10) || 500;
          else headers[key] = value;
        }
        res.writeHead(status, headers);
        const body = head.subarray(end + sepLength);
        if (body.length > 0) res.write(body);
      });
      child.on('error', (error) => {
        plain(res, 500, `git http-backend could not start: ${error.message}\n`);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        this.children.delete(child);
        if (!headersDone) plain(res, 500, `git http-backend failed (exit ${code}): ${stderr.trim()}\n`);
        else if (end) res.end();
        resolve();
      });
    });
  }

  /** Ends every running backend (stop/reset). */
  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
  }
}
