/**
 * The contract between the sandbox's edge server, its codecs and its services.
 *
 * A service is a class with a store and a table of handlers: a handler gets the decoded, model-validated
 * input (member names exactly as in the service model; timestamps as `Date`, blobs as `Buffer`) and returns
 * the output object (same naming; `Date` for timestamps; omit absent members) or throws a `ServiceError`.
 * It never sees HTTP, JSON or XML.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from './clock.ts';
import type { EventLog } from './events.ts';
import type { ProcessTracker } from './processes.ts';

export type ServiceName =
  | 'codepipeline'
  | 'codedeploy'
  | 'elbv2'
  | 'autoscaling'
  | 'codecommit'
  | 'codebuild'
  | 'logs';

/** Per-request facts a handler may need. */
export interface RequestContext {
  readonly requestId: string;
  readonly region: string;
  readonly accountId: string;
}

export type Handler = (input: any, ctx: RequestContext) => unknown;

/** A raw HTTP route on the edge port (git smart HTTP, load-balancer data plane, build logs). */
export interface HttpRoute {
  /** Returns true when this route takes the request. Checked before API dispatch. */
  match(req: IncomingMessage, url: URL): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>;
}

export interface SandboxService {
  readonly name: ServiceName;
  /** Operation name (as in the model) → handler. An operation absent here answers a clear "not implemented". */
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly routes?: readonly HttpRoute[];
  /** Forget every resource (ends the processes and timers they own). */
  reset(): Promise<void>;
  /** End every process, timer and socket the service owns. Idempotent. */
  stop(): Promise<void>;
}

/** What every service shares: identity, time, event log, processes, files and the edge address. */
export interface SandboxRuntime {
  readonly accountId: string;
  readonly region: string;
  readonly clock: Clock;
  readonly events: EventLog;
  readonly processes: ProcessTracker;
  /** A directory owned by this sandbox; removed by `stop()` unless the caller passed `dataDir`. */
  readonly dataDir: string;
  /** `http://127.0.0.1:<port>` once the edge server listens. */
  edgeUrl(): string;
  /** The edge port once listening. */
  edgePort(): number;
}
