/**
 * The botocore service models (structure only) the codecs are driven by. Each model is read from
 * `models/<service>.json` the first time it is needed and kept for the life of the process.
 *
 * @example
 * const m = serviceModel('elbv2');
 * m.operations.DescribeTargetHealth?.input?.shape; // 'DescribeTargetHealthInput'
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from '../types.ts';

/** A reference from a member, list element or operation to a named shape. */
export interface ShapeRef {
  shape: string;
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
  idempotencyToken?: boolean;
  resultWrapper?: string;
}

export interface Shape {
  type:
    | 'structure'
    | 'list'
    | 'map'
    | 'string'
    | 'integer'
    | 'long'
    | 'double'
    | 'float'
    | 'boolean'
    | 'timestamp'
    | 'blob';
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  flattened?: boolean;
  sensitive?: boolean;
  timestampFormat?: string;
  exception?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
}

export interface Operation {
  name: string;
  http?: { method: string; requestUri: string };
  input?: ShapeRef;
  output?: ShapeRef;
  errors?: ShapeRef[];
}

export interface ServiceModel {
  metadata: {
    apiVersion: string;
    endpointPrefix: string;
    protocol: 'json' | 'query';
    targetPrefix?: string;
    /** JSON protocol version: `1.1` (CodePipeline, EventBridge) or `1.0` (SQS). */
    jsonVersion?: string;
    /** Set on JSON services that were Query services (SQS): errors also carry the legacy Query code (`x-amzn-query-error`). */
    awsQueryCompatible?: Record<string, unknown>;
    xmlNamespace?: string;
    serviceId: string;
  };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

/** Every service the sandbox speaks, in the order they are built. */
export const SERVICE_NAMES: readonly ServiceName[] = [
  'autoscaling',
  'elbv2',
  'codedeploy',
  'codecommit',
  'logs',
  'codebuild',
  'codepipeline',
];

/**
 * What the dispatcher routes a request by, before it knows the service: the protocol, the JSON `X-Amz-Target`
 * prefix, the Query `Version`. The same values as the models' `metadata` (a test holds them equal); kept here so
 * a starting sandbox routes without reading any model: a model (100 KB+ of JSON) is read by the first call to its
 * service.
 */
export interface ServiceRouting {
  readonly protocol: 'json' | 'query';
  /** JSON services: the `X-Amz-Target` prefix (`CodePipeline_20150709`). */
  readonly targetPrefix?: string;
  readonly apiVersion: string;
}

/** {@link ServiceRouting} of every service that has a model here. */
export const SERVICE_ROUTING: Readonly<Partial<Record<ServiceName, ServiceRouting>>> = {
  autoscaling: { protocol: 'query', apiVersion: '2011-01-01' },
  cloudformation: { protocol: 'query', apiVersion: '2010-05-15' },
  codebuild: { protocol: 'json', targetPrefix: 'CodeBuild_20161006', apiVersion: '2016-10-06' },
  codecommit: { protocol: 'json', targetPrefix: 'CodeCommit_20150413', apiVersion: '2015-04-13' },
  codedeploy: { protocol: 'json', targetPrefix: 'CodeDeploy_20141006', apiVersion: '2014-10-06' },
  codepipeline: { protocol: 'json', targetPrefix: 'CodePipeline_20150709', apiVersion: '2015-07-09' },
  elbv2: { protocol: 'query', apiVersion: '2015-12-01' },
  events: { protocol: 'json', targetPrefix: 'AWSEvents', apiVersion: '2015-10-07' },
  logs: { protocol: 'json', targetPrefix: 'Logs_20140328', apiVersion: '2014-03-28' },
  sqs: { protocol: 'json', targetPrefix: 'AmazonSQS', apiVersion: '2012-11-05' },
};

/** How requests reach `service`: from {@link SERVICE_ROUTING}, else from its model (read now). */
export function serviceRouting(service: ServiceName): ServiceRouting {
  const known = SERVICE_ROUTING[service];
  if (known) return known;
  const { protocol, targetPrefix, apiVersion } = serviceModel(service).metadata;
  return { protocol, apiVersion, ...(targetPrefix !== undefined ? { targetPrefix } : {}) };
}

const cache = new Map<ServiceName, ServiceModel>();

/** The model of one service (loaded once). Throws naming the file when it is missing or broken. */
export function serviceModel(service: ServiceName): ServiceModel {
  let model = cache.get(service);
  if (!model) {
    const file = join(import.meta.dirname, 'models', `${service}.json`);
    try {
      model = JSON.parse(readFileSync(file, 'utf8')) as ServiceModel;
    } catch (error) {
      throw new Error(`cannot load the ${service} service model from ${file}; the package is incomplete`, {
        cause: error,
      });
    }
    cache.set(service, model);
  }
  return model;
}

/** A named shape of a model; throws when the model refers to a shape it does not define (a broken model). */
export function shapeOf(model: ServiceModel, name: string): Shape {
  const shape = model.shapes[name];
  if (!shape) throw new Error(`model ${model.metadata.serviceId} has no shape ${name}`);
  return shape;
}

const errorIndex = new WeakMap<ServiceModel, Map<string, Shape>>();

/** The modeled error shape whose wire code (Query: `error.code`, else the shape name) is `code`. */
export function errorShapeByCode(model: ServiceModel, code: string): Shape | undefined {
  let index = errorIndex.get(model);
  if (!index) {
    index = new Map();
    for (const [name, shape] of Object.entries(model.shapes)) {
      if (shape.exception) index.set(shape.error?.code ?? name, shape);
    }
    errorIndex.set(model, index);
  }
  return index.get(code);
}
