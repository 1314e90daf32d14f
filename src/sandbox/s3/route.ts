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
import { credentialScope } from '../auth/index.ts';
import { ServiceError } from '../protocol/errors.ts';
import type { Faults } from '../faults.ts';
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
import { deleteObject, deleteObjects } from './delete-objects.ts';
import { getObject } from './get-object.ts';
import { putObject } from './put-object.ts';
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

/** An operation with its name in the S3 model (for fault rules and call counts). */
interface Named {
  readonly name: string;
  readonly run: Operation;
}

const op = (name: string, run: Operation): Named => ({ name, run });

/** Bucket-level operations by `<METHOD> <sub-resource>` ('' for none). */
const BUCKET_OPERATIONS: Readonly<Record<string, Named>> = {
  'PUT ': op('CreateBucket', createBucket),
  'HEAD ': op('HeadBucket', headBucket),
  'DELETE ': op('DeleteBucket', deleteBucket),
  'GET location': op('GetBucketLocation', getBucketLocation),
  'PUT versioning': op('PutBucketVersioning', putBucketVersioning),
  'GET versioning': op('GetBucketVersioning', getBucketVersioning),
  'PUT tagging': op('PutBucketTagging', putBucketTagging),
  'GET tagging': op('GetBucketTagging', getBucketTagging),
  'DELETE tagging': op('DeleteBucketTagging', deleteBucketTagging),
  'GET versions': op('ListObjectVersions', listObjectVersions),
  'POST delete': op('DeleteObjects', deleteObjects),
  'GET ': op('ListObjects', listObjectsV1),
};
const LIST_OBJECTS_V2 = op('ListObjectsV2', listObjectsV2);

const OBJECT_OPERATIONS: Readonly<Record<string, Named>> = {
  'PUT ': op('PutObject', putObject),
  'GET ': op('GetObject', getObject),
  'HEAD ': op('HeadObject', getObject),
  'DELETE ': op('DeleteObject', deleteObject),
};

const LIST_BUCKETS = op('ListBuckets', (ctx, call) => listBuckets(ctx, call, ctx.owner));

/**
 * An injected fault (faults.ts) in S3's words: S3 throttles with `SlowDown` (503, "Please reduce your request
 * rate."), and its 5xx codes are `InternalError` and `ServiceUnavailable` (S3 API reference, error codes).
 */
function s3Fault(error: unknown): unknown {
  if (!(error instanceof ServiceError) || error instanceof S3Error) return error;
  if (error.code === 'Throttling' || error.code === 'ThrottlingException') {
    return new S3Error('SlowDown', 'Please reduce your request rate.', { status: 503 });
  }
  if (error.status === 503) {
    return new S3Error('ServiceUnavailable', `Please reduce your request rate. (${error.message})`, {
      status: 503,
    });
  }
  return new S3Error(
    'InternalError',
    `We encountered an internal error. Please try again. (${error.message})`,
    {
      status: Math.max(error.status, 500),
    },
  );
}

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
  /** Injected faults: S3 calls count as service `s3`; a rule for `*` reaches them too. */
  readonly faults?: Pick<Faults, 'apply' | 'applyAfter'> | undefined;
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
      // The path only: a presigned URL's query carries its signature, which no log should hold.
      where = `s3 ${operation.name} ${url.pathname.slice(0, 200)}`;
      const faults = this.#options.faults;
      // Faults first, as on AWS: a throttled call never reaches the bucket.
      await faults?.apply('s3', 'query', operation.name).catch((e: unknown) => Promise.reject(s3Fault(e)));
      const answer = await operation.run(this.#options.context, call);
      try {
        await faults?.applyAfter('s3', 'query', operation.name);
      } catch (error) {
        // A lost response: the call had its effect, the caller gets the 5xx instead of the answer.
        if (answer.body instanceof Readable) answer.body.destroy();
        throw s3Fault(error);
      }
      await this.#send(req, res, answer, requestId, hostId);
    } catch (error) {
      if (req.destroyed && !req.complete) {
        res.destroy();
        return;
      }
      this.#sendError(req, res, error, requestId, hostId, where);
    }
  }

  #operation(call: S3Call): Named {
    if (call.bucket === undefined) {
      if (call.method === 'GET') return LIST_BUCKETS;
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        status: 405,
        details: { Method: call.method, ResourceType: 'SERVICE' },
      });
    }
    const given = SUBRESOURCES.filter((s) => call.query.has(s));
    const table = call.key === undefined ? BUCKET_OPERATIONS : OBJECT_OPERATIONS;
    const subresource = given[0] ?? '';
    const operation = given.length <= 1 ? table[`${call.method} ${subresource}`] : undefined;
    if (operation === BUCKET_OPERATIONS['GET '] && call.query.get('list-type') === '2')
      return LIST_OBJECTS_V2;
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
