/**
 * The contract between the sandbox's edge server, its codecs and its services.
 *
 * A service is a class with a store and a table of handlers: a handler gets the decoded, model-validated
 * input (member names exactly as in the service model; timestamps as `Date`, blobs as `Buffer`) and returns
 * the output object (same naming; `Date` for timestamps; omit absent members) or throws a `ServiceError`.
 * It never sees HTTP, JSON or XML. Typed services declare their table as {@link Handlers} over the SDK's
 * `<Op>Input` / `<Op>Output` types (see `elbv2/operations.ts`); the others still use {@link Handler}.
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
  | 'logs'
  | 'cloudformation'
  | 's3'
  | 'events'
  | 'sqs';

/** Per-request facts a handler may need. */
export interface RequestContext {
  readonly requestId: string;
  readonly region: string;
  readonly accountId: string;
}

/**
 * An untyped handler. Services not yet typed use it; a typed table ({@link Handlers}) is assignable to a
 * `Record<string, Handler>`, so both kinds plug into {@link SandboxService}.
 */
export type Handler = (input: any, ctx: RequestContext) => unknown;

/** The input and output an operation's handler takes and returns: the SDK's `<Op>Input` / `<Op>Output`. */
export interface Operation<Input extends object, Output extends object> {
  readonly input: Input;
  readonly output: Output;
}

/** Operation name (as in the model) → its {@link Operation}: one service's API, as its handlers see it. */
export type OperationMap<Ops> = { readonly [K in keyof Ops]: Operation<object, object> };

/** Keys whose members the SDK declares without `?` (the model's required members, typed `X | undefined`). */
type RequiredKeys<T> = { [K in keyof T]-?: Pick<T, K> extends Required<Pick<T, K>> ? K : never }[keyof T];

type Leaf = string | number | boolean | bigint | symbol | Date | Uint8Array | null | undefined;

/**
 * An SDK input type as the dispatcher hands it over: model-validated, so the members the model requires are
 * present (the SDK types them `X | undefined` for clients), at every depth. Optional members stay optional.
 *
 * @example
 * type In = Validated<CreateTargetGroupInput>; // In['Name'] is `string`, In['Port'] is `number | undefined`
 */
export type Validated<T> = T extends Leaf
  ? T
  : T extends readonly (infer E)[]
    ? Validated<E>[]
    : T extends object
      ? { [K in keyof T]: K extends RequiredKeys<T> ? Validated<NonNullable<T[K]>> : Validated<T[K]> }
      : T;

/**
 * The handler of one operation: the validated SDK input in, the SDK output (or its promise) out; AWS errors are
 * thrown as `ServiceError`. A misspelt input member is a compile error; so is a misspelt output member once
 * the handler declares its return type ({@link OutputOf}).
 */
export type OperationHandler<O extends Operation<object, object>> = (
  input: Validated<O['input']>,
  ctx: RequestContext,
) => O['output'] | Promise<O['output']>;

/**
 * A typed handler table: one {@link OperationHandler} per operation of `Ops` (pass `Pick<Ops, ...>` for the
 * part of a service one file serves). Assignable to {@link SandboxService.handlers}.
 *
 * @example
 * interface Ops {
 *   DeleteListener: Operation<DeleteListenerInput, DeleteListenerOutput>;
 * }
 * const handlers: Handlers<Ops> = {
 *   DeleteListener(input) { store.listeners.delete(input.ListenerArn); return {}; },
 * };
 */
export type Handlers<Ops extends OperationMap<Ops>> = {
  readonly [K in keyof Ops]: OperationHandler<Ops[K]>;
};

/**
 * The output type of operation `K`. Annotate each handler's return with it: TypeScript checks a returned
 * object literal for unknown members only against a declared return type, not against a contextual one.
 *
 * @example
 * DeleteListener(input): OutputOf<Ops, 'DeleteListener'> { ...; return {}; }
 */
export type OutputOf<Ops extends OperationMap<Ops>, K extends keyof Ops> = Ops[K]['output'];

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
  /** One account id for every region. */
  readonly accountId: string;
  /** The region these services serve (each region has its own services and runtime; src/sandbox/regions.ts). */
  readonly region: string;
  readonly clock: Clock;
  readonly events: EventLog;
  readonly processes: ProcessTracker;
  /** A directory owned by this sandbox; removed by `stop()` unless the caller passed `dataDir`. */
  readonly dataDir: string;
  /**
   * Where this region's raw HTTP routes (git, build logs) are reached: `http://127.0.0.1:<port>/<region>` once the
   * edge server listens (the API endpoint is the same without `/<region>`).
   */
  edgeUrl(): string;
  /** The edge port once listening. */
  edgePort(): number;
}
