import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/sandbox/protocol/errors.ts';
import { JsonCodec } from '../../src/sandbox/protocol/json.ts';
import { serviceModel } from '../../src/sandbox/protocol/model.ts';
import { QueryCodec, QueryParams } from '../../src/sandbox/protocol/query.ts';
import { validateInput } from '../../src/sandbox/protocol/validate.ts';
import type { ApiRequest } from '../../src/sandbox/protocol/wire.ts';

const elbv2 = new QueryCodec(serviceModel('elbv2'));
const codepipeline = new JsonCodec(serviceModel('codepipeline'));
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

function form(params: Record<string, string>): QueryParams {
  return new QueryParams(Object.entries(params));
}

function jsonRequest(body: string): ApiRequest {
  return { method: 'POST', url: new URL('http://sandbox/'), headers: {}, body: Buffer.from(body) };
}

function validationMessage(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError);
    return `${(error as ServiceError).code}: ${(error as ServiceError).message}`;
  }
  throw new Error('expected a validation error');
}

describe('Query decoding', () => {
  it('decodes nested lists of structures and coerces numbers from the model', () => {
    const input = elbv2.decodeParams(
      'DescribeTargetHealth',
      form({
        TargetGroupArn: 'arn:tg',
        'Targets.member.2.Id': 'i-2',
        'Targets.member.1.Id': 'i-1',
        'Targets.member.1.Port': '8080',
      }),
    );
    expect(input).toEqual({ TargetGroupArn: 'arn:tg', Targets: [{ Id: 'i-1', Port: 8080 }, { Id: 'i-2' }] });
  });

  it('reads a bare `Names=` as an empty list, not a string', () => {
    expect(elbv2.decodeParams('DescribeLoadBalancers', form({ Names: '' }))).toEqual({ Names: [] });
  });

  it('decodes structures, booleans and maps (`entry.N.key/value`)', () => {
    const input = elbv2.decodeParams(
      'CreateListener',
      form({
        LoadBalancerArn: 'arn:lb',
        'DefaultActions.member.1.Type': 'authenticate-oidc',
        'DefaultActions.member.1.AuthenticateOidcConfig.Issuer': 'https://issuer',
        'DefaultActions.member.1.AuthenticateOidcConfig.UseExistingClientSecret': 'true',
        'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key':
          'prompt',
        'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value':
          'login',
      }),
    );
    expect(input).toEqual({
      LoadBalancerArn: 'arn:lb',
      DefaultActions: [
        {
          Type: 'authenticate-oidc',
          AuthenticateOidcConfig: {
            Issuer: 'https://issuer',
            UseExistingClientSecret: true,
            AuthenticationRequestExtraParams: { prompt: 'login' },
          },
        },
      ],
    });
  });

  it('refuses a non-numeric integer and a non-positional list index with ValidationError', () => {
    expect(
      validationMessage(() => elbv2.decodeParams('CreateTargetGroup', form({ Name: 'tg', Port: 'eighty' }))),
    ).toBe(
      "ValidationError: Value 'eighty' at 'port' failed to satisfy constraint: Member must be an integer",
    );
    expect(
      validationMessage(() => elbv2.decodeParams('DescribeLoadBalancers', form({ 'Names.member.x': 'a' }))),
    ).toMatch(/^ValidationError: 'Names.member.x' is not a list position/);
  });

  it('validates with Query member paths in lowerCamelCase', () => {
    const model = serviceModel('elbv2');
    const input = elbv2.decodeParams('CreateTargetGroup', form({ Port: '70000', Protocol: 'SMTP' }));
    expect(validationMessage(() => validateInput(model, 'CreateTargetGroupInput', input, 'query'))).toBe(
      "ValidationError: 3 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; " +
        "Value 'SMTP' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]; " +
        "Value 70000 at 'port' failed to satisfy constraint: Member must have value less than or equal to 65535",
    );
  });
});

describe('JSON 1.1 decoding and validation', () => {
  const model = serviceModel('codepipeline');

  it('names a missing required member the way AWS does', () => {
    const input = codepipeline.decodeInput('GetPipeline', jsonRequest('{}'));
    expect(validationMessage(() => validateInput(model, 'GetPipelineInput', input, 'json'))).toBe(
      "ValidationException: 1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
    );
  });

  it('reports nested enum, length and pattern violations with their paths', () => {
    const input = codepipeline.decodeInput(
      'PutApprovalResult',
      jsonRequest(
        JSON.stringify({
          pipelineName: 'bad name!',
          stageName: 'Approve',
          actionName: 'a'.repeat(101),
          token: '1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
          result: { summary: 'ok', status: 'Maybe' },
        }),
      ),
    );
    const message = validationMessage(() => validateInput(model, 'PutApprovalResultInput', input, 'json'));
    expect(message).toMatch(/^ValidationException: 3 validation errors detected: /);
    expect(message).toContain(
      "Value 'bad name!' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+",
    );
    expect(message).toContain(
      "at 'actionName' failed to satisfy constraint: Member must have length less than or equal to 100",
    );
    expect(message).toContain(
      "Value 'Maybe' at 'result.status' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected]",
    );
  });

  it('answers SerializationException for bad JSON and wrong types, and turns timestamps into Dates', () => {
    expect(validationMessage(() => codepipeline.decodeInput('GetPipeline', jsonRequest('{"name":')))).toMatch(
      /^SerializationException: The request body is not valid JSON/,
    );
    expect(validationMessage(() => codepipeline.decodeInput('GetPipeline', jsonRequest('[1]')))).toBe(
      'SerializationException: The request body must be a JSON object, got a list',
    );
    expect(
      validationMessage(() =>
        codepipeline.decodeInput('GetPipeline', jsonRequest('{"name":"p","version":"1"}')),
      ),
    ).toBe(`SerializationException: Expected an integer at 'version', got string "1"`);
    const input = codepipeline.decodeInput(
      'ListPipelineExecutions',
      jsonRequest(
        '{"pipelineName":"p","filter":{"succeededInStage":{"stageName":"Build"}},"unknownMember":1}',
      ),
    );
    expect(input).toEqual({ pipelineName: 'p', filter: { succeededInStage: { stageName: 'Build' } } });
    const codedeploy = new JsonCodec(serviceModel('codedeploy'));
    const withTime = codedeploy.decodeInput(
      'ListDeployments',
      jsonRequest('{"createTimeRange":{"start":1735689600.5,"end":"2025-01-02T00:00:00Z"}}'),
    );
    expect(withTime).toEqual({
      createTimeRange: { start: new Date('2025-01-01T00:00:00.500Z'), end: new Date('2025-01-02T00:00:00Z') },
    });
  });
});

describe('Output encoding', () => {
  it('JSON: epoch seconds with milliseconds, absent members omitted, unknown members dropped', () => {
    const res = codepipeline.encodeOutput(
      'GetPipelineState',
      {
        pipelineName: 'web',
        pipelineVersion: 3,
        created: new Date('2025-01-01T00:00:00.123Z'),
        updated: undefined,
        stageStates: [
          { stageName: 'Source', inboundTransitionState: { enabled: true }, latestExecution: null },
        ],
        internalOnly: 'x',
      },
      'req-1',
    );
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': 'req-1',
    });
    expect(JSON.parse(res.body)).toEqual({
      pipelineName: 'web',
      pipelineVersion: 3,
      created: 1735689600.123,
      stageStates: [{ stageName: 'Source', inboundTransitionState: { enabled: true } }],
    });
  });

  it('JSON errors carry the code in __type and in x-amzn-ErrorType', () => {
    const res = codepipeline.encodeError(
      new ServiceError('PipelineNotFoundException', 'no such pipeline'),
      'req-2',
    );
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('PipelineNotFoundException');
    expect(JSON.parse(res.body)).toEqual({
      __type: 'PipelineNotFoundException',
      message: 'no such pipeline',
    });
  });

  it('Query: the <OpResponse> envelope (members in model order) with <OpResult>, <member> lists, ISO timestamps and booleans', () => {
    const res = elbv2.encodeOutput(
      'DescribeLoadBalancers',
      {
        LoadBalancers: [
          {
            LoadBalancerName: 'web',
            CreatedTime: new Date('2016-03-25T21:26:12.920Z'),
            State: { Code: 'active' },
            AvailabilityZones: [],
            SecurityGroups: ['sg-1', 'sg-2'],
          },
        ],
      },
      'req-3',
    );
    expect(res.body).toBe(
      '<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">' +
        '<DescribeLoadBalancersResult><LoadBalancers><member><CreatedTime>2016-03-25T21:26:12.920Z</CreatedTime>' +
        '<LoadBalancerName>web</LoadBalancerName><State><Code>active</Code></State><AvailabilityZones/>' +
        '<SecurityGroups><member>sg-1</member><member>sg-2</member></SecurityGroups></member></LoadBalancers>' +
        '</DescribeLoadBalancersResult><ResponseMetadata><RequestId>req-3</RequestId></ResponseMetadata>' +
        '</DescribeLoadBalancersResponse>',
    );
    const attrs = elbv2.encodeOutput(
      'ModifyTargetGroupAttributes',
      { Attributes: [{ Key: 'k', Value: 'v' }] },
      'r',
    );
    expect(
      xml.parse(attrs.body).ModifyTargetGroupAttributesResponse.ModifyTargetGroupAttributesResult,
    ).toEqual({
      Attributes: { member: { Key: 'k', Value: 'v' } },
    });
    const empty = elbv2.encodeOutput('RegisterTargets', {}, 'req-4');
    expect(empty.body).toContain('<RegisterTargetsResult/>');
  });

  it('Query errors: Sender/Receiver, the wire code, and the model httpStatusCode', () => {
    const notFound = elbv2.encodeError(
      new ServiceError('TargetGroupNotFound', 'One or more target groups not found'),
      'r1',
    );
    expect(notFound.status).toBe(400);
    expect(xml.parse(notFound.body)).toEqual({
      ErrorResponse: {
        '@_xmlns': 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
        Error: {
          Type: 'Sender',
          Code: 'TargetGroupNotFound',
          Message: 'One or more target groups not found',
        },
        RequestId: 'r1',
      },
    });
    const health = elbv2.encodeError(new ServiceError('HealthUnavailable', 'try later'), 'r2');
    expect(health.status).toBe(500);
    expect(xml.parse(health.body).ErrorResponse.Error.Type).toBe('Receiver');
    expect(elbv2.encodeError(new ServiceError('PriorRequestNotComplete', 'wait'), 'r3').status).toBe(429);
  });
});
