/**
 * Throws ~3000 malformed or random requests at a real sandbox over real HTTP: bad JSON, wrong targets,
 * random Actions and Versions, wrong methods, garbage and truncated bodies, huge and odd headers, broken
 * HTTP. Every answer must be a 4xx/5xx AWS-shaped error (JSON `__type` or XML `<ErrorResponse>`), and the
 * server must still answer `/_sandbox/health` afterwards.
 */
import { connect } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceModel } from '../../src/sandbox/protocol/model.ts';
import type { ServiceName } from '../../src/sandbox/types.ts';
import { rawRequest } from './helpers/http.ts';
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
      if (random() < 0.5) {
        headers.authorization = `AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/${pick([SIGNING[qs]!, word()])}/aws4_request, SignedHeaders=host, Signature=0`;
      }
      const useGet = random() < 0.3;
      return {
        method: useGet ? 'GET' : 'POST',
        path: useGet ? `/?${params}` : '/',
        headers,
        body: useGet ? undefined : params.toString(),
        what: `action ${params}`,
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
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/${SIGNING[qs]}/aws4_request`,
        },
        body,
        what: `query ${body.slice(0, 60)}`,
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

describe('fuzzing the edge port', () => {
  const sb = useSandbox({}, { maxAttempts: 1 });
  let pool: Pool;

  beforeAll(() => {
    pool = new Pool(sb.sandbox.endpoint, { connections: 8 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('answers ~3000 malformed or random requests with 4xx/5xx AWS errors and stays up', async () => {
    const requests = Array.from({ length: 2900 }, generate);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const started = performance.now();
    const queue = [...requests];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const res = await pool.request({
            method: r.method as 'POST',
            path: r.path,
            headers: r.headers,
            body: r.body,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          const body = await res.body.text();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const type = String(res.headers['content-type'] ?? '');
          if (res.statusCode < 400 || !awsShaped(type, body) || !res.headers['x-amzn-requestid']) {
            failures.push(`${r.what} → ${res.statusCode} ${type} ${body.slice(0, 200)}`);
          }
        }
      }),
    );
    console.log(
      `fuzz: ${requests.length} requests in ${(performance.now() - started).toFixed(0)} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(failures.slice(0, 10)).toEqual([]);
    expect((await rawRequest(sb.sandbox.endpoint, { method: 'GET', path: '/_sandbox/health' })).status).toBe(
      200,
    );
  });

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
