/**
 * The ALB data plane on the edge port: a request whose Host is a load balancer's DNSName (with or without a
 * port) goes to that load balancer's HTTP listener and is proxied round-robin to the healthy targets of the
 * forwarded target group(s), as https://docs.aws.amazon.com/elasticloadbalancing/latest/application/ describes
 * (aws-semantics 4.8).
 *
 * Every listener is reached through the one edge port, so the listener is chosen as: the port in the
 * `x-sandbox-listener-port` request header when given, else the listener on port 80, else the lowest port.
 */
import { randomBytes } from 'node:crypto';
import type { Agent, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpRoute, SandboxRuntime } from '../types.ts';
import type { TargetAddress } from './health.ts';
import type { Action, Elbv2Store, ListenerRecord, TargetGroupRecord, TargetRecord } from './store.ts';
import type { TargetManager } from './targets.ts';

// Not `import { Agent, request } from 'node:http'`: the ESM view of node:http reads every export, and its lazy
// `WebSocket`/`CloseEvent`/`MessageEvent` getters load Node's bundled undici, ~20 ms of a cold start (this module
// loads with the sandbox, as server.ts does).
const http = process.getBuiltinModule('node:http');

/** Request header that picks a listener by port when a load balancer has several (sandbox-only). */
export const LISTENER_PORT_HEADER = 'x-sandbox-listener-port';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  LISTENER_PORT_HEADER,
]);

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

export interface LoadBalancerProxyOptions {
  runtime: SandboxRuntime;
  store: Elbv2Store;
  targets: TargetManager;
  /**
   * How long a target may take to answer before the client gets a 504, in real ms.
   * @default from the load balancer's `idle_timeout.timeout_seconds` (see {@link idleTimeoutMs})
   */
  idleTimeoutMs?: number;
}

/**
 * The data plane as an edge-server route.
 *
 * @example
 * const proxy = new LoadBalancerProxy({ runtime, store, targets });
 * if (proxy.match(req)) proxy.handle(req, res); // Host: web-alb-123456789.elb.localhost:4566
 * proxy.close(); // on stop: upstream sockets closed
 */
export class LoadBalancerProxy implements HttpRoute {
  readonly #options: LoadBalancerProxyOptions;
  readonly #agents = new Map<string, Agent>();
  readonly #counters = new Map<string, number>();
  #closing = new AbortController();

  constructor(options: LoadBalancerProxyOptions) {
    this.#options = options;
  }

  match(req: IncomingMessage): boolean {
    return this.#loadBalancerOf(req) !== undefined;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const problem = this.#dispatch(req, res);
    if (problem) lbError(res, problem[0], problem[1]);
  }

  /** Answers or forwards the request; returns the status and cause of an LB-generated error instead. */
  #dispatch(req: IncomingMessage, res: ServerResponse): [number, string] | undefined {
    const lb = this.#loadBalancerOf(req);
    if (!lb) return [503, 'the load balancer was deleted'];
    const listener = this.#listenerFor(lb.arn, req);
    if (listener && listener.protocol !== 'HTTP') {
      return [
        503,
        `the ${listener.protocol} listener on port ${listener.port} is not served locally (no TLS); use an HTTP listener`,
      ];
    }
    if (!listener) {
      return [503, `load balancer '${lb.name}' has no matching HTTP listener`];
    }
    const action = terminalAction(listener.defaultActions);
    if (action?.Type === 'fixed-response' && action.FixedResponseConfig) {
      const c = action.FixedResponseConfig;
      const body = c.MessageBody ?? '';
      res.writeHead(Number(c.StatusCode), {
        Server: 'awselb/2.0',
        'Content-Type': c.ContentType ?? 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
      return undefined;
    }
    if (action?.Type === 'redirect' && action.RedirectConfig) {
      res.writeHead(action.RedirectConfig.StatusCode === 'HTTP_301' ? 301 : 302, {
        Server: 'awselb/2.0',
        Location: redirectLocation(action.RedirectConfig, req, listener),
        'Content-Length': 0,
      });
      res.end();
      return undefined;
    }
    if (action?.Type !== 'forward') return [503, 'the listener has no forward action'];
    const tg = this.#pickTargetGroup(listener, action);
    if (!tg) return [503, 'no target group with a weight above 0'];
    const target = this.#pickTarget(tg);
    if (!target) return [503, `target group '${tg.name}' has no registered, routable targets`];
    const address = this.#options.targets.address(tg, target);
    if (!address) return [502, `target '${target.id}' no longer exists`];
    const idleSeconds = Number(lb.attributes.get('idle_timeout.timeout_seconds') ?? '60');
    const timeoutMs =
      this.#options.idleTimeoutMs ??
      idleTimeoutMs(idleSeconds, this.#options.runtime.clock.scaled(idleSeconds));
    this.#forward(req, res, listener, address, timeoutMs, false);
    return undefined;
  }

  /** Closes every upstream connection and aborts requests in flight. */
  close(): void {
    this.#closing.abort(new Error('load balancer stopped'));
    this.#closing = new AbortController();
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
    this.#counters.clear();
  }

  #loadBalancerOf(req: IncomingMessage) {
    const host = req.headers.host;
    if (!host) return undefined;
    const name = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    if (!name.endsWith('.elb.localhost')) return undefined;
    return this.#options.store.loadBalancerByDnsName(name);
  }

  #listenerFor(lbArn: string, req: IncomingMessage): ListenerRecord | undefined {
    const all = this.#options.store.listenersOf(lbArn);
    const wanted = req.headers[LISTENER_PORT_HEADER];
    if (typeof wanted === 'string') return all.find((l) => l.port === Number(wanted));
    const listeners = all.filter((l) => l.protocol === 'HTTP');
    return listeners.find((l) => l.port === 80) ?? listeners.sort((a, b) => a.port - b.port)[0];
  }

  /** Weighted round robin over the forward action's target groups (ForwardConfig weights). */
  #pickTargetGroup(listener: ListenerRecord, action: Action): TargetGroupRecord | undefined {
    const groups = (
      action.ForwardConfig?.TargetGroups ?? [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }]
    )
      .map((g) => ({
        tg: this.#options.store.targetGroups.get(g.TargetGroupArn ?? ''),
        weight: g.Weight ?? 1,
      }))
      .filter((g) => g.tg && g.weight > 0);
    const total = groups.reduce((sum, g) => sum + g.weight, 0);
    if (total === 0) return undefined;
    let n = this.#next(`listener|${listener.arn}`) % total;
    for (const g of groups) {
      if (n < g.weight) return g.tg;
      n -= g.weight;
    }
    return groups[0]?.tg;
  }

  /**
   * Healthy targets round robin; draining targets never get new requests. No healthy target: fail open to every
   * registered target — unless they are all still `initial`, which answers 503 (aws-semantics 4.8).
   */
  #pickTarget(tg: TargetGroupRecord): TargetRecord | undefined {
    // Targets whose instance is gone (terminated) are not routable at all.
    const registered = [...tg.targets.values()].filter(
      (t) => t.state !== 'draining' && this.#options.targets.address(tg, t) !== undefined,
    );
    const healthy = registered.filter((t) => t.state === 'healthy');
    const pool =
      healthy.length > 0 ? healthy : registered.every((t) => t.state === 'initial') ? [] : registered;
    if (pool.length === 0) return undefined;
    return pool[this.#next(`tg|${tg.arn}`) % pool.length];
  }

  #next(key: string): number {
    const n = this.#counters.get(key) ?? 0;
    this.#counters.set(key, n + 1);
    return n;
  }

  #agent(address: TargetAddress): Agent {
    const key = `${address.host}:${address.port}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    listener: ListenerRecord,
    address: TargetAddress,
    idleMs: number,
    retried: boolean,
  ): void {
    const { clock } = this.#options.runtime;
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    const client = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${xff}, ${client}` : client;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-port'] = String(listener.port);
    if (!req.headers['x-amzn-trace-id']) {
      headers['x-amzn-trace-id'] =
        `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
    }
    const done = new AbortController();
    const timedOut = new AbortController();
    clock.sleep(idleMs, AbortSignal.any([done.signal, this.#closing.signal])).then(
      () => timedOut.abort(new Error('target timed out')),
      () => {},
    );
    const upstream = http.request({
      host: address.host,
      port: address.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.#agent(address),
      signal: AbortSignal.any([timedOut.signal, this.#closing.signal]),
    });
    // Only a request without a body can be replayed: its body stream was consumed by the first attempt.
    const bodyless =
      (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') &&
      !req.headers['transfer-encoding'] &&
      Number(req.headers['content-length'] ?? '0') === 0;
    upstream.on('response', (upRes) => {
      done.abort();
      if (res.destroyed) {
        upRes.destroy();
        return;
      }
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(upRes.headers))
        if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      done.abort();
      // A kept-alive socket the target closed at the same moment: retry a body-less request once on a fresh one.
      if (!retried && bodyless && upstream.reusedSocket && !res.headersSent && !timedOut.signal.aborted) {
        this.#forward(req, res, listener, address, idleMs, true);
        return;
      }
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      if (timedOut.signal.aborted)
        lbError(res, 504, `target ${address.host}:${address.port} did not answer in time`);
      else lbError(res, 502, `target ${address.host}:${address.port}: ${error.code ?? error.message}`);
    });
    res.on('close', () => {
      done.abort();
      if (!res.writableFinished) upstream.destroy();
    });
    if (bodyless && retried) upstream.end();
    else req.pipe(upstream);
  }
}

/**
 * The ALB idle timeout (`idle_timeout.timeout_seconds`, default 60 s) under the time scale, but never below
 * 5 s of real time unless the configured timeout itself is shorter: targets are real processes answering in real
 * time, and a 60 s timeout scaled to 0.6 s would cut ordinary requests.
 *
 * @example
 * idleTimeoutMs(60, clock.scaled(60)); // 5000 at timeScale 0.01; 60000 at 1
 */
export function idleTimeoutMs(seconds: number, scaledMs: number): number {
  return Math.max(scaledMs, Math.min(5000, seconds * 1000));
}

function terminalAction(actions: readonly Action[]): Action | undefined {
  const ordered = [...actions].sort((a, b) => (a.Order ?? 50001) - (b.Order ?? 50001));
  return ordered.find((a) => a.Type === 'forward' || a.Type === 'redirect' || a.Type === 'fixed-response');
}

function redirectLocation(
  c: NonNullable<Action['RedirectConfig']>,
  req: IncomingMessage,
  listener: ListenerRecord,
): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
  const fill = (template: string) =>
    template
      .replaceAll('#{protocol}', 'http')
      .replaceAll('#{host}', host)
      .replaceAll('#{port}', String(listener.port))
      .replaceAll('#{path}', url.pathname.slice(1))
      .replaceAll('#{query}', url.search.slice(1));
  const protocol = fill(c.Protocol ?? '#{protocol}').toLowerCase();
  const port = fill(c.Port ?? '#{port}');
  const path = fill(c.Path ?? '/#{path}');
  const query = fill(c.Query ?? '#{query}');
  return `${protocol}://${fill(c.Host ?? '#{host}')}:${port}${path}${query ? `?${query}` : ''}`;
}

/** A response the load balancer itself generates: ALB's small HTML page and `Server: awselb/2.0`. */
function lbError(res: ServerResponse, status: number, why: string): void {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n<!-- sandbox: ${why.replaceAll('--', '- -')} -->\r\n`;
  res.writeHead(status, {
    Server: 'awselb/2.0',
    'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
