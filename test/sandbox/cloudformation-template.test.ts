// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub strings use CloudFormation's ${Name} syntax, not JavaScript's.
/**
 * The sandbox CloudFormation's template language, without a sandbox: YAML short forms, the intrinsic functions
 * (reference §3.1–§3.5), parameters (§3.6) and the synchronous checks of CreateStack (§2.4, §3.7) with AWS's
 * wording.
 */
import { describe, expect, it } from 'vitest';
import {
  type EvalContext,
  NO_VALUE,
  cidr,
  evaluate,
  evaluateCondition,
} from '../../src/sandbox/cloudformation/intrinsics.ts';
import { fakeAmiId, resolveParameters } from '../../src/sandbox/cloudformation/parameters.ts';
import { prepareStack } from '../../src/sandbox/cloudformation/prepare.ts';
import { resourceProviders } from '../../src/sandbox/cloudformation/providers/index.ts';
import { generatedName } from '../../src/sandbox/cloudformation/providers/props.ts';
import { parseTemplate } from '../../src/sandbox/cloudformation/template.ts';

const providers = resourceProviders();
const STACK = {
  name: 'web',
  id: 'arn:aws:cloudformation:us-east-1:000000000000:stack/web/5d3c1f2e-0000-4000-8000-000000000000',
  region: 'us-east-1',
  accountId: '000000000000',
};

/** A context with parameters, two "created" resources and conditions. */
function context(conditions: Record<string, boolean> = {}): EvalContext {
  const params: Record<string, unknown> = {
    Env: 'prod',
    Port: '8080',
    Subnets: ['subnet-a', 'subnet-b'],
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': '000000000000',
    'AWS::StackName': 'web',
    Repo: 'c0ffee00-0000-4000-8000-000000000000',
  };
  const attrs: Record<string, Record<string, unknown>> = {
    Repo: { Name: 'web-repo', Arn: 'arn:aws:codecommit:us-east-1:000000000000:web-repo' },
  };
  return {
    ref: (n) => {
      if (n in params) return params[n];
      throw new Error(`no ${n}`);
    },
    getAtt: (r, a) => {
      const v = attrs[r]?.[a];
      if (v === undefined) throw new Error(`no ${r}.${a}`);
      return v;
    },
    condition: (n) => conditions[n] ?? false,
    importValue: (n) => `imported-${n}`,
    mappings: { Sizes: { prod: { Count: 4 }, dev: { Count: 1 } } },
    region: 'us-east-1',
  };
}

/** Parses a YAML fragment `value: ...` and evaluates it. */
function yamlValue(text: string, ctx = context()): unknown {
  const t = parseTemplate(`Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      V: ${text}\n`);
  return evaluate(t.Resources.X?.Properties?.V, ctx);
}

describe('YAML short forms', () => {
  it('reads !Ref, !GetAtt A.B, !Sub, !Join, !Select, !Split, !GetAZs, !If, !Base64 into their long forms', () => {
    const t = parseTemplate(
      [
        'Resources:',
        '  Topic:',
        '    Type: AWS::SNS::Topic',
        '    Properties:',
        '      A: !Ref Env',
        '      B: !GetAtt Repo.CloneUrlHttp',
        "      C: !Sub '${AWS::StackName}-x'",
        "      D: !Join ['-', [a, !Ref Env]]",
        "      E: !Select [1, !GetAZs '']",
        '      F: !If [IsProd, !Ref AWS::NoValue, 1]',
        '      G: !Base64 hi',
        '      H: !Not [!Equals [!Ref Env, dev]]',
      ].join('\n'),
    );
    expect(t.Resources.Topic?.Properties).toEqual({
      A: { Ref: 'Env' },
      B: { 'Fn::GetAtt': ['Repo', 'CloneUrlHttp'] },
      C: { 'Fn::Sub': '${AWS::StackName}-x' },
      D: { 'Fn::Join': ['-', ['a', { Ref: 'Env' }]] },
      E: { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] },
      F: { 'Fn::If': ['IsProd', { Ref: 'AWS::NoValue' }, 1] },
      G: { 'Fn::Base64': 'hi' },
      H: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] }] },
    });
  });

  it('reads JSON templates too, and names the line of a YAML or JSON syntax error', () => {
    const json = parseTemplate('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}');
    expect(json.Resources.T?.Type).toBe('AWS::SNS::Topic');
    expect(() => parseTemplate('Resources:\n  T:\n   - [oops\n')).toThrow(
      /^Template format error: YAML not well-formed\. \(line \d+, column \d+\)/,
    );
    expect(() => parseTemplate('Resources:\n  T: !Nope x\n')).toThrow(
      /^Template format error: YAML not well-formed\. Unknown tag !Nope/,
    );
  });

  it('refuses a template without resources as AWS words it', () => {
    expect(() => parseTemplate('Description: nothing\n')).toThrow(
      'Template format error: At least one Resources member must be defined.',
    );
    expect(() => parseTemplate('Resources:\n  T:\n    Properties: {}\n')).toThrow(
      /Every Resources object must contain a Type member/,
    );
  });
});

describe('intrinsic functions', () => {
  it('Fn::Sub substitutes parameters, pseudo parameters, attributes and its own variables; ${!x} stays literal', () => {
    expect(yamlValue("!Sub '${AWS::StackName}-${Env}-${Repo.Name}:${Port}'")).toBe('web-prod-web-repo:8080');
    expect(yamlValue("!Sub ['${Name}.${AWS::Region}', {Name: !Ref Env}]")).toBe('prod.us-east-1');
    expect(yamlValue("!Sub 'a ${!Literal} $HOME $(date) b'")).toBe('a ${Literal} $HOME $(date) b');
    expect(yamlValue("!Sub 'eu-${AWS::Region}'")).toBe('eu-us-east-1');
  });

  it('Fn::Join, Fn::Select, Fn::Split and Fn::GetAZs', () => {
    expect(yamlValue("!Join [',', !Ref Subnets]")).toBe('subnet-a,subnet-b');
    expect(yamlValue("!Join ['', [a, b, c]]")).toBe('abc');
    expect(yamlValue("!Select ['1', !Ref Subnets]")).toBe('subnet-b');
    expect(yamlValue("!Split ['|', 'a||c|']")).toEqual(['a', '', 'c', '']);
    expect(yamlValue("!GetAZs ''")).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    expect(() => yamlValue('!Select [5, !Ref Subnets]')).toThrow(
      'Template error: Fn::Select cannot select nonexistent value at index 5',
    );
  });

  it('Fn::If picks a branch; AWS::NoValue removes the property or list item', () => {
    const ctx = context({ IsProd: true });
    expect(yamlValue('!If [IsProd, big, small]', ctx)).toBe('big');
    expect(yamlValue('!If [IsDev, big, small]', ctx)).toBe('small');
    expect(yamlValue("{A: !If [IsProd, !Ref 'AWS::NoValue', x], B: 1}", ctx)).toEqual({ B: 1 });
    expect(yamlValue("[a, !If [IsProd, !Ref 'AWS::NoValue', b], c]", ctx)).toEqual(['a', 'c']);
    expect(evaluate({ Ref: 'AWS::NoValue' }, ctx)).toBe(NO_VALUE);
  });

  it('conditions: Fn::Equals, Fn::And, Fn::Or, Fn::Not and {Condition: name}', () => {
    const ctx = context({ IsProd: true, IsBig: false });
    const eq = { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] };
    expect(evaluateCondition(eq, ctx)).toBe(true);
    expect(evaluateCondition({ 'Fn::Not': [eq] }, ctx)).toBe(false);
    expect(evaluateCondition({ 'Fn::And': [eq, { Condition: 'IsBig' }] }, ctx)).toBe(false);
    expect(evaluateCondition({ 'Fn::Or': [{ Condition: 'IsBig' }, { Condition: 'IsProd' }] }, ctx)).toBe(
      true,
    );
    expect(() => evaluateCondition({ 'Fn::And': [eq] }, ctx)).toThrow(
      'Fn::And takes a list of 2 to 10 conditions',
    );
  });

  it('Fn::Cidr, Fn::Base64, Fn::FindInMap and Fn::ImportValue', () => {
    expect(cidr('10.42.0.0/16', 2, 8)).toEqual(['10.42.0.0/24', '10.42.1.0/24']);
    expect(yamlValue("!Select [1, !Cidr ['10.0.0.0/16', 4, 12]]")).toBe('10.0.16.0/20');
    expect(yamlValue('!Base64 hello')).toBe('aGVsbG8=');
    expect(yamlValue('!FindInMap [Sizes, !Ref Env, Count]')).toBe(4);
    expect(yamlValue('!ImportValue shared-vpc')).toBe('imported-shared-vpc');
  });
});

describe('parameters', () => {
  it('fills defaults, splits lists and resolves the public AMI SSM parameter to the same fake AMI id', () => {
    const r = resolveParameters(
      {
        Env: { Type: 'String', Default: 'dev', AllowedValues: ['dev', 'prod'] },
        Count: { Type: 'Number', Default: 2, MinValue: 1, MaxValue: 6 },
        Zones: { Type: 'CommaDelimitedList', Default: 'a, b' },
        Ami: {
          Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
          Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
        },
        Secret: { Type: 'String', NoEcho: true },
      },
      [{ ParameterKey: 'Secret', ParameterValue: 'hunter2' }],
    );
    const key = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
    expect(Object.fromEntries(r.values)).toEqual({
      Env: 'dev',
      Count: '2',
      Zones: ['a', 'b'],
      Ami: fakeAmiId(key),
      Secret: 'hunter2',
    });
    expect(fakeAmiId(key)).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(r.views).toContainEqual({
      ParameterKey: 'Ami',
      ParameterValue: key,
      ResolvedValue: fakeAmiId(key),
    });
    expect(r.views).toContainEqual({ ParameterKey: 'Secret', ParameterValue: '****' });
  });

  it('refuses values as AWS does', () => {
    const declared = {
      Env: { Type: 'String', AllowedValues: ['dev', 'prod'] },
      RunId: {
        Type: 'String',
        Default: 'r1',
        AllowedPattern: '^[a-z0-9]+$',
        ConstraintDescription: 'lowercase only',
      },
      Count: { Type: 'Number', Default: '2', MaxValue: 6 },
    };
    expect(() => resolveParameters(declared, [])).toThrow('Parameters: [Env] must have values');
    const env = { ParameterKey: 'Env', ParameterValue: 'prod' };
    expect(() => resolveParameters(declared, [{ ParameterKey: 'Env', ParameterValue: 'test' }])).toThrow(
      "Parameter 'Env' must be one of AllowedValues",
    );
    expect(() =>
      resolveParameters(declared, [env, { ParameterKey: 'RunId', ParameterValue: 'R_1' }]),
    ).toThrow('Malformed input-Parameter RunId lowercase only');
    expect(() => resolveParameters(declared, [env, { ParameterKey: 'Count', ParameterValue: '9' }])).toThrow(
      'Malformed input-Parameter Count must be a number not greater than 6',
    );
    expect(() => resolveParameters(declared, [env, { ParameterKey: 'Nope', ParameterValue: 'x' }])).toThrow(
      'Parameters: [Nope] do not exist in the template',
    );
    expect(() =>
      resolveParameters({ P: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/team/missing' } }, []),
    ).toThrow('Unable to fetch parameters [/team/missing] from parameter store for this account.');
  });
});

describe('generated physical names', () => {
  it('are <stack>-<LogicalId>-<SUFFIX>, cut to the service limit', () => {
    expect(generatedName('web', 'Balancer', 32, 'ABCDEFGHIJKL')).toBe('web-Balancer-ABCDEFGHIJKL');
    const long = generatedName('codepipeline-harness-run-1234', 'LoadBalancer', 32, 'ABCDEFGHIJKL');
    expect(long).toBe('codepipel-LoadBalan-ABCDEFGHIJKL');
    expect(long).toHaveLength(32);
    expect(generatedName('web', 'Topic', 256)).toMatch(/^web-Topic-[A-Z0-9]{12}$/);
  });
});

describe('the checks CreateStack makes before creating anything', () => {
  const prepare = (body: string, capabilities: string[] = []) =>
    prepareStack({ body, parameters: [], capabilities, stack: STACK }, providers);

  it('orders resources by their references and DependsOn', () => {
    const plan = prepare(
      [
        'Resources:',
        '  C: {Type: AWS::SNS::Topic, DependsOn: B}',
        "  B: {Type: AWS::SNS::Topic, Properties: {TopicName: !Sub '${A.TopicName}-b'}}",
        '  A: {Type: AWS::SNS::Topic}',
      ].join('\n'),
    );
    expect(plan.order).toEqual(['A', 'B', 'C']);
    expect(plan.dependencies.get('B')).toEqual(new Set(['A']));
  });

  it('drops resources whose condition is false and reads dependencies from the Fn::If branch taken', () => {
    const plan = prepare(
      [
        'Parameters: {Env: {Type: String, Default: dev}}',
        'Conditions: {IsProd: !Equals [!Ref Env, prod]}',
        'Resources:',
        '  Big: {Type: AWS::SNS::Topic, Condition: IsProd}',
        '  Small: {Type: AWS::SNS::Topic}',
        '  User: {Type: AWS::SNS::Topic, Properties: {DisplayName: !If [IsProd, !Ref Big, !Ref Small]}}',
      ].join('\n'),
    );
    expect([...plan.resources.keys()].sort()).toEqual(['Small', 'User']);
    expect(plan.dependencies.get('User')).toEqual(new Set(['Small']));
  });

  it('names unknown types, unresolved references, unknown attributes and cycles as AWS does', () => {
    expect(() =>
      prepare('Resources:\n  N: {Type: AWS::EC2::NATGateway}\n  M: {Type: AWS::Foo::Bar}'),
    ).toThrow('Template format error: Unrecognized resource types: [AWS::EC2::NATGateway, AWS::Foo::Bar]');
    expect(() =>
      prepare('Resources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Nope}}'),
    ).toThrow(
      'Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template',
    );
    expect(() =>
      prepare("Resources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Sub '${Nope}'}}"),
    ).toThrow(
      'Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template',
    );
    expect(() =>
      prepare('Resources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !GetAtt U.Arn}}'),
    ).toThrow('Template error: instance of Fn::GetAtt references undefined resource U');
    expect(() =>
      prepare(
        'Resources:\n  Q: {Type: AWS::SQS::Queue}\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !GetAtt Q.Nope}}',
      ),
    ).toThrow('Template error: resource Q does not support attribute type Nope in Fn::GetAtt');
    expect(() =>
      prepare(
        'Resources:\n  A: {Type: AWS::SNS::Topic, DependsOn: B}\n  B: {Type: AWS::SNS::Topic, DependsOn: A}',
      ),
    ).toThrow('Template format error: Circular dependency between resources: [A, B]');
    expect(() =>
      prepare('Resources:\n  T: {Type: AWS::SNS::Topic}\nOutputs:\n  O: {Value: !Ref Gone}'),
    ).toThrow(
      'Template format error: Unresolved resource dependencies [Gone] in the Outputs block of the template',
    );
  });

  it('asks for the IAM capability the template needs', () => {
    const role = 'Resources:\n  R: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}';
    const named =
      'Resources:\n  R: {Type: AWS::IAM::Role, Properties: {RoleName: r, AssumeRolePolicyDocument: {}}}';
    expect(() => prepare(role)).toThrow('Requires capabilities : [CAPABILITY_IAM]');
    expect(() => prepare(named, ['CAPABILITY_IAM'])).toThrow(
      'Requires capabilities : [CAPABILITY_NAMED_IAM]',
    );
    expect(prepare(named, ['CAPABILITY_NAMED_IAM']).order).toEqual(['R']);
  });

  it('evaluates Rules: a failed assertion is refused with its description', () => {
    const body = [
      "Parameters: {A: {Type: String, Default: ''}, B: {Type: String, Default: ''}}",
      'Rules:',
      '  BothOrNone:',
      "    RuleCondition: !Not [!Equals [!Ref A, '']]",
      '    Assertions:',
      "      - Assert: !Not [!Equals [!Ref B, '']]",
      '        AssertDescription: With A set, B must be set too',
      'Resources:',
      '  T: {Type: AWS::SNS::Topic}',
    ].join('\n');
    expect(prepare(body).order).toEqual(['T']);
    expect(() =>
      prepareStack(
        { body, parameters: [{ ParameterKey: 'A', ParameterValue: 'x' }], capabilities: [], stack: STACK },
        providers,
      ),
    ).toThrow('With A set, B must be set too');
  });
});
