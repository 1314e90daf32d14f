/**
 * Only the sandbox's user can drive it (issue 15): every API and control request carries a SigV4 signature for
 * the sandbox's credentials, git carries them as Basic auth, and `Host` names the sandbox. Each refusal is AWS's
 * own error for the protocol (aws-semantics-events-auth-regions §4.2), and a refused request changes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodeCommitClient,
  CreateRepositoryCommand,
  ListRepositoriesCommand,
} from '@aws-sdk/client-codecommit';
import { ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, destroyClients } from '../../src/aws/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { commitAndPush, gitAuthFor, gitSession } from '../../src/source/git.ts';
import { checkHost } from '../../src/sandbox/auth/index.ts';
import { runSandboxCommand } from '../../src/sandbox/cli.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { awsCli } from './helpers/aws-cli.ts';
import { GIT_ENV, gitRun } from './helpers/git.ts';
import { rawRequest } from './helpers/http.ts';
import { useSandbox } from './helpers/sandbox.ts';
import { signedHeaders, signedRequest } from './helpers/signed.ts';

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const JSON_TYPE = 'application/x-amz-json-1.1';
const FORM_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

/** `{"__type": ..., "message": ...}` of a JSON answer. */
function jsonBody(text: string): { __type: string; message: string } {
  return JSON.parse(text) as { __type: string; message: string };
}

/** The `<Code>` and `<Message>` of a Query or S3 XML error. */
function xmlError(text: string): { code?: string; message?: string } {
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1]?.replaceAll('&apos;', "'"),
  };
}

function elbv2(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }) {
  return new ElasticLoadBalancingV2Client({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}

function codecommit(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }) {
  return new CodeCommitClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}

describe('SigV4 on the API (default credentials test/test)', () => {
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });
  const repositories = async () =>
    ((await sb.clients.codecommit.send(new ListRepositoriesCommand({}))).repositories ?? []).map(
      (r) => r.repositoryName,
    );

  it('serves the SDK signing with test/test, over both protocols', async () => {
    expect((await sb.clients.codepipeline.send(new ListPipelinesCommand({}))).pipelines).toEqual([]);
    expect((await sb.clients.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers).toEqual([]);
  });

  it('refuses a JSON call signed with a wrong secret or an unknown key, with AWS JSON errors (400)', async () => {
    const wrong = codecommit(sb.sandbox.endpoint, { accessKeyId: 'test', secretAccessKey: 'not-the-secret' });
    await expect(
      wrong.send(new CreateRepositoryCommand({ repositoryName: 'wrong-secret' })),
    ).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: SIGNATURE_MISMATCH,
      $metadata: { httpStatusCode: 400 },
    });
    const unknown = codecommit(sb.sandbox.endpoint, { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'test' });
    await expect(
      unknown.send(new CreateRepositoryCommand({ repositoryName: 'unknown-key' })),
    ).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      message: INVALID_TOKEN,
      $metadata: { httpStatusCode: 400 },
    });
    wrong.destroy();
    unknown.destroy();
    expect(await repositories()).toEqual([]);
  });

  it('refuses a Query call signed with a wrong secret or an unknown key, with AWS Query errors (403)', async () => {
    const wrong = elbv2(sb.sandbox.endpoint, { accessKeyId: 'test', secretAccessKey: 'nope' });
    await expect(wrong.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: SIGNATURE_MISMATCH,
      $metadata: { httpStatusCode: 403 },
    });
    const unknown = elbv2(sb.sandbox.endpoint, { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'test' });
    await expect(unknown.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      message: INVALID_TOKEN,
      $metadata: { httpStatusCode: 403 },
    });
    wrong.destroy();
    unknown.destroy();
  });

  it('refuses a request without a signature: MissingAuthenticationToken(Exception), 400 JSON / 403 Query', async () => {
    const json = await rawRequest(sb.sandbox.endpoint, {
      unsigned: true,
      headers: { 'content-type': JSON_TYPE, 'x-amz-target': 'CodeCommit_20150413.CreateRepository' },
      body: JSON.stringify({ repositoryName: 'unsigned' }),
    });
    expect(json.status).toBe(400);
    expect(jsonBody(json.body)).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
    const query = await rawRequest(sb.sandbox.endpoint, {
      unsigned: true,
      headers: { 'content-type': FORM_TYPE },
      body: 'Action=DescribeLoadBalancers&Version=2015-12-01',
    });
    expect(query.status).toBe(403);
    expect(xmlError(query.body)).toEqual({
      code: 'MissingAuthenticationToken',
      message: 'Request is missing Authentication Token',
    });
    expect(await repositories()).toEqual([]);
  });

  it('refuses an unsigned large body from its headers, draining it without buffering', async () => {
    const big = await rawRequest(sb.sandbox.endpoint, {
      unsigned: true,
      headers: { 'content-type': JSON_TYPE, 'x-amz-target': 'CodePipeline_20150709.ListPipelines' },
      body: Buffer.alloc(8 * 1024 * 1024, 0x20),
    });
    expect(big.status).toBe(400);
    expect(jsonBody(big.body).__type).toBe('MissingAuthenticationTokenException');
    // The connection is usable again, and the sandbox still serves.
    expect((await sb.clients.codepipeline.send(new ListPipelinesCommand({}))).pipelines).toEqual([]);
  });

  it('refuses a malformed Authorization header with IncompleteSignature(Exception), 400', async () => {
    const authorization = 'AWS4-HMAC-SHA256 Credential=test/20261130/us-east-1/codepipeline/aws4_request';
    const json = await rawRequest(sb.sandbox.endpoint, {
      headers: {
        'content-type': JSON_TYPE,
        'x-amz-target': 'CodePipeline_20150709.ListPipelines',
        authorization,
      },
      body: '{}',
    });
    expect(json.status).toBe(400);
    expect(jsonBody(json.body).__type).toBe('IncompleteSignatureException');
    expect(jsonBody(json.body).message).toContain("Authorization header requires 'SignedHeaders' parameter.");
    expect(jsonBody(json.body).message).toContain("Authorization header requires 'Signature' parameter.");
    const query = await rawRequest(sb.sandbox.endpoint, {
      headers: {
        'content-type': FORM_TYPE,
        authorization: 'AWS4-HMAC-SHA256 Credential=test/1/2, SignedHeaders=host, Signature=00',
      },
      body: 'Action=DescribeLoadBalancers&Version=2015-12-01',
    });
    expect(query.status).toBe(400);
    expect(xmlError(query.body)).toEqual({
      code: 'IncompleteSignature',
      message:
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'test/1/2'",
    });
  });

  it('refuses a signature older or newer than 15 minutes, with AWS wording', async () => {
    const body = '{}';
    const headers = { 'content-type': JSON_TYPE, 'x-amz-target': 'CodePipeline_20150709.ListPipelines' };
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    const old = await signedRequest(sb.sandbox.endpoint, {
      method: 'POST',
      headers,
      body,
      service: 'codepipeline',
      signingDate: at(-20),
    });
    expect(old.status).toBe(400);
    expect(jsonBody(old.body).__type).toBe('InvalidSignatureException');
    expect(jsonBody(old.body).message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    );
    const future = await signedRequest(sb.sandbox.endpoint, {
      method: 'POST',
      headers,
      body,
      service: 'codepipeline',
      signingDate: at(20),
    });
    expect(jsonBody(future.body).message).toMatch(/^Signature not yet current: .* \+ 15 min\.\)$/);
    // Within the window is fine.
    const skewed = await signedRequest(sb.sandbox.endpoint, {
      method: 'POST',
      headers,
      body,
      service: 'codepipeline',
      signingDate: at(-10),
    });
    expect(skewed.status).toBe(200);
  });

  it('refuses a request missing a header it signed, or whose body was changed after signing', async () => {
    const target = 'CodeCommit_20150413.CreateRepository';
    const body = JSON.stringify({ repositoryName: 'signed-body' });
    const headers = await signedHeaders(sb.sandbox.endpoint, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, 'x-amz-target': target, 'x-extra': 'signed too' },
      body,
      service: 'codecommit',
    });
    const { 'x-extra': _dropped, ...withoutExtra } = headers;
    const missing = await rawRequest(sb.sandbox.endpoint, { headers: withoutExtra, body });
    expect(missing.status).toBe(400);
    expect(jsonBody(missing.body)).toEqual({
      __type: 'InvalidSignatureException',
      message: SIGNATURE_MISMATCH,
    });

    const tampered = await rawRequest(sb.sandbox.endpoint, {
      headers,
      body: JSON.stringify({ repositoryName: 'tampered-xx' }),
    });
    expect(tampered.status).toBe(400);
    expect(jsonBody(tampered.body)).toEqual({
      __type: 'InvalidSignatureException',
      message: SIGNATURE_MISMATCH,
    });
    expect(await repositories()).toEqual([]);

    // The same signed request, untouched, goes through.
    expect((await rawRequest(sb.sandbox.endpoint, { headers, body })).status).toBe(200);
    expect(await repositories()).toEqual(['signed-body']);
  });

  it('refuses a session token the sandbox never issued', async () => {
    const client = new ElasticLoadBalancingV2Client({
      endpoint: sb.sandbox.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: 'made-up' },
      maxAttempts: 1,
    });
    await expect(client.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      message: INVALID_TOKEN,
    });
    client.destroy();
  });

  it('serves a presigned URL, and refuses it tampered with or expired', async () => {
    const signer = new SignatureV4({
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      region: 'us-east-1',
      service: 'elasticloadbalancing',
      sha256: Hash.bind(null, 'sha256'),
    });
    const { port } = sb.sandbox;
    const presign = async (signingDate: Date, expiresIn: number) => {
      const signed = await signer.presign(
        new HttpRequest({
          method: 'GET',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port,
          path: '/',
          query: { Action: 'DescribeLoadBalancers', Version: '2015-12-01' },
          headers: { host: `127.0.0.1:${port}` },
        }),
        { signingDate, expiresIn },
      );
      return new URLSearchParams(signed.query as Record<string, string>).toString();
    };
    const get = (query: string) =>
      rawRequest(sb.sandbox.endpoint, { method: 'GET', path: `/?${query}`, unsigned: true });

    const good = await get(await presign(new Date(), 300));
    expect(good.status).toBe(200);
    expect(good.body).toContain('<DescribeLoadBalancersResponse');

    const tampered = await get(
      (await presign(new Date(), 300)).replace('DescribeLoadBalancers', 'DescribeTargetGroups'),
    );
    expect(tampered.status).toBe(403);
    expect(xmlError(tampered.body)).toEqual({ code: 'SignatureDoesNotMatch', message: SIGNATURE_MISMATCH });

    const expired = await get(await presign(new Date(Date.now() - 10 * 60_000), 60));
    expect(expired.status).toBe(403);
    expect(xmlError(expired.body).code).toBe('SignatureDoesNotMatch');
    expect(xmlError(expired.body).message).toMatch(/^Signature expired: .* - 60 sec\.\)$/);
  });

  it('answers S3-signed requests in S3 shape: SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied', async () => {
    const s3 = (credentials?: { accessKeyId: string; secretAccessKey: string }) =>
      signedRequest(sb.sandbox.endpoint, {
        method: 'GET',
        path: '/some-bucket/some/key',
        service: 's3',
        ...(credentials ? { credentials } : {}),
      });
    const wrong = await s3({ accessKeyId: 'test', secretAccessKey: 'nope' });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>SignatureDoesNotMatch<\/Code>/,
    );
    expect(xmlError(wrong.body).message).toBe(
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
    const unknown = await s3({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'test' });
    expect(xmlError(unknown.body)).toEqual({
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
    });
    const anonymous = await rawRequest(sb.sandbox.endpoint, {
      method: 'GET',
      path: '/some-bucket/some/key',
      unsigned: true,
    });
    expect(anonymous.status).toBe(403);
    expect(xmlError(anonymous.body)).toEqual({ code: 'AccessDenied', message: 'Access Denied' });
  });

  it('refuses a foreign Host before any work, even signed (DNS rebinding), and takes localhost:<port>', async () => {
    const body = JSON.stringify({ repositoryName: 'rebound' });
    const headers = { 'content-type': JSON_TYPE, 'x-amz-target': 'CodeCommit_20150413.CreateRepository' };
    const evil = `evil.example:${sb.sandbox.port}`;
    // Signed over the foreign name, as a browser on a rebound name would send it (if it had the secret).
    const signed = await signedHeaders(`http://${evil}`, {
      method: 'POST',
      headers,
      body,
      service: 'codecommit',
    });
    const rebound = await rawRequest(sb.sandbox.endpoint, { headers: signed, body });
    expect(rebound.status).toBe(403);
    expect(jsonBody(rebound.body).__type).toBe('InvalidHostHeader');
    expect(jsonBody(rebound.body).message).toContain(`not Host '${evil}'`);
    const unsigned = await rawRequest(sb.sandbox.endpoint, {
      method: 'GET',
      path: '/_sandbox/health',
      headers: { host: 'evil.example' },
      unsigned: true,
    });
    expect(unsigned.status).toBe(403);
    expect(await repositories()).not.toContain('rebound');

    const local = await signedHeaders(`http://localhost:${sb.sandbox.port}`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, 'x-amz-target': 'CodePipeline_20150709.ListPipelines' },
      body: '{}',
      service: 'codepipeline',
    });
    expect((await rawRequest(sb.sandbox.endpoint, { headers: local, body: '{}' })).status).toBe(200);
  });

  it('refuses a request signed for another service, as AWS words it per protocol', async () => {
    const json = await rawRequest(sb.sandbox.endpoint, {
      headers: { 'content-type': JSON_TYPE, 'x-amz-target': 'CodePipeline_20150709.ListPipelines' },
      body: '{}',
      signingService: 'codedeploy',
    });
    expect(json.status).toBe(400);
    expect(jsonBody(json.body)).toMatchObject({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'codepipeline'. ",
    });
    const query = await rawRequest(sb.sandbox.endpoint, {
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=DescribeLoadBalancers&Version=2015-12-01',
      signingService: 'codepipeline',
    });
    expect(query.status).toBe(403);
    expect(query.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(query.body).toMatch(
      /Credential should be scoped to correct service: (&apos;|')elasticloadbalancing/,
    );
  });

  it('lets a load balancer Host reach its listeners only, never the API or the control routes', async () => {
    await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'survives-lb-host' }));
    const viaLb = await rawRequest(sb.sandbox.endpoint, {
      method: 'POST',
      path: '/_sandbox/reset',
      headers: { host: `nope-123.us-east-1.elb.localhost:${sb.sandbox.port}` },
      // As a page served by a load balancer would send it: a signature would not help it anyway.
      unsigned: true,
    });
    expect(viaLb.status).toBe(503);
    expect(viaLb.body).toContain('No load balancer with DNS name nope-123.us-east-1.elb.localhost');
    expect(await repositories()).toContain('survives-lb-host');
  });

  it('takes only its own names in Host: case and a trailing dot aside, the port must be its own', () => {
    const port = 4566;
    expect(checkHost('127.0.0.1:4566', port)).toEqual({ kind: 'sandbox' });
    expect(checkHost('LOCALHOST.:4566', port)).toEqual({ kind: 'sandbox' });
    expect(checkHost('web-1.eu-west-1.elb.localhost:8080', port)).toEqual({
      kind: 'load-balancer',
      name: 'web-1.eu-west-1.elb.localhost',
    });
    for (const host of [
      '127.0.0.1:4567',
      'localhost',
      '127.0.0.1.evil.example:4566',
      'elb.localhost:4566',
      'evil.example',
      '[::1]:4566',
      undefined,
    ]) {
      expect(checkHost(host, port).kind, String(host)).toBe('refused');
    }
  });

  it('refuses an unsigned Query GET (the <img> attack) without creating anything', async () => {
    const img = await rawRequest(sb.sandbox.endpoint, {
      method: 'GET',
      path: '/?Action=CreateTargetGroup&Version=2015-12-01&Name=from-an-img&Protocol=HTTP&Port=80&VpcId=vpc-1',
      unsigned: true,
    });
    expect(img.status).toBe(403);
    expect(xmlError(img.body).code).toBe('MissingAuthenticationToken');
    const groups = await sb.clients.elbv2.send(new DescribeTargetGroupsCommand({}));
    expect((groups.TargetGroups ?? []).map((g) => g.TargetGroupName)).not.toContain('from-an-img');
  });

  it('is refused to the AWS CLI with --no-sign-request or wrong credentials, with AWS messages', async () => {
    const unsigned = await awsCli(sb.sandbox.endpoint, [
      '--no-sign-request',
      'codepipeline',
      'list-pipelines',
    ]);
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.errorCode).toBe('MissingAuthenticationTokenException');
    const unsignedQuery = await awsCli(sb.sandbox.endpoint, [
      '--no-sign-request',
      'elbv2',
      'describe-load-balancers',
    ]);
    expect(unsignedQuery.errorCode).toBe('MissingAuthenticationToken');
    const wrong = await awsCli(sb.sandbox.endpoint, ['elbv2', 'describe-load-balancers'], {
      credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' },
    });
    expect(wrong.errorCode).toBe('SignatureDoesNotMatch');
    expect(wrong.stderr).toContain(SIGNATURE_MISMATCH);
    const ok = await awsCli(sb.sandbox.endpoint, ['codepipeline', 'list-pipelines']);
    expect(ok.code).toBe(0);
  });
});

describe('the control routes', () => {
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });

  it('refuse an unsigned POST /_sandbox/reset and change nothing; a signed one resets', async () => {
    await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'kept' }));
    const list = async () =>
      ((await sb.clients.codecommit.send(new ListRepositoriesCommand({}))).repositories ?? []).length;
    const unsigned = await rawRequest(sb.sandbox.endpoint, {
      method: 'POST',
      path: '/_sandbox/reset',
      unsigned: true,
    });
    expect(unsigned.status).toBe(403);
    expect(jsonBody(unsigned.body)).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
    const wrong = await signedRequest(sb.sandbox.endpoint, {
      method: 'POST',
      path: '/_sandbox/reset',
      credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' },
    });
    expect(wrong.status).toBe(403);
    expect(jsonBody(wrong.body).__type).toBe('InvalidSignatureException');
    expect(await list()).toBe(1);

    // GET never changes state, signed or not.
    const get = await signedRequest(sb.sandbox.endpoint, { method: 'GET', path: '/_sandbox/reset' });
    expect(get.status).toBe(405);
    expect(await list()).toBe(1);

    const reset = await signedRequest(sb.sandbox.endpoint, { method: 'POST', path: '/_sandbox/reset' });
    expect(reset.status).toBe(200);
    expect(await list()).toBe(0);
  });

  it('refuse an unsigned PUT of faults, and take a signed one with any service name in the scope', async () => {
    const spec = JSON.stringify({ rules: [{ type: 'throttle', service: 'elbv2', rate: 1 }] });
    const unsigned = await rawRequest(sb.sandbox.endpoint, {
      method: 'PUT',
      path: '/_sandbox/faults',
      body: spec,
      unsigned: true,
    });
    expect(unsigned.status).toBe(403);
    expect(sb.sandbox.faults.get().rules).toEqual([]);
    const signed = await signedRequest(sb.sandbox.endpoint, {
      method: 'PUT',
      path: '/_sandbox/faults',
      body: spec,
      service: 'anything',
    });
    expect(signed.status).toBe(200);
    expect(sb.sandbox.faults.get().rules).toHaveLength(1);
    expect(
      (await signedRequest(sb.sandbox.endpoint, { method: 'DELETE', path: '/_sandbox/faults' })).status,
    ).toBe(200);
  });
});

describe('git over HTTP', () => {
  const sb = useSandbox({ timeScale: 0.02 }, { maxAttempts: 1 });
  let work: string;
  let cloneUrl: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'auth-git-'));
    const repo = await sb.clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'guarded' }));
    cloneUrl = repo.repositoryMetadata!.cloneUrlHttp!;
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const infoRefs = (authorization?: string) =>
    request(`${cloneUrl}/info/refs?service=git-upload-pack`, {
      headers: authorization ? { authorization } : {},
    }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }));
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('challenges a request without credentials with 401 and WWW-Authenticate: Basic, as CodeCommit does', async () => {
    const none = await infoRefs();
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await infoRefs(basic('test', 'wrong'))).status).toBe(403);
    expect((await infoRefs(basic('someone', 'wrong'))).status).toBe(403);
    // The secret is what authenticates: a token-style user name (x-access-token) goes with it.
    expect((await infoRefs(basic('x-access-token', 'test'))).status).toBe(200);
    expect((await infoRefs(basic('test', 'test'))).status).toBe(200);
  });

  it('fails `git clone` without credentials, and clones with the AWS CLI credential helper', async () => {
    const noHelper = { ...GIT_ENV, GIT_CONFIG_COUNT: '0' };
    const { execFile } = await import('node:child_process');
    const git = (args: string[], env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('git', args, { cwd: work, env, timeout: 60_000 }, (error, _stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
        );
      });
    const refused = await git(['clone', '-q', cloneUrl, 'none'], noHelper);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/could not read Username|Authentication failed|401/);

    // `aws codecommit credential-helper` signs a git password for any host with --ignore-host-check.
    const helper = '!f() { test "$1" = get && aws codecommit credential-helper get --ignore-host-check; }; f';
    const cli = await git(
      [
        '-c',
        `credential.helper=${helper}`,
        '-c',
        'credential.UseHttpPath=true',
        'clone',
        '-q',
        cloneUrl,
        'cli',
      ],
      {
        ...noHelper,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    );
    expect(cli.stderr).not.toMatch(/fatal/);
    expect(cli.code).toBe(0);
    // The tests' own git (test/test as HTTPS git credentials) works too.
    await gitRun(work, ['clone', '-q', cloneUrl, 'basic']);
  });
});

describe('credentials other than test/test', () => {
  let sandbox: Sandbox | undefined;
  let work: string | undefined;
  afterAll(async () => {
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('startSandbox({ credentials }) takes only those; the harness signs and pushes with sandboxCredentials', async () => {
    const credentials = { accessKeyId: 'AKIAGIVEN0000000000', secretAccessKey: 'given-secret' };
    sandbox = await startSandbox({ timeScale: 0.02, credentials, env: {} });
    expect(sandbox.credentials).toEqual(credentials);
    const old = codecommit(sandbox.endpoint, { accessKeyId: 'test', secretAccessKey: 'test' });
    await expect(old.send(new ListRepositoriesCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    old.destroy();

    const config = loadConfig({
      env: {
        HARNESS_ENDPOINT: sandbox.endpoint,
        HARNESS_SANDBOX_ACCESS_KEY_ID: credentials.accessKeyId,
        HARNESS_SANDBOX_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
    const clients = createClients(config);
    try {
      const repo = await clients.codecommit.send(new CreateRepositoryCommand({ repositoryName: 'given' }));
      work = await mkdtemp(join(tmpdir(), 'auth-given-'));
      const git = await gitSession(gitAuthFor(config), work);
      await git.run(['init', '-q', '--initial-branch', 'main'], work, 'git init');
      const commitId = await commitAndPush(git, work, {
        message: 'pushed with the sandbox credentials',
        remote: repo.repositoryMetadata!.cloneUrlHttp!,
        branch: 'main',
        where: 'given',
      });
      expect(commitId).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      destroyClients(clients);
    }
  });

  it('`sandbox --credentials random` prints fresh ones as export lines, the secret nowhere else', async () => {
    let output = '';
    const stop = new AbortController();
    let ready: Sandbox | undefined;
    let onReady: (s: Sandbox) => void = () => {};
    const started = new Promise<Sandbox>((resolve) => {
      onReady = resolve;
    });
    const done = runSandboxCommand(['--port', '0', '--time-scale', '0.02', '--credentials', 'random'], {
      out: (t) => {
        output += t;
      },
      err: (t) => {
        output += t;
      },
      signal: stop.signal,
      env: {},
      onReady: (s) => onReady(s),
    });
    try {
      // The command resolves only once stopped: if it resolves first, it failed to start.
      ready = await Promise.race([
        started,
        done.then((code) => {
          throw new Error(`the sandbox command ended with ${code} before it was ready:\n${output}`);
        }),
      ]);
      const line = /^export AWS_ACCESS_KEY_ID=(AKIA[A-Z2-7]{16}) AWS_SECRET_ACCESS_KEY=(\S{40})$/m.exec(
        output,
      );
      expect(line).not.toBeNull();
      const [, accessKeyId, secretAccessKey] = line!;
      expect(output).toContain(
        `export HARNESS_SANDBOX_ACCESS_KEY_ID=${accessKeyId} HARNESS_SANDBOX_SECRET_ACCESS_KEY=${secretAccessKey}\n`,
      );
      // The secret appears in the two export lines only.
      expect(output.split(secretAccessKey!).length - 1).toBe(2);
      const client = elbv2(ready!.endpoint, { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! });
      expect((await client.send(new DescribeLoadBalancersCommand({}))).LoadBalancers).toEqual([]);
      client.destroy();
      const fixed = elbv2(ready!.endpoint, { accessKeyId: 'test', secretAccessKey: 'test' });
      await expect(fixed.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
        name: 'InvalidClientTokenId',
      });
      fixed.destroy();
    } finally {
      stop.abort();
      const code = await done;
      if (ready) expect(code).toBe(0);
    }
    // Stopping printed nothing more of it.
    expect(output.split(ready.credentials.secretAccessKey).length - 1).toBe(2);
  });

  it('refuses --credentials with anything but random or test, naming the env vars to use instead', async () => {
    let err = '';
    const code = await runSandboxCommand(['--credentials', 'AKIA:secret'], {
      err: (t) => (err += t),
      env: {},
    });
    expect(code).toBe(2);
    expect(err).toContain('HARNESS_SANDBOX_ACCESS_KEY_ID');
  });
});
