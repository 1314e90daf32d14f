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
