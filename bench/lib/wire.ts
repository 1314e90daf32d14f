/**
 * Raw AWS wire calls over one undici pool, for load tests where SDK overhead would hide the server's cost.
 * Each request is SigV4-signed with test/test for its service (the sandbox refuses anything else; moto routes on
 * the credential scope): the signing is part of what a real client pays per call, too.
 *
 * @example
 * const wire = new Wire('http://127.0.0.1:4566', 16);
 * const r = await wire.json('codepipeline', 'CodePipeline_20150709.ListPipelines', {});
 * await wire.close();
 */
import { Pool } from 'undici';
import { signSandboxRequest } from '../../src/sandbox/auth/index.ts';

export type SigningService =
  | 'codepipeline'
  | 'codedeploy'
  | 'elasticloadbalancing'
  | 'autoscaling'
  | 'iam'
  | 'ec2';

export interface WireResponse {
  status: number;
  body: string;
}

/** Thrown when a set-up call answers an error status; carries the body so the cause is visible. */
export class WireError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(what: string, status: number, body: string) {
    super(`${what} answered HTTP ${status}: ${body.slice(0, 400)}`);
    this.status = status;
    this.body = body;
  }
}

export class Wire {
  readonly endpoint: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;

  /** `connections`: sockets kept alive to the server (one per concurrent client is fair to both servers). */
  constructor(endpoint: string, connections = 16, timeoutMs = 10_000) {
    this.endpoint = endpoint;
    this.#timeoutMs = timeoutMs;
    this.#pool = new Pool(endpoint, { connections, pipelining: 1 });
  }

  async #send(
    service: SigningService,
    path: string,
    headers: Record<string, string>,
    body: string,
  ): Promise<WireResponse> {
    const signed = await signSandboxRequest(
      { method: 'POST', url: new URL(path, this.endpoint), headers, body },
      { service },
    );
    const res = await this.#pool.request({
      method: 'POST',
      path,
      headers: signed,
      body,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    return { status: res.statusCode, body: await res.body.text() };
  }

  /** A JSON 1.1 call (CodePipeline, CodeDeploy): `target` is the `X-Amz-Target` value. */
  json(service: SigningService, target: string, input: unknown): Promise<WireResponse> {
    return this.#send(
      service,
      '/',
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target,
      },
      JSON.stringify(input),
    );
  }

  /** A Query call (ELBv2, AutoScaling, IAM, EC2): `params` include `Action` and `Version`. */
  query(service: SigningService, params: Record<string, string>): Promise<WireResponse> {
    return this.#send(
      service,
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      },
      new URLSearchParams(params).toString(),
    );
  }

  /** Like {@link json} but throws a {@link WireError} on a non-2xx answer and parses the body. */
  async jsonOk<T = Record<string, unknown>>(
    service: SigningService,
    target: string,
    input: unknown,
  ): Promise<T> {
    const r = await this.json(service, target, input);
    if (r.status >= 300) throw new WireError(target, r.status, r.body);
    return (r.body ? JSON.parse(r.body) : {}) as T;
  }

  /** Like {@link query} but throws a {@link WireError} on a non-2xx answer; returns the XML text. */
  async queryOk(service: SigningService, params: Record<string, string>): Promise<string> {
    const r = await this.query(service, params);
    if (r.status >= 300) throw new WireError(params.Action ?? 'query', r.status, r.body);
    return r.body;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
