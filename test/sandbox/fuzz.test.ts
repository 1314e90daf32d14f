/**
 * Throws 10,000 requests at a real sandbox over real HTTP, signed with SigV4 as SDK v3 signs them (so they
 * reach the parsers once the edge verifies signatures): bad JSON, wrong targets, random Actions and Versions,
 * wrong methods, garbage and truncated bodies, huge and odd headers; Query parameters with long names (the
 * 20,000-part name of issue 15), deep names, too many parameters, huge values; deeply nested and huge JSON;
 * git smart HTTP, the load balancer's data plane and `/_sandbox/*`; slow clients trickling their headers and
 * bodies, stalled half-sent requests, and large bodies sent at once. Every request is answered (or, for a body
 * over the edge's bound, closed) within a deadline, time per request stays bounded, nothing crashes: the
 * sandbox still answers an ordinary SDK call afterwards. Broken HTTP is covered by the second test.
 */
import { connect, type Socket } from 'node:net';
import { CreateRepositoryCommand } from '@aws-sdk/client-codecommit';
import { ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_LIMITS } from '../../src/sandbox/protocol/json.ts';
import { QUERY_LIMITS } from '../../src/sandbox/protocol/query.ts';
import { serviceModel } from '../../src/sandbox/protocol/model.ts';
import type { ServiceName } from '../../src/sandbox/types.ts';
import { FAKE_CREDENTIALS } from './helpers/clients.ts';
import { rawRequest } from './helpers/http.ts';
import { createLoadBalancer } from './helpers/load-balancer.ts';
import { useSandbox } from './helpers/sandbox.ts';

/** Deterministic so a failure can be replayed: same seed, same requests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(20_250_101);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const word = (n = 1 + Math.floor(random() * 20)) =>
  Array.from({ length: n }, () =>
    pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789']),
  ).join('');
const garbage = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

const JSON_SERVICES: ServiceName[] = ['codepipeline', 'codedeploy', 'codecommit'];
const QUERY_SERVICES: ServiceName[] = ['elbv2', 'autoscaling'];
const SIGNING: Record<string, string> = { elbv2: 'elasticloadbalancing', autoscaling: 'autoscaling' };

/** Operations whose input has a required member: sending `{}` to them can never succeed. */
function opsWithRequired(service: ServiceName): string[] {
  const model = serviceModel(service);
  return Object.entries(model.operations)
    .filter(([, op]) => op.input && (model.shapes[op.input.shape]?.required?.length ?? 0) > 0)
    .map(([name]) => name);
}

/** An input where one member has a value of the wrong JSON type (so it can never be accepted). */
function wrongTyped(service: ServiceName, op: string): Record<string, unknown> | undefined {
  const model = serviceModel(service);
  const input = model.shapes[model.operations[op]?.input?.shape ?? ''];
  const members = Object.entries(input?.members ?? {});
  if (members.length === 0) return undefined;
  const [name, ref] = pick(members);
  const type = model.shapes[ref.shape]?.type;
  const wrong =
    type === 'string'
      ? pick([{}, [], 5, true])
      : type === 'structure' || type === 'map'
        ? pick(['x', 5, [1]])
        : type === 'list'
          ? pick(['x', {}, 5])
          : pick(['x', {}, []]);
  return { [name]: wrong };
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  what: string;
  /** SigV4 signing name (credential scope service); unsigned when absent. */
  sign?: string;
  /** What a right answer looks like. @default 'aws-error' (a 4xx/5xx AWS-shaped error with a request id) */
  expect?: 'aws-error' | 'validation' | 'serialization' | 'answered';
  /** `Host` header; @default the edge's own `127.0.0.1:<port>` */
  host?: string;
}

function jsonHeaders(target: string): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target };
}

function generate(): Req {
  const kind = Math.floor(random() * 10);
  const service = pick(JSON_SERVICES);
  const model = serviceModel(service);
  const prefix = model.metadata.targetPrefix!;
  switch (kind) {
    case 0: {
      // Bad JSON for a real operation.
      const op = pick(Object.keys(model.operations));
      const body = pick([
        '{',
        '{"a":',
        'nul',
        '[',
        '{"x":1,}',
        '\u0000\u0001',
        "{'single':1}",
        '{"a":"\\u12"}',
        garbage(50).toString('latin1'),
      ]);
      return {
        method: 'POST',
        path: '/',
        headers: jsonHeaders(`${prefix}.${op}`),
        body,
        what: `bad JSON ${op}`,
      };
    }
    case 1: {
      // Wrong targets.
      const target = pick([
        word(),
        `${prefix}.${word()}`,
        `${word()}.${word()}`,
        `${prefix}.`,
        `.${word()}`,
        `${prefix}`,
        `${'A'.repeat(3000)}.B`,
        `${prefix}.GetPipeline.Extra`,
        `${prefix}.__proto__`,
        `${prefix}.constructor`,
        `${prefix}.toString`,
      ]);
      return {
        method: 'POST',
        path: '/',
        headers: jsonHeaders(target),
        body: '{}',
        what: `target ${target.slice(0, 40)}`,
      };
    }
    case 2: {
      // Random Actions, random or missing Versions, with and without a credential scope.
      const qs = pick(QUERY_SERVICES);
      const params = new URLSearchParams({
        Action: pick([word(), '', '__proto__', 'hasOwnProperty', `${word()}.${word()}`]),
      });
      const version = pick([serviceModel(qs).metadata.apiVersion, word(), undefined, '']);
      if (version !== undefined) params.set('Version', version);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      const useGet = random() < 0.3;
      return {
        method: useGet ? 'GET' : 'POST',
        path: useGet ? `/?${params}` : '/',
        headers,
        body: useGet ? undefined : params.toString(),
        what: `action ${params}`,
        sign: pick([SIGNING[qs]!, word().toLowerCase()]),
      };
    }
    case 3: {
      // Real Query operations with malformed parameters or missing required members.
      const qs = pick(QUERY_SERVICES);
      const qm = serviceModel(qs);
      const op = pick(opsWithRequired(qs));
      const params = new URLSearchParams({ Action: op, Version: qm.metadata.apiVersion });
      const extra = pick([
        '',
        'Names.member.x=1',
        'Targets.member.0.Id=i',
        'Port=abc',
        `${word()}=${word()}`,
        'Tags.member.99999999=a',
      ]);
      const body = `${params}${extra ? `&${extra}` : ''}`;
      return {
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        what: `query ${body.slice(0, 60)}`,
        sign: SIGNING[qs]!,
      };
    }
    case 4: {
      // Wrong methods.
      const method = pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
      const op = pick(Object.keys(model.operations));
      return {
        method,
        path: '/',
        headers: jsonHeaders(`${prefix}.${op}`),
        body: method === 'GET' ? undefined : '{}',
        what: `${method} ${op}`,
      };
    }
    case 5: {
      // Garbage bodies under every content type, no routing information.
      const type = pick([
        'application/x-www-form-urlencoded',
        'application/json',
        'text/plain',
        'application/octet-stream',
        '',
      ]);
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      return {
        method: pick(['POST', 'PUT']),
        path: pick(['/', `/${word()}`, '/?x=1']),
        headers,
        body: garbage(Math.floor(random() * 2000)),
        what: `garbage ${type}`,
      };
    }
    case 6: {
      // Truncated JSON bodies for operations with required input.
      const op = pick(opsWithRequired(service));
      const full = JSON.stringify({
        pipeline: { name: 'p', stages: [{ name: 's', actions: [] }] },
        name: 'n',
        repositoryName: 'r',
      });
      const body = full.slice(0, 1 + Math.floor(random() * (full.length - 2)));
      return {
        method: 'POST',
        path: '/',
        headers: jsonHeaders(`${prefix}.${op}`),
        body,
        what: `truncated ${op}`,
      };
    }
    case 7: {
      // Required members missing, or members of the wrong type.
      const op = pick(opsWithRequired(service));
      const body = random() < 0.5 ? '{}' : JSON.stringify(wrongTyped(service, op) ?? { x: 1 });
      return {
        method: 'POST',
        path: '/',
        headers: jsonHeaders(`${prefix}.${op}`),
        body,
        what: `invalid input ${op} ${body}`,
      };
    }
    case 8: {
      // Non-object JSON bodies.
      const op = pick(Object.keys(model.operations));
      const body = pick(['null', '[]', '"str"', '42', 'true', '[{"a":1}]']);
      return {
        method: 'POST',
        path: '/',
        headers: jsonHeaders(`${prefix}.${op}`),
        body,
        what: `non-object ${body}`,
      };
    }
    default: {
      // Odd (but legal) headers: long values, many headers, odd encodings.
      const op = pick(opsWithRequired(service));
      const headers: Record<string, string> = {
        ...jsonHeaders(`${prefix}.${op}`),
        'x-odd': 'x'.repeat(Math.floor(random() * 8000)),
        'content-encoding': pick(['gzip', 'br', 'identity', word()]),
        'accept-encoding': pick(['*', 'gzip', '']),
      };
      for (let i = 0; i < Math.floor(random() * 50); i++) headers[`x-${word(8)}`] = word(30);
      return { method: 'POST', path: '/', headers, body: '{}', what: `odd headers ${op}` };
    }
  }
}

const JSON_SIGNING = ['codepipeline', 'codedeploy', 'codecommit'];

/** The malformed requests above, signed for their service (or a random one, for requests with no routing). */
function malformed(): Req {
  const r = generate();
  r.sign ??= pick(JSON_SIGNING);
  return r;
}

const ELB_VERSION = serviceModel('elbv2').metadata.apiVersion;

/** A signed ELBv2 DescribeLoadBalancers form body with `extra` parameters after Action and Version. */
function elbForm(extra: string, what: string, expected: Req['expect'] = 'validation'): Req {
  return {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: `Action=DescribeLoadBalancers&Version=${ELB_VERSION}&${extra}`,
    what,
    sign: 'elasticloadbalancing',
    expect: expected,
  };
}

/** The request of issue 15: a 40 KB body holding one name of 20,000 dot-separated parts. */
function issue15LongKey(): Req {
  return elbForm(`${Array.from({ length: 20_000 }, () => 'a').join('.')}=1`, 'a 20,000-part name (40 KB)');
}

/** Query parameters over a bound: long names, deep names, many parameters, huge values. */
function queryBounds(): Req {
  switch (Math.floor(random() * 5)) {
    case 0:
      return issue15LongKey();
    case 1: {
      const n = QUERY_LIMITS.nameChars + 1 + Math.floor(random() * 5000);
      return elbForm(`Names.member.1=${'n'.repeat(3)}&${'k'.repeat(n)}=1`, `a ${n}-character name`);
    }
    case 2: {
      const parts = QUERY_LIMITS.nameParts + 1 + Math.floor(random() * 200);
      const name = Array.from({ length: parts }, () => pick(['member', '1', 'Names', word(3)])).join('.');
      return elbForm(`${name}=x`, `a ${parts}-part name`);
    }
    case 3: {
      const n = QUERY_LIMITS.parameters + 1 + Math.floor(random() * 2000);
      const extra = Array.from({ length: n }, (_, i) => `Names.member.${i + 1}=n`).join('&');
      return elbForm(extra, `${n} parameters`);
    }
    default: {
      const n = QUERY_LIMITS.valueChars + 1 + Math.floor(random() * 10_000);
      return elbForm(`Names.member.1=${'v'.repeat(n)}`, `a ${n}-character value`);
    }
  }
}

/** Query requests inside the bounds that are still heavy: thousands of list items, names at the bound. */
function queryHeavy(): Req {
  if (random() < 0.5) {
    const n = 1000 + Math.floor(random() * 4000);
    const extra = Array.from({ length: n }, (_, i) => `Names.member.${i + 1}=${word(8)}`).join('&');
    return elbForm(extra, `${n} names`, 'aws-error');
  }
  const name = Array.from({ length: QUERY_LIMITS.nameParts }, (_, i) => (i % 2 ? '1' : 'member')).join('.');
  return elbForm(`Names.${name}=x`, 'a name at the part bound', 'aws-error');
}

/** JSON bodies nested too deep or with lists too long. */
function jsonBounds(): Req {
  const deep = random() < 0.5;
  const depth = JSON_LIMITS.nesting + 1 + Math.floor(random() * 100_000);
  const body = deep
    ? `{"applicationNames":${'['.repeat(depth)}${']'.repeat(depth)}}`
    : JSON.stringify({
        applicationNames: Array.from(
          { length: JSON_LIMITS.items + 1 + Math.floor(random() * 5000) },
          () => 'a',
        ),
      });
  return {
    method: 'POST',
    path: '/',
    headers: jsonHeaders('CodeDeploy_20141006.BatchGetApplications'),
    body,
    what: deep ? `JSON nested ${depth} deep` : 'a JSON list over the item bound',
    sign: 'codedeploy',
    expect: 'serialization',
  };
}

/** Git smart HTTP: the real repository, missing ones, odd services, garbage packs, traversal attempts. */
function gitRoute(repo: string): Req {
  const name = pick([repo, repo, word(), '..', '%2e%2e%2f%2e%2e', `${repo}%00`, `${repo}/../../etc`]);
  const spawnsBackend = random() < 0.3;
  const path = spawnsBackend
    ? `/v1/repos/${repo}/info/refs?service=${pick(['git-upload-pack', 'git-receive-pack'])}`
    : pick([
        `/v1/repos/${name}/info/refs?service=${pick([word(), '--upload-pack=x', ''])}`,
        `/v1/repos/${word()}/info/refs?service=git-upload-pack`,
        `/v1/repos/${name}/${pick(['HEAD', 'objects/info/packs', word()])}`,
        `/v1/repos/${name}`,
        '/v1/repos/',
      ]);
  const post = spawnsBackend && random() < 0.3;
  return {
    method: post ? 'POST' : 'GET',
    path: post ? `/v1/repos/${repo}/git-upload-pack` : path,
    headers: post ? { 'content-type': 'application/x-git-upload-pack-request' } : {},
    ...(post ? { body: garbage(Math.floor(random() * 500)) } : {}),
    what: `git ${post ? 'POST upload-pack' : path.slice(0, 80)}`,
    expect: 'answered',
  };
}

/** The load balancer's data plane: any method, path and body, by `Host: <DNSName>:<port>`. */
function dataPlane(dnsName: string, port: number): Req {
  const method = pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
  const host = pick([dnsName, dnsName, `nope-1.elb.localhost`, dnsName.toUpperCase()]);
  return {
    method,
    path: pick(['/', '/version', `/${word()}`, `/?${word()}=${word()}`, `/${'x'.repeat(2000)}`, '/%2e%2e/']),
    headers: { 'x-forwarded-for': pick(['1.2.3.4', word()]) },
    ...(method === 'POST' || method === 'PUT' ? { body: garbage(Math.floor(random() * 4000)) } : {}),
    what: `data plane ${method} ${host}`,
    host: `${host}:${port}`,
    expect: 'answered',
  };
}

/** `/_sandbox/*`: reads, invalid changes, unknown routes, wrong methods (never a real reset or fault). */
function controlRoute(): Req {
  const [method, path, body] = pick<[string, string, string | undefined]>([
    ['GET', '/_sandbox/health', undefined],
    ['GET', '/_sandbox/faults', undefined],
    ['GET', `/_sandbox/events?after=${pick(['-1', 'x', '999999999999', ''])}`, undefined],
    ['PUT', '/_sandbox/faults', pick(['{', '[', '{"rules":[{"type":"nope"}]}', '{"rules":"x"}', 'null'])],
    ['PUT', '/_sandbox/faults', JSON.stringify({ rules: [{ type: 'latency', latencyMs: -1 }] })],
    ['GET', '/_sandbox/reset', undefined],
    ['DELETE', '/_sandbox/health', undefined],
    [pick(['GET', 'POST']), `/_sandbox/${word()}`, undefined],
    ['GET', `/_sandbox/${'../'.repeat(5)}etc/passwd`, undefined],
  ]);
  return {
    method,
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
    what: `control ${method} ${path}`,
    sign: 'sandbox',
    expect: 'answered',
  };
}

const signers = new Map<string, SignatureV4>();

/** The request's headers with a SigV4 signature (credentials test/test, us-east-1), as SDK v3 signs. */
async function signedHeaders(r: Req, port: number): Promise<Record<string, string>> {
  const host = r.host ?? `127.0.0.1:${port}`;
  if (!r.sign) return { ...r.headers, host };
  let signer = signers.get(r.sign);
  if (!signer) {
    signer = new SignatureV4({
      service: r.sign,
      region: 'us-east-1',
      credentials: FAKE_CREDENTIALS,
      sha256: Hash.bind(null, 'sha256'),
    });
    signers.set(r.sign, signer);
  }
  const url = new URL(r.path, 'http://sandbox');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const had = query[k];
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  const signed = await signer.sign({
    method: r.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: url.pathname,
    query,
    headers: { ...r.headers, host },
    body: r.body,
  });
  return signed.headers;
}

/** What is wrong with an answer to `r`, or undefined when it is right. */
function wrongAnswer(
  r: Req,
  status: number,
  headers: Record<string, unknown>,
  body: string,
): string | undefined {
  const type = String(headers['content-type'] ?? '');
  const line = () => `${r.what} → ${status} ${type} ${body.slice(0, 200)}`;
  switch (r.expect ?? 'aws-error') {
    case 'answered':
      return status >= 100 && status < 600 ? undefined : line();
    case 'validation':
      // Over a bound: refused in the service's own shape, after the signature check let it through.
      return status === 400 && /<Code>ValidationError<\/Code>/.test(body) ? undefined : line();
    case 'serialization':
      return status === 400 && /SerializationException/.test(body) ? undefined : line();
    default:
      return status >= 400 && awsShaped(type, body) && headers['x-amzn-requestid'] ? undefined : line();
  }
}

/** The p-th percentile of `sorted` (ascending). */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * A slow client: the request line and headers one chunk every `gapMs`, then a body the same way; resolves with
 * the answer's status line, or '' when the connection was closed without one, or 'deadline' after `deadlineMs`.
 */
function trickle(port: number, gapMs: number, deadlineMs: number): Promise<string> {
  const body = '{"repositoryName":"nope"}';
  const head =
    `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
    `X-Amz-Target: CodeCommit_20150413.GetRepository\r\nContent-Length: ${body.length}\r\n\r\n`;
  const chunks = [...head.match(/[\s\S]{1,12}/g)!, ...body.match(/[\s\S]{1,4}/g)!];
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      clearTimeout(timer);
      socket.destroy();
      resolve('deadline');
    }, deadlineMs);
    const next = () => {
      const chunk = chunks.shift();
      if (chunk !== undefined && !socket.destroyed) {
        socket.write(chunk);
        timer = setTimeout(next, gapMs);
      }
    };
    socket.on('connect', next);
    socket.on('data', (d) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n\r\n')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      clearTimeout(timer);
      resolve(answer.split('\r\n')[0] ?? '');
    });
  });
}

/** A stalled client: half a request line and headers, then nothing (slowloris). Closed by the test. */
function stall(port: number): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Amz-Target: CodeCommit_20150413.Get`);
  return socket;
}

interface LargeOutcome {
  what: string;
  /** The status, or the error that closed the connection. */
  result: number | string;
  ms: number;
}

/** One large body on its own connection; answered (any status) or closed, within `deadlineMs`. */
async function sendLarge(endpoint: string, port: number, r: Req, deadlineMs: number): Promise<LargeOutcome> {
  const started = performance.now();
  const pool = new Pool(endpoint, { connections: 1 });
  try {
    const res = await pool.request({
      method: r.method as 'POST',
      path: r.path,
      headers: await signedHeaders(r, port),
      body: r.body,
      signal: AbortSignal.timeout(deadlineMs),
      headersTimeout: deadlineMs,
      bodyTimeout: deadlineMs,
    });
    await res.body.text();
    return { what: r.what, result: res.statusCode, ms: performance.now() - started };
  } catch (error) {
    return { what: r.what, result: (error as Error).name, ms: performance.now() - started };
  } finally {
    await pool.destroy();
  }
}

/** True when `body` is an AWS-shaped error for its content type. */
function awsShaped(contentType: string, body: string): boolean {
  if (contentType.includes('json')) {
    try {
      const parsed = JSON.parse(body);
      return typeof parsed.__type === 'string' && parsed.__type !== '' && typeof parsed.message === 'string';
    } catch {
      return false;
    }
  }
  return (
    /^<ErrorResponse[\s>]/.test(body) &&
    /<Code>[^<]+<\/Code>/.test(body) &&
    /<Message>/.test(body) &&
    /<RequestId>/.test(body)
  );
}

/** Sends raw bytes and collects the answer (or nothing) until the server closes or 5 s pass. */
function rawExchange(port: number, payload: string | Buffer, endAfterWrite = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(payload, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

/** Requests of the main batch, per kind (the slow, stalled and large ones come on top, up to 10,000). */
const MIX = {
  malformed: 5621,
  queryBounds: 500,
  queryHeavy: 150,
  jsonBounds: 300,
  git: 250,
  dataPlane: 1700,
  control: 1400,
};
const SLOW_CLIENTS = 24;
const STALLED_CLIENTS = 40;
const TOTAL = 10_000;
/** Bounds on time per request of the main batch (2 busy cores, 8 at a time): a bound, not a benchmark. */
const P99_MS = 2_000;
const MAX_MS = 10_000;

describe('fuzzing the edge port', () => {
  const sb = useSandbox({}, { maxAttempts: 1 });
  let pool: Pool;
  let repo: string;
  let dnsName: string;

  beforeAll(async () => {
    pool = new Pool(sb.sandbox.endpoint, { connections: 8 });
    repo = 'fuzz-repo';
    await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: repo }));
    ({ dnsName } = await createLoadBalancer(sb.clients.elbv2, {
      name: 'fuzz-alb',
      targetGroupName: 'fuzz-tg',
      healthCheckPath: '/health',
    }));
  });
  afterAll(async () => {
    await pool.close();
  });

  it('answers 10,000 requests (bounds, git, load balancer, control routes, slow clients, large bodies) in bounded time and stays up', async () => {
    const port = sb.sandbox.port;
    const endpoint = sb.sandbox.endpoint;
    const kinds: (() => Req)[] = [
      ...Array.from({ length: MIX.malformed }, () => malformed),
      ...Array.from({ length: MIX.queryBounds }, () => queryBounds),
      ...Array.from({ length: MIX.queryHeavy }, () => queryHeavy),
      ...Array.from({ length: MIX.jsonBounds }, () => jsonBounds),
      ...Array.from({ length: MIX.git }, () => () => gitRoute(repo)),
      ...Array.from({ length: MIX.dataPlane }, () => () => dataPlane(dnsName, port)),
      ...Array.from({ length: MIX.control }, () => controlRoute),
    ];
    // Shuffled, so every kind runs beside every other.
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    const requests = [issue15LongKey(), ...kinds.map((make) => make())];
    const large: Req[] = [
      // Over the edge's 10 MiB: answered 413 and closed, or closed while the client still writes.
      ...Array.from({ length: 3 }, () => ({
        method: 'POST',
        path: '/',
        headers: jsonHeaders('CodePipeline_20150709.CreatePipeline'),
        body: Buffer.alloc(11 * 1024 * 1024, 0x20),
        what: '11 MiB JSON',
        sign: 'codepipeline',
      })),
      // Over the protocol bounds, under the edge's: read, then refused by the codec.
      ...Array.from({ length: 4 }, () => ({
        method: 'POST',
        path: '/',
        headers: jsonHeaders('CodePipeline_20150709.CreatePipeline'),
        body: Buffer.alloc(JSON_LIMITS.bodyBytes + 1024, 0x20),
        what: 'JSON over its bound',
        sign: 'codepipeline',
      })),
      ...Array.from({ length: 4 }, () =>
        elbForm(`Names.member.1=${'v'.repeat(QUERY_LIMITS.bodyBytes)}`, 'Query over its bound'),
      ),
      // Under every bound, but large: a 900 KB form of many names.
      ...Array.from({ length: 3 }, () =>
        elbForm(
          Array.from({ length: 9_000 }, (_, i) => `Names.member.${i + 1}=${'n'.repeat(80)}`).join('&'),
          '900 KB of names',
          'aws-error',
        ),
      ),
    ];
    const total = requests.length + large.length + SLOW_CLIENTS + STALLED_CLIENTS;
    expect(total).toBe(TOTAL);

    const stalled = Array.from({ length: STALLED_CLIENTS }, () => stall(port));
    const slow = Array.from({ length: SLOW_CLIENTS }, (_, i) => trickle(port, 50 + (i % 4) * 25, 20_000));
    const largeDone = Promise.all(large.map((r) => sendLarge(endpoint, port, r, 30_000)));

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const times: number[] = [];
    let firstMs = Number.NaN;
    const started = performance.now();
    const queue = [...requests];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const headers = await signedHeaders(r, port);
          const t0 = performance.now();
          try {
            const res = await pool.request({
              method: r.method as 'POST',
              path: r.path,
              headers,
              body: r.body,
              signal: AbortSignal.timeout(MAX_MS * 2),
              headersTimeout: MAX_MS * 2,
              bodyTimeout: MAX_MS * 2,
            });
            const body = await res.body.text();
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            const wrong = wrongAnswer(r, res.statusCode, res.headers, body);
            if (wrong) failures.push(wrong);
          } catch (error) {
            failures.push(`${r.what} → no answer: ${(error as Error).name} ${(error as Error).message}`);
          }
          const ms = performance.now() - t0;
          times.push(ms);
          if (r === requests[0]) firstMs = ms;
        }
      }),
    );
    const elapsed = performance.now() - started;
    const slowAnswers = await Promise.all(slow);
    const largeOutcomes = await largeDone;
    // The stalled clients are still connected (the server ends them at its header deadline): it served
    // everything above while they held their sockets.
    const stillOpen = stalled.filter((s) => !s.destroyed).length;
    for (const s of stalled) s.destroy();

    times.sort((a, b) => a - b);
    console.log(
      `fuzz: ${requests.length} requests in ${elapsed.toFixed(0)} ms (p50 ${percentile(times, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(times, 99).toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms; issue 15's long name ` +
        `${firstMs.toFixed(1)} ms), statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `slow ${JSON.stringify(slowAnswers.slice(0, 2))}; large ${JSON.stringify(largeOutcomes.map((o) => `${o.what}: ${o.result} in ${o.ms.toFixed(0)} ms`))}; ` +
        `${stillOpen}/${STALLED_CLIENTS} stalled clients still open`,
    );
    expect(failures.slice(0, 10)).toEqual([]);
    // No hang: every slow client got an answer before its deadline.
    expect(slowAnswers.filter((a) => !/^HTTP\/1\.1 \d{3} /.test(a))).toEqual([]);
    // Large bodies: answered (a refusal) or closed, never left hanging.
    expect(
      largeOutcomes.filter((o) => typeof o.result === 'string' && /Timeout|Abort/.test(o.result)),
    ).toEqual([]);
    expect(largeOutcomes.filter((o) => typeof o.result === 'number' && o.result < 400)).toEqual([]);
    // Bounded work per request.
    expect(firstMs).toBeLessThan(1_000);
    expect(percentile(times, 99)).toBeLessThan(P99_MS);
    expect(times.at(-1)).toBeLessThan(MAX_MS);
    // No crash: an ordinary SDK call still works.
    const pipelines = await sb.clients.codepipeline.send(new ListPipelinesCommand({}));
    expect(pipelines.pipelines).toEqual([]);
  }, 120_000);

  it('answers broken HTTP (huge headers, bad request lines, bad header bytes) in AWS shape and survives truncated bodies', async () => {
    const port = sb.sandbox.port;
    const broken: (string | Buffer)[] = [
      `POST / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`,
      'GARBAGE\r\n\r\n',
      'POST / HTTP/9.9\r\nHost: x\r\n\r\n',
      Buffer.concat([
        Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nX-Bad: '),
        Buffer.from([0x00, 0x7f, 0x0a]),
        Buffer.from('\r\n\r\n'),
      ]),
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n',
      ...Array.from({ length: 40 }, () => garbage(1 + Math.floor(random() * 300))),
    ];
    const answers = await Promise.all(broken.map((payload) => rawExchange(port, payload)));
    for (const [i, answer] of answers.entries()) {
      if (answer === '') continue; // the connection was closed without an answer: allowed for garbage that is not HTTP at all
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      expect(status, `payload ${i}: ${head}`).toBeGreaterThanOrEqual(400);
      expect(awsShaped(head.toLowerCase(), body), `payload ${i}: ${answer.slice(0, 300)}`).toBe(true);
    }
    // The first two must be answered (431 and 400).
    expect(answers[0]).toMatch(/^HTTP\/1\.1 431 /);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 400 /);

    // Bodies shorter than their Content-Length, the client hanging up: no crash, no hang.
    const truncated = Array.from({ length: 30 }, (_, i) =>
      rawExchange(
        port,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: CodeCommit_20150413.GetRepository\r\nContent-Length: ${100 + i}\r\n\r\n{"repositoryName":`,
      ),
    );
    await Promise.all(truncated);
    const health = await rawRequest(sb.sandbox.endpoint, { method: 'GET', path: '/_sandbox/health' });
    expect(health.status).toBe(200);
  });
});
