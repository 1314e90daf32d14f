/**
 * Picks the service and operation of an API request, then runs: faults → decode → validate → handler →
 * encode. Every failure becomes the protocol's AWS-shaped error here, in one place.
 *
 * Routing (aws-semantics §1.1, §1.2): JSON 1.1 services by the `X-Amz-Target` prefix; Query services by the
 * form `Action`, the service being told apart by the SigV4 credential scope in `Authorization`
 * (`…/us-east-1/elasticloadbalancing/aws4_request` vs `…/autoscaling/…`), else by `Version`, else by which
 * model has the Action.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { credentialScope } from '../auth/index.ts';
import type { Faults } from '../faults.ts';
import type { RequestContext, SandboxService, ServiceName } from '../types.ts';
import { ServiceError } from './errors.ts';
import { JsonCodec, jsonError } from './json.ts';
import { type ServiceModel, type ServiceRouting, serviceModel, serviceRouting } from './model.ts';
import { QueryCodec, QueryParams, queryError } from './query.ts';
import { validateInput } from './validate.ts';
import { type ApiRequest, type ApiResponse, type Codec, header } from './wire.ts';

/** A service as the dispatcher sees it: its model, its codec and its handlers. */
export interface ServiceBinding {
  readonly service: SandboxService;
  readonly model: ServiceModel;
  readonly codec: Codec;
}

/**
 * A {@link ServiceBinding} whose model and codec are made on first use: a sandbox starts without reading any
 * service model, and the first call to a service reads that one model (a broken model then fails that call with
 * a 500, never the start).
 */
class LazyBinding implements ServiceBinding {
  readonly service: SandboxService;
  readonly routing: ServiceRouting;
  #model: ServiceModel | undefined;
  #codec: Codec | undefined;

  constructor(service: SandboxService, routing: ServiceRouting) {
    this.service = service;
    this.routing = routing;
  }

  get model(): ServiceModel {
    this.#model ??= serviceModel(this.service.name);
    return this.#model;
  }

  get codec(): Codec {
    this.#codec ??= this.routing.protocol === 'json' ? new JsonCodec(this.model) : new QueryCodec(this.model);
    return this.#codec;
  }
}

/** The SigV4 signing names of the Query services (credential scope) → the sandbox service. */
const QUERY_SIGNING_NAMES: Readonly<Record<string, ServiceName>> = {
  elasticloadbalancing: 'elbv2',
  autoscaling: 'autoscaling',
  cloudformation: 'cloudformation',
};

/**
 * Services that validate their own input because AWS answers their own exception codes instead of a
 * generic ValidationException: CodeCommit says `RepositoryNameRequiredException` /
 * `InvalidRepositoryNameException` (CodeCommit API reference, CreateRepository errors), CodeBuild
 * `InvalidInputException`, CloudWatch Logs `InvalidParameterException`.
 */
const SELF_VALIDATING: ReadonlySet<ServiceName> = new Set(['codecommit', 'codebuild', 'logs']);

/**
 * Why `NotImplemented` with 400 for an operation the model has but the sandbox does not serve: a 4xx that
 * is not a throttling code is never retried by SDK v3 or botocore (§1.3), so the caller sees the message at
 * once instead of after three 5xx retries; `UnknownOperationException` would wrongly say the operation
 * does not exist on AWS.
 */
export function notImplemented(service: string, operation: string): ServiceError {
  return new ServiceError(
    'NotImplemented',
    `The sandbox does not implement ${service} ${operation}; run this call against AWS or use an implemented operation`,
  );
}

/** Whether a request looks like JSON 1.1 (to shape an error raised before routing). */
export function looksJson(headers: IncomingHttpHeaders): boolean {
  return (
    header(headers, 'x-amz-target') !== undefined || (header(headers, 'content-type') ?? '').includes('json')
  );
}

/** An AWS-shaped error for a request that never reached a service (body too large, server fault, bad HTTP). */
export function edgeError(
  headers: IncomingHttpHeaders,
  error: ServiceError,
  requestId = randomUUID(),
): ApiResponse {
  return looksJson(headers) ? jsonError(error, requestId) : queryError(error, requestId);
}

/**
 * AWS's answer to a request signed for another service: `InvalidSignatureException` (400) from JSON services,
 * `SignatureDoesNotMatch` (403) from Query ones, "Credential should be scoped to correct service: '<name>'."
 */
function wrongService(signingName: string, protocol: 'json' | 'query'): ServiceError {
  const [code, status] =
    protocol === 'json' ? ['InvalidSignatureException', 400] : ['SignatureDoesNotMatch', 403];
  return new ServiceError(code, `Credential should be scoped to correct service: '${signingName}'. `, {
    status,
  });
}

export interface DispatcherOptions {
  readonly faults?: Faults;
  /** Who calls and where the call lands (region from the credential scope); may throw a `ServiceError`. */
  readonly context: (req: ApiRequest) => Omit<RequestContext, 'requestId'>;
  /**
   * The instance of a service that answers a call landing in `region` (the sandbox has one set of services
   * per region). @default the instances given to the constructor
   */
  readonly serviceIn?: (name: ServiceName, region: string) => SandboxService;
  /** Called with every unexpected (non-ServiceError) failure, for logs. */
  readonly onInternalError?: (error: unknown, where: string) => void;
}

export class Dispatcher {
  readonly #byTarget = new Map<string, LazyBinding>();
  readonly #query = new Map<ServiceName, LazyBinding>();
  readonly #options: DispatcherOptions;

  constructor(services: readonly SandboxService[], options: DispatcherOptions) {
    this.#options = options;
    for (const service of services) {
      const routing = serviceRouting(service.name);
      if (routing.protocol === 'json') {
        this.#byTarget.set(routing.targetPrefix!, new LazyBinding(service, routing));
      } else {
        this.#query.set(service.name, new LazyBinding(service, routing));
      }
    }
  }

  /**
   * Answers one API request; never throws: what fails outside a service's handler (a service model that cannot
   * be read on its first call) is an `InternalFailure` (500) in the request's protocol.
   */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    const requestId = randomUUID();
    try {
      return await this.#route(req, requestId);
    } catch (error) {
      this.#options.onInternalError?.(error, 'dispatch');
      return edgeError(
        req.headers,
        new ServiceError(
          'InternalFailure',
          `The sandbox failed: ${(error as Error)?.message ?? String(error)}`,
          { status: 500 },
        ),
        requestId,
      );
    }
  }

  async #route(req: ApiRequest, requestId: string): Promise<ApiResponse> {
    const target = header(req.headers, 'x-amz-target');
    if (target !== undefined) return this.#json(req, target, requestId);
    const contentType = header(req.headers, 'content-type') ?? '';
    let params: QueryParams;
    try {
      params =
        contentType === '' || contentType.includes('x-www-form-urlencoded')
          ? QueryParams.from(req)
          : new QueryParams(req.url.searchParams.entries());
    } catch {
      params = new QueryParams([]);
    }
    if (params.get('Action') !== undefined) return this.#queryCall(req, params, requestId);
    if (contentType.includes('json')) {
      return jsonError(
        new ServiceError(
          'UnknownOperationException',
          'Missing X-Amz-Target header: a JSON 1.1 request names its operation there (e.g. CodePipeline_20150709.ListPipelines)',
        ),
        requestId,
      );
    }
    return queryError(
      new ServiceError(
        'MissingAction',
        'The request has neither an X-Amz-Target header (JSON 1.1) nor an Action parameter (Query); nothing to route',
      ),
      requestId,
    );
  }

  async #json(req: ApiRequest, target: string, requestId: string): Promise<ApiResponse> {
    const dot = target.lastIndexOf('.');
    const prefix = dot > 0 ? target.slice(0, dot) : target;
    const operation = dot > 0 ? target.slice(dot + 1) : '';
    const binding = this.#byTarget.get(prefix);
    if (!binding) {
      const known = [...this.#byTarget.keys()].join(', ');
      return jsonError(
        new ServiceError(
          'UnknownOperationException',
          `Unknown target '${target.slice(0, 200)}': the sandbox serves the JSON 1.1 targets ${known} (as <prefix>.<Operation>)`,
        ),
        requestId,
      );
    }
    if (req.method !== 'POST') {
      return jsonError(
        new ServiceError(
          'UnknownOperationException',
          `${binding.model.metadata.serviceId} is called with POST, not ${req.method}`,
        ),
        requestId,
      );
    }
    if (!Object.hasOwn(binding.model.operations, operation)) {
      return jsonError(
        new ServiceError(
          'UnknownOperationException',
          `${binding.model.metadata.serviceId} has no operation '${operation.slice(0, 200)}'`,
        ),
        requestId,
      );
    }
    return this.#call(binding, operation, req, requestId);
  }

  #queryBinding(req: ApiRequest, params: QueryParams, action: string): LazyBinding | undefined {
    const scope = credentialScope(req.headers);
    const signed = scope ? QUERY_SIGNING_NAMES[scope.service] : undefined;
    if (signed && this.#query.has(signed)) return this.#query.get(signed);
    const version = params.get('Version');
    const candidates = [...this.#query.values()];
    // A request signed for no Query service: its Version, else (models read now) which model has the Action.
    return (
      candidates.find((b) => b.routing.apiVersion === version && Object.hasOwn(b.model.operations, action)) ??
      candidates.find((b) => b.routing.apiVersion === version) ??
      candidates.find((b) => Object.hasOwn(b.model.operations, action))
    );
  }

  async #queryCall(req: ApiRequest, params: QueryParams, requestId: string): Promise<ApiResponse> {
    const action = params.get('Action') ?? '';
    const version = params.get('Version');
    const binding = this.#queryBinding(req, params, action);
    const shownAction = action.slice(0, 200);
    if (!binding) {
      return queryError(
        new ServiceError(
          'InvalidAction',
          `Could not find operation ${shownAction} for version ${version ?? 'NO_VERSION_SPECIFIED'}: no sandbox Query service (ELBv2 2015-12-01, AutoScaling 2011-01-01, CloudFormation 2010-05-15) has it`,
        ),
        requestId,
      );
    }
    const namespace = (binding.codec as QueryCodec).namespace;
    if (req.method !== 'POST' && req.method !== 'GET') {
      return queryError(
        new ServiceError(
          'InvalidAction',
          `${binding.model.metadata.serviceId} is called with POST or GET, not ${req.method}`,
        ),
        requestId,
        namespace,
      );
    }
    // AWS answers a missing or wrong Version the way it answers an unknown Action (Coral wording).
    if (version !== binding.model.metadata.apiVersion || !Object.hasOwn(binding.model.operations, action)) {
      return queryError(
        new ServiceError(
          'InvalidAction',
          `Could not find operation ${shownAction} for version ${version || 'NO_VERSION_SPECIFIED'} (${binding.model.metadata.serviceId} speaks ${binding.model.metadata.apiVersion})`,
        ),
        requestId,
        namespace,
      );
    }
    return this.#call(binding, action, req, requestId, params);
  }

  async #call(
    binding: ServiceBinding,
    operation: string,
    req: ApiRequest,
    requestId: string,
    params?: QueryParams,
  ): Promise<ApiResponse> {
    const { service: routed, model, codec } = binding;
    let service = routed;
    try {
      // The scope names the service the request was signed for (aws-semantics-events-auth-regions §4.2).
      const signedFor = credentialScope(req.headers, req.url)?.service;
      if (signedFor !== undefined && signedFor !== model.metadata.endpointPrefix)
        throw wrongService(model.metadata.endpointPrefix, codec.protocol);
      // Faults first: AWS throttles at the front door, before it looks at the input.
      await this.#options.faults?.apply(service.name, codec.protocol, operation);
      const context = this.#options.context(req);
      service = this.#options.serviceIn?.(routed.name, context.region) ?? routed;
      // `operation` is already known to be an operation of the model, so no prototype name gets here.
      const handler =
        typeof service.handlers[operation] === 'function' ? service.handlers[operation] : undefined;
      if (!handler) throw notImplemented(model.metadata.serviceId, operation);
      const input =
        params && codec instanceof QueryCodec
          ? codec.decodeParams(operation, params)
          : codec.decodeInput(operation, req);
      // IAM decides before the service looks at the input (a denied call is denied whatever its input).
      this.#options.faults?.authorize(service.name, codec.protocol, operation, input, context);
      const inputShape = model.operations[operation]?.input?.shape;
      if (inputShape && !SELF_VALIDATING.has(service.name))
        validateInput(model, inputShape, input, codec.protocol);
      const output = await handler(input, { ...context, requestId });
      // A response-phase fault: the call has had its effect, and the caller gets a 5xx instead of the answer.
      await this.#options.faults?.applyAfter(service.name, codec.protocol, operation);
      return codec.encodeOutput(operation, output ?? {}, requestId);
    } catch (error) {
      if (error instanceof ServiceError) return codec.encodeError(error, requestId);
      this.#options.onInternalError?.(error, `${service.name} ${operation}`);
      return codec.encodeError(
        new ServiceError(
          'InternalFailure',
          `The sandbox failed while handling ${model.metadata.serviceId} ${operation}: ${(error as Error)?.message ?? String(error)}`,
          { status: 500 },
        ),
        requestId,
      );
    }
  }
}
