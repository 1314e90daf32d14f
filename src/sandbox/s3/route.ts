/**
 * S3 on the edge port: a request whose SigV4 credential scope names the `s3` service is S3's, path-style
 * (`/<bucket>/<key>`). This module picks the operation from the method, the path and the sub-resource query
 * parameters (`?versioning`, `?tagging`, `?versions`, `?delete`, `?list-type=2`, ...), runs it, and writes its
 * answer or S3's XML error with `x-amz-request-id` / `x-amz-id-2` (HEAD errors carry no body, as on S3).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { credentialScope } from '../auth.ts';
import { ServiceError } from '../protocol/errors.ts';
import type { HttpRoute } from '../types.ts';
import {
  createBucket,
  deleteBucket,
  deleteBucketTagging,
  getBucketLocation,
  getBucketTagging,
  getBucketVersioning,
  headBucket,
  listBuckets,
  putBucketTagging,
  putBucketVersioning,
} from './buckets.ts';
import type { S3Answer, S3Call, S3Context } from './call.ts';
import { notImplemented, S3Error } from './errors.ts';
import { listObjectsV1, listObjectsV2, listObjectVersions } from './listing.ts';
import { deleteObject, deleteObjects, getObject, putObject } from './objects.ts';
import { xmlPlain } from './xml.ts';

type Operation = (ctx: S3Context, call: S3Call) => S3Answer | Promise<S3Answer>;

/** Sub-resources S3 has; one the sandbox does not serve answers NotImplemented naming it. */
const SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
];

/** Bucket-level operations by `<METHOD> <sub-resource>` ('' for none). */
const BUCKET_OPERATIONS: Readonly<Record<string, Operation>> = {
  'PUT ': createBucket,
  'HEAD ': headBucket,
  'DELETE ': deleteBucket,
  'GET location': getBucketLocation,
  'PUT versioning': putBucketVersioning,
  'GET versioning': getBucketVersioning,
  'PUT tagging': putBucketTagging,
  'GET tagging': getBucketTagging,
  'DELETE tagging': deleteBucketTagging,
  'GET versions': listObjectVersions,
  'POST delete': deleteObjects,
  'GET ': (ctx, call) =>
    call.query.get('list-type') === '2' ? listObjectsV2(ctx, call) : listObjectsV1(ctx, call),
};

const OBJECT_OPERATIONS: Readonly<Record<string, Operation>> = {
  'PUT ': putObject,
  'GET ': getObject,
  'HEAD ': getObject,
  'DELETE ': deleteObject,
};

/** S3's request ids: 16 upper-case hex characters, and a base64 extended id. */
function requestIds(): { requestId: string; hostId: string } {
  return {
    requestId: randomBytes(8).toString('hex').toUpperCase(),
    hostId: randomBytes(48).toString('base64'),
  };
}

function badUri(): S3Error {
  return new S3Error('InvalidURI', "Couldn't parse the specified URI.");
}

/** Bucket and key of a path-style request target, decoded; the raw target, so `..` or `//` in a key survive. */
function parsePath(rawUrl: string): { bucket?: string; key?: string } {
  let path = rawUrl.split('?', 1)[0]!;
  if (!path.startsWith('/')) {
    try {
      path = new URL(path).pathname; // absolute-form request target
    } catch {
      throw badUri();
    }
  }
  const rest = path.slice(1);
  if (rest === '') return {};
  const slash = rest.indexOf('/');
  try {
    const bucket = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    const key = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
    return key === '' ? { bucket } : { bucket, key };
  } catch {
    throw badUri();
  }
}

export interface S3RouteOptions {
  readonly context: S3Context;
  /** Unexpected failures (for logs); the client already got a 500. */
  readonly onError?: (error: unknown, where: string) => void;
}

export class S3Route implements HttpRoute {
  readonly #options: S3RouteOptions;

  constructor(options: S3RouteOptions) {
    this.#options = options;
  }

  /** S3 is told apart from the other services on the port by the service in the SigV4 credential scope. */
  match(req: IncomingMessage, url: URL): boolean {
    return credentialScope(req.headers, url)?.service === 's3';
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { requestId, hostId } = requestIds();
    const method = (req.method ?? 'GET').toUpperCase();
    let where = `s3 ${method}`;
    try {
      const { bucket, key } = parsePath(req.url ?? '/');
      const region = credentialScope(req.headers, url)?.region ?? this.#options.context.runtime.region;
      const call: S3Call = {
        req,
        method,
        query: url.searchParams,
        headers: req.headers,
        region,
        requestId,
        ...(bucket !== undefined ? { bucket } : {}),
        ...(key !== undefined ? { key } : {}),
      };
      const operation = this.#operation(call);
      where = `s3 ${method} ${req.url?.slice(0, 200)}`;
      const answer = await operation(this.#options.context, call);
      await this.#send(req, res, answer, requestId, hostId);
    } catch (error) {
      if (req.destroyed && !req.complete) {
        res.destroy();
        return;
      }
      this.#sendError(req, res, error, requestId, hostId, where);
    }
  }

  #operation(call: S3Call): Operation {
    if (call.bucket === undefined) {
      if (call.method === 'GET') return (ctx, c) => listBuckets(ctx, c, ctx.owner);
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        status: 405,
        details: { Method: call.method, ResourceType: 'SERVICE' },
      });
    }
    const given = SUBRESOURCES.filter((s) => call.query.has(s));
    const table = call.key === undefined ? BUCKET_OPERATIONS : OBJECT_OPERATIONS;
    const subresource = given[0] ?? '';
    const operation = given.length <= 1 ? table[`${call.method} ${subresource}`] : undefined;
    if (operation) return operation;
    if (
      call.key === undefined &&
      subresource === '' &&
      !['GET', 'PUT', 'HEAD', 'DELETE'].includes(call.method)
    ) {
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        status: 405,
        details: { Method: call.method, ResourceType: 'BUCKET' },
      });
    }
    const what = `${call.method} on ${call.key === undefined ? 'a bucket' : 'an object'}${given.length > 0 ? ` with ?${given.join('&?')}` : ''}`;
    throw notImplemented(what);
  }

  async #send(
    req: IncomingMessage,
    res: ServerResponse,
    answer: S3Answer,
    requestId: string,
    hostId: string,
  ): Promise<void> {
    const headers: Record<string, string> = {
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
      server: 'AmazonS3',
      ...answer.headers,
    };
    const body = answer.body;
    if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
    else if (body === undefined && headers['content-length'] === undefined) headers['content-length'] = '0';
    res.writeHead(answer.status, headers);
    if (req.method === 'HEAD' || body === undefined) {
      if (body instanceof Readable) body.destroy();
      res.end();
      return;
    }
    if (typeof body === 'string') {
      res.end(body);
      return;
    }
    try {
      await pipeline(body, res);
    } catch {
      // The client went away or the file vanished mid-stream: the status line is out, so only the socket can say so.
      res.destroy();
    }
  }

  #sendError(
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
    requestId: string,
    hostId: string,
    where: string,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let s3: S3Error;
    if (error instanceof S3Error) s3 = error;
    else if (error instanceof ServiceError)
      s3 = new S3Error(error.code, error.message, { status: error.status });
    else {
      this.#options.onError?.(error, where);
      s3 = new S3Error(
        'InternalError',
        `We encountered an internal error. Please try again. (sandbox: ${(error as Error)?.message ?? String(error)})`,
        { status: 500 },
      );
    }
    const body =
      req.method === 'HEAD'
        ? ''
        : xmlPlain('Error', {
            Code: s3.code,
            Message: s3.message,
            ...s3.details,
            RequestId: requestId,
            HostId: hostId,
          });
    const headers: Record<string, string> = {
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
      server: 'AmazonS3',
      ...s3.headers,
      'content-length': String(Buffer.byteLength(body)),
    };
    if (body) headers['content-type'] = 'application/xml';
    // An error before the body was read: drop the rest of it rather than leave it on a keep-alive connection.
    if (!req.complete) {
      headers.connection = 'close';
      req.resume();
    }
    res.writeHead(s3.status, headers);
    res.end(body);
  }
}
