/**
 * sample-app/infra/capstone.yaml, checked offline against the CloudFormation resource schemas AWS publishes (as
 * compiled by the AWS CDK into `@aws-cdk/aws-service-spec`), so it runs on any machine, with or without cfn-lint
 * (`.ci/cfn-lint` runs that where it is installed): every resource type and property name (nested through the
 * schema's type definitions), required properties, enum values, every Ref / GetAtt / Sub / DependsOn / condition
 * target, the run tag on everything taggable, and the outputs the harness reads. The names, stages and deployment
 * group are held to what the sandbox stack builds (src/stack/), so the two stacks cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, type Tags } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { RUN_TAG, stackNames, TEST_TARGET_TAG } from '../../src/stack/names.ts';

const TEMPLATE_PATH = join(import.meta.dirname, '..', '..', 'sample-app', 'infra', 'capstone.yaml');

// ------------------------------------------------------------------------------------------------ the template

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Short-form intrinsics (`!Ref x` is `{Ref: x}`, `!Sub s` is `{'Fn::Sub': s}`, ...), scalar, list or map. */
const INTRINSICS: Record<string, string> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  ...Object.fromEntries(
    [
      'GetAtt',
      'Sub',
      'If',
      'Select',
      'GetAZs',
      'Join',
      'Split',
      'Equals',
      'Not',
      'And',
      'Or',
      'FindInMap',
      'ImportValue',
      'Base64',
      'Cidr',
    ].map((name) => [`!${name}`, `Fn::${name}`]),
  ),
};

const CFN_TAGS: Tags = Object.entries(INTRINSICS).flatMap(([tag, key]) => [
  {
    tag,
    // `!GetAtt Res.Attr` is `Fn::GetAtt: [Res, Attr]`; a dotted attribute stays one string.
    resolve: (value: string) =>
      key === 'Fn::GetAtt'
        ? { [key]: [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)] }
        : { [key]: value },
  },
  { tag, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [key]: seq.toJSON() }) },
  { tag, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [key]: map.toJSON() }) },
]);

interface Template {
  Parameters: Record<string, JsonObject>;
  Rules?: Record<string, Json>;
  Conditions: Record<string, Json>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: Json; Description?: string; Condition?: string }>;
}
interface Resource {
  Type: string;
  Properties?: JsonObject;
  Condition?: string;
  DependsOn?: string | string[];
  [attribute: string]: Json | undefined;
}

/** Parses CloudFormation YAML; a YAML error or an unknown `!Tag` (a warning to the parser) fails loudly. */
function parseTemplate(text: string): Template {
  const doc = parseDocument(text, { customTags: CFN_TAGS, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`capstone.yaml does not parse:\n${problems.join('\n')}`);
  return doc.toJS({ maxAliasCount: 0 }) as Template;
}

// ------------------------------------------------------------------------------------------------ the schemas

/** The slice of @aws-cdk/service-spec-types this test reads. */
interface SpecType {
  type: string;
  element?: SpecType;
  types?: SpecType[];
  reference?: { $ref: string };
  allowedValues?: Array<string | number>;
}
interface SpecProperty {
  type: SpecType;
  required?: boolean;
}
interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, unknown>;
  tagInformation?: { tagPropertyName: string; variant: 'standard' | 'asg' | 'map' };
}
interface Spec {
  resource(type: string): SpecResource | undefined;
  definition(ref: { $ref: string }): { name: string; properties: Record<string, SpecProperty> };
}

async function loadSpec(): Promise<Spec> {
  const db = await loadAwsServiceSpec();
  return {
    resource: (type) =>
      db.lookup('resource', 'cloudFormationType', 'equals', type)[0] as unknown as SpecResource | undefined,
    definition: (ref) => db.get('typeDefinition', ref as never) as unknown as ReturnType<Spec['definition']>,
  };
}

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'Condition',
  'DependsOn',
  'CreationPolicy',
  'DeletionPolicy',
  'UpdatePolicy',
  'UpdateReplacePolicy',
  'Metadata',
]);

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
/** `{Ref: x}` / `{'Fn::X': ...}` / `{Condition: x}`: a value only CloudFormation knows. */
const intrinsicOf = (v: Json | undefined): [string, Json] | undefined => {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  const key = keys[0];
  return keys.length === 1 && key && (key === 'Ref' || key === 'Condition' || key.startsWith('Fn::'))
    ? [key, v[key] as Json]
    : undefined;
};

/** Problems of a value against a schema type, each naming its path. */
function typeProblems(spec: Spec, value: Json | undefined, type: SpecType, path: string): string[] {
  const intrinsic = intrinsicOf(value);
  if (intrinsic) {
    const [fn, args] = intrinsic;
    // Fn::If picks one of two values for the same property: both must fit (AWS::NoValue removes it).
    if (fn === 'Fn::If' && Array.isArray(args)) {
      return args
        .slice(1)
        .filter((branch) => intrinsicOf(branch)?.[1] !== 'AWS::NoValue')
        .flatMap((branch, i) =>
          typeProblems(spec, branch, type, `${path}(If ${i === 0 ? 'true' : 'false'})`),
        );
    }
    return [];
  }
  switch (type.type) {
    case 'string':
      if (!['string', 'number', 'boolean'].includes(typeof value))
        return [`${path}: expected a string, got ${JSON.stringify(value)}`];
      if (type.allowedValues && !type.allowedValues.includes(String(value))) {
        return [`${path}: ${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`];
      }
      return [];
    case 'integer':
    case 'number':
      return Number.isFinite(Number(value)) && value !== '' && typeof value !== 'boolean'
        ? []
        : [`${path}: expected a number, got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false'
        ? []
        : [`${path}: expected a boolean, got ${JSON.stringify(value)}`];
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected a list, got ${JSON.stringify(value)}`];
      return value.flatMap((item, i) => typeProblems(spec, item, type.element as SpecType, `${path}[${i}]`));
    case 'map':
      if (!isObject(value)) return [`${path}: expected a map, got ${JSON.stringify(value)}`];
      return Object.entries(value).flatMap(([k, v]) =>
        typeProblems(spec, v, type.element as SpecType, `${path}.${k}`),
      );
    case 'tag':
      return objectProblems(
        spec,
        value,
        {
          Key: { type: { type: 'string' }, required: true },
          Value: { type: { type: 'string' }, required: true },
        },
        path,
        'Tag',
      );
    case 'ref': {
      const definition = spec.definition(type.reference as { $ref: string });
      return objectProblems(spec, value, definition.properties, path, definition.name);
    }
    case 'union': {
      const each = (type.types ?? []).map((t) => typeProblems(spec, value, t, path));
      return each.some((p) => p.length === 0) ? [] : (each.sort((a, b) => a.length - b.length)[0] ?? []);
    }
    default:
      // json (policy documents, pipeline action configuration, event patterns), date-time, null: free-form here.
      return [];
  }
}

function objectProblems(
  spec: Spec,
  value: Json | undefined,
  properties: Record<string, SpecProperty>,
  path: string,
  typeName: string,
): string[] {
  if (!isObject(value)) return [`${path}: expected a ${typeName} object, got ${JSON.stringify(value)}`];
  const known = Object.keys(properties);
  return [
    ...Object.entries(value).flatMap(([name, v]) => {
      const property = properties[name];
      return property
        ? typeProblems(spec, v, property.type, `${path}.${name}`)
        : [`${path}.${name}: ${typeName} has no property ${name} (it has ${known.join(', ')})`];
    }),
    ...known
      .filter((name) => properties[name]?.required && !(name in value))
      .map((name) => `${path}: required property ${name} of ${typeName} is missing`),
  ];
}

/** Problems of every resource: its type, its attributes, its properties at every depth the schema describes. */
function resourceProblems(spec: Spec, template: Pick<Template, 'Resources'>): string[] {
  return Object.entries(template.Resources).flatMap(([id, resource]) => {
    const schema = spec.resource(resource.Type);
    if (!schema) return [`${id}: unknown resource type ${resource.Type}`];
    return [
      ...Object.keys(resource)
        .filter((attribute) => !RESOURCE_ATTRIBUTES.has(attribute))
        .map((attribute) => `${id}: unknown resource attribute ${attribute}`),
      ...objectProblems(spec, resource.Properties ?? {}, schema.properties, id, resource.Type),
    ];
  });
}

/** Every intrinsic call in a value, with where it is. */
function* intrinsics(
  value: Json | undefined,
  path: string,
): Generator<{ fn: string; args: Json; path: string }> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* intrinsics(item, `${path}[${i}]`);
  } else if (isObject(value)) {
    const intrinsic = intrinsicOf(value);
    if (intrinsic) yield { fn: intrinsic[0], args: intrinsic[1], path };
    for (const [k, v] of Object.entries(value)) yield* intrinsics(v, `${path}.${k}`);
  }
}

/** Names a `Fn::Sub` string refers to: `${Name}` and `${Res.Attr}`, not `${!Literal}`. */
const subReferences = (text: string): string[] =>
  [...text.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => (m[1] as string).trim());

/** Problems of every reference (Ref, GetAtt and its attribute, Sub, DependsOn, conditions) in every section. */
function referenceProblems(spec: Spec, template: Template): string[] {
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const resources = template.Resources;
  const conditions = new Set(Object.keys(template.Conditions ?? {}));
  const problems: string[] = [];
  const getAtt = (resource: string, attribute: string, path: string) => {
    const target = resources[resource];
    if (!target) return problems.push(`${path}: GetAtt of unknown resource ${resource}`);
    const attributes = Object.keys(spec.resource(target.Type)?.attributes ?? {});
    if (!attributes.includes(attribute)) {
      problems.push(
        `${path}: ${resource} (${target.Type}) has no attribute ${attribute} (it has ${attributes.join(', ')})`,
      );
    }
  };
  const ref = (name: string, path: string, local: Set<string> = new Set()) => {
    if (!(local.has(name) || parameters.has(name) || name in resources || PSEUDO_PARAMETERS.has(name))) {
      problems.push(`${path}: reference to ${name}, which is no parameter, resource or pseudo parameter`);
    }
  };
  const sections: Array<[string, Json]> = [
    ['Rules', (template.Rules ?? {}) as Json],
    ['Conditions', (template.Conditions ?? {}) as Json],
    ['Resources', resources as unknown as Json],
    ['Outputs', (template.Outputs ?? {}) as Json],
  ];
  for (const [section, body] of sections) {
    for (const { fn, args, path } of intrinsics(body, section)) {
      if (fn === 'Ref') ref(String(args), path);
      else if (fn === 'Condition' || (fn === 'Fn::If' && Array.isArray(args))) {
        const name = String(fn === 'Condition' ? args : (args as Json[])[0]);
        if (!conditions.has(name)) problems.push(`${path}: unknown condition ${name}`);
      } else if (fn === 'Fn::GetAtt') {
        if (Array.isArray(args) && args.length === 2) getAtt(String(args[0]), String(args[1]), path);
        else problems.push(`${path}: Fn::GetAtt needs [resource, attribute], got ${JSON.stringify(args)}`);
      } else if (fn === 'Fn::Sub') {
        const [text, vars] = Array.isArray(args) ? args : [args, {}];
        const local = new Set(Object.keys(isObject(vars) ? vars : {}));
        for (const name of subReferences(String(text))) {
          const dot = name.indexOf('.');
          if (dot > 0 && !PSEUDO_PARAMETERS.has(name)) getAtt(name.slice(0, dot), name.slice(dot + 1), path);
          else ref(name, path, local);
        }
      }
    }
  }
  for (const [id, resource] of Object.entries(resources)) {
    for (const dep of [resource.DependsOn ?? []].flat()) {
      if (!(dep in resources)) problems.push(`${id}.DependsOn: unknown resource ${dep}`);
    }
    if (resource.Condition && !conditions.has(resource.Condition)) {
      problems.push(`${id}.Condition: unknown condition ${resource.Condition}`);
    }
  }
  return problems;
}

/** Resources whose schema says they take tags but that do not carry the run's tag (with the RunId parameter). */
function untagged(spec: Spec, template: Template): string[] {
  const runTag = { Ref: 'RunId' };
  return Object.entries(template.Resources).flatMap(([id, resource]) => {
    const info = spec.resource(resource.Type)?.tagInformation;
    if (!info) return [];
    const tags = resource.Properties?.[info.tagPropertyName];
    const tagged =
      info.variant === 'map'
        ? isObject(tags) && JSON.stringify(tags[RUN_TAG]) === JSON.stringify(runTag)
        : Array.isArray(tags) &&
          tags.some(
            (t) =>
              isObject(t) &&
              t.Key === RUN_TAG &&
              JSON.stringify(t.Value) === JSON.stringify(runTag) &&
              // An auto scaling group's tag reaches its instances only with PropagateAtLaunch.
              (info.variant !== 'asg' || t.PropagateAtLaunch === true),
          );
    return tagged ? [] : [`${id} (${resource.Type}): no ${RUN_TAG} tag in ${info.tagPropertyName}`];
  });
}

/** Fn::Sub of a plain string with parameter values (enough for names). */
const sub = (value: Json | undefined, parameters: Record<string, string>): string => {
  const text = intrinsicOf(value)?.[0] === 'Fn::Sub' ? String(intrinsicOf(value)?.[1]) : String(value);
  return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const v = parameters[name];
    if (v === undefined) throw new Error(`no value for \${${name}} in ${text}`);
    return v;
  });
};

// ------------------------------------------------------------------------------------------------ tests

let spec: Spec;
let template: Template;
beforeAll(async () => {
  spec = await loadSpec();
  template = parseTemplate(readFileSync(TEMPLATE_PATH, 'utf8'));
});

const resourcesOfType = (type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const only = (type: string): Resource => {
  const found = resourcesOfType(type);
  expect(
    found.map(([id]) => id),
    `one ${type}`,
  ).toHaveLength(1);
  return (found[0] as [string, Resource])[1];
};
const props = (resource: Resource) => resource.Properties ?? {};
const stages = () => props(only('AWS::CodePipeline::Pipeline')).Stages as JsonObject[];
/** The arguments of an `Fn::If` (condition, then, else), or undefined for any other value. */
const ifArgs = (value: Json | undefined): Json[] | undefined => {
  const intrinsic = intrinsicOf(value);
  return intrinsic?.[0] === 'Fn::If' && Array.isArray(intrinsic[1]) ? intrinsic[1] : undefined;
};

describe('capstone.yaml against the CloudFormation resource schemas', () => {
  it('parses as CloudFormation YAML, reading every short-form intrinsic as its long form', () => {
    expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
    const forms = [
      '!Ref X',
      '!GetAtt Res.Endpoint.Address',
      "!Sub 'arn:aws:s3:::b/*'",
      '!If [C, a, b]',
      "!Select [0, !GetAZs '']",
      "!Join ['-', [a, b]]",
      "!Split [',', 'a,b']",
      '!Equals [a, b]',
      '!Not [!Condition C]',
      '!And [!Condition C, !Condition D]',
      '!Or [!Condition C, !Condition D]',
      '!FindInMap [M, k, v]',
      '!ImportValue E',
      "!Base64 { 'Fn::Sub': x }",
      '!Cidr [10.0.0.0/16, 2, 8]',
    ];
    const parsed = parseTemplate(`Resources: {}\nOutputs:\n${forms.map((f) => `  - ${f}\n`).join('')}`);
    expect(parsed.Outputs).toEqual([
      { Ref: 'X' },
      { 'Fn::GetAtt': ['Res', 'Endpoint.Address'] },
      { 'Fn::Sub': 'arn:aws:s3:::b/*' },
      { 'Fn::If': ['C', 'a', 'b'] },
      { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      { 'Fn::Join': ['-', ['a', 'b']] },
      { 'Fn::Split': [',', 'a,b'] },
      { 'Fn::Equals': ['a', 'b'] },
      { 'Fn::Not': [{ Condition: 'C' }] },
      { 'Fn::And': [{ Condition: 'C' }, { Condition: 'D' }] },
      { 'Fn::Or': [{ Condition: 'C' }, { Condition: 'D' }] },
      { 'Fn::FindInMap': ['M', 'k', 'v'] },
      { 'Fn::ImportValue': 'E' },
      { 'Fn::Base64': { 'Fn::Sub': 'x' } },
      { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] },
    ]);
    expect(() => parseTemplate('Resources: {}\nOutputs: { X: { Value: !Nope x } }\n')).toThrow(
      /Unresolved tag: !Nope/,
    );
  });

  it('uses only resource types, resource attributes and property names the schemas know, with required properties and allowed values', () => {
    expect(resourceProblems(spec, template)).toEqual([]);
  });

  it('refers only to parameters, resources, pseudo parameters, attributes and conditions that exist', () => {
    expect(referenceProblems(spec, template)).toEqual([]);
  });

  it('tags every resource that takes tags with the run id, the launch template and what it launches included', () => {
    expect(untagged(spec, template)).toEqual([]);
    const launchTemplate = props(only('AWS::EC2::LaunchTemplate'));
    const tagged = (specs: Json | undefined) =>
      (specs as JsonObject[])
        .filter((s) => (s.Tags as JsonObject[]).some((t) => t.Key === RUN_TAG))
        .map((s) => s.ResourceType);
    expect(tagged(launchTemplate.TagSpecifications)).toEqual(['launch-template']);
    expect(tagged((launchTemplate.LaunchTemplateData as JsonObject).TagSpecifications)).toEqual([
      'instance',
      'volume',
    ]);
  });

  it('tags the pipeline as a test target, so destructive scenarios may run on it', () => {
    expect(props(only('AWS::CodePipeline::Pipeline')).Tags).toContainEqual({
      Key: TEST_TARGET_TAG,
      Value: 'true',
    });
  });
});

describe('what the checks catch', () => {
  const fragment = (resources: string) => parseTemplate(`Resources:\n${resources}`);

  it('names an unknown property with its path and what the type has', () => {
    const problems = resourceProblems(
      spec,
      fragment(
        [
          '  Group:',
          '    Type: AWS::ElasticLoadBalancingV2::TargetGroup',
          '    Properties:',
          '      HealthyThresholdCounts: 2',
          '      Matcher: { HttpCodes: "200" }',
        ].join('\n'),
      ),
    );
    expect(problems.map((p) => p.replace(/ \(it has .*\)$/, ''))).toMatchInlineSnapshot(`
      [
        "Group.HealthyThresholdCounts: AWS::ElasticLoadBalancingV2::TargetGroup has no property HealthyThresholdCounts",
        "Group.Matcher.HttpCodes: Matcher has no property HttpCodes",
      ]
    `);
  });

  it('names an unknown type, a missing required property, a value outside the enum and a wrong branch of Fn::If', () => {
    const problems = resourceProblems(
      spec,
      fragment(
        [
          '  Thing:',
          '    Type: AWS::EC2::Nope',
          '  Pipeline:',
          '    Type: AWS::CodePipeline::Pipeline',
          '    Properties:',
          '      RoleArn: arn',
          '      ExecutionMode: !If [C, QUEUED, SOMETIMES]',
        ].join('\n'),
      ),
    );
    expect(problems).toMatchInlineSnapshot(`
      [
        "Thing: unknown resource type AWS::EC2::Nope",
        "Pipeline.ExecutionMode(If false): "SOMETIMES" is not one of QUEUED, SUPERSEDED, PARALLEL",
        "Pipeline: required property Stages of AWS::CodePipeline::Pipeline is missing",
      ]
    `);
  });

  it('names a reference to nothing, an unknown attribute and an unknown condition', () => {
    const problems = referenceProblems(spec, {
      ...fragment(
        [
          '  Bucket:',
          '    Type: AWS::S3::Bucket',
          '    Condition: Sometimes',
          '    DependsOn: Ghost',
          '    Properties:',
          `      BucketName: !Sub '\${RunId}-\${Prefix}-\${!Literal}'`,
          '      Tags: [{ Key: k, Value: !GetAtt Bucket.Nope }]',
        ].join('\n'),
      ),
      Parameters: { RunId: { Type: 'String' } },
      Conditions: {},
      Outputs: {},
    });
    expect(problems.map((p) => p.replace(/ \(it has .*\)$/, ''))).toMatchInlineSnapshot(`
      [
        "Resources.Bucket.Properties.BucketName: reference to Prefix, which is no parameter, resource or pseudo parameter",
        "Resources.Bucket.Properties.Tags[0].Value: Bucket (AWS::S3::Bucket) has no attribute Nope",
        "Bucket.DependsOn: unknown resource Ghost",
        "Bucket.Condition: unknown condition Sometimes",
      ]
    `);
  });
});

describe('capstone.yaml against what the harness expects', () => {
  const parameters = (runId: string) => ({ Prefix: 'cph', RunId: runId });

  it('names resources as stackNames does, from the Prefix and RunId parameters', () => {
    expect(template.Parameters.Prefix?.Default).toBe('cph');
    const names = stackNames('r7k2q');
    const name = (type: string, property: string) => sub(props(only(type))[property], parameters('r7k2q'));
    expect({
      pipelineName: name('AWS::CodePipeline::Pipeline', 'Name'),
      repositoryName: name('AWS::CodeCommit::Repository', 'RepositoryName'),
      buildProjectName: name('AWS::CodeBuild::Project', 'Name'),
      applicationName: name('AWS::CodeDeploy::Application', 'ApplicationName'),
      deploymentGroupName: name('AWS::CodeDeploy::DeploymentGroup', 'DeploymentGroupName'),
      loadBalancerName: name('AWS::ElasticLoadBalancingV2::LoadBalancer', 'Name'),
      targetGroupName: name('AWS::ElasticLoadBalancingV2::TargetGroup', 'Name'),
      autoScalingGroupName: name('AWS::AutoScaling::AutoScalingGroup', 'AutoScalingGroupName'),
    }).toEqual({
      pipelineName: names.pipelineName,
      repositoryName: names.repositoryName,
      buildProjectName: names.buildProjectName,
      applicationName: names.applicationName,
      deploymentGroupName: names.deploymentGroupName,
      loadBalancerName: names.loadBalancerName,
      targetGroupName: names.targetGroupName,
      autoScalingGroupName: names.autoScalingGroupName,
    });
    // The run id pattern is stackNames' own, and the longest ELBv2 name fits its 32 characters.
    expect(template.Parameters.RunId?.AllowedPattern).toBe('^[a-z0-9][a-z0-9-]{0,15}$');
    expect(
      name('AWS::ElasticLoadBalancingV2::TargetGroup', 'Name')
        .replace('r7k2q', 'x'.repeat(16))
        .replace('cph', 'p'.repeat(8)).length,
    ).toBeLessThanOrEqual(32);
  });

  it("declares the stages and actions the harness's default config names: Source, BuildAndTest, Approval (ManualApproval), Deploy", () => {
    const pipeline = props(only('AWS::CodePipeline::Pipeline'));
    expect(pipeline.PipelineType).toBe('V2');
    expect(pipeline.ExecutionMode).toEqual({ Ref: 'ExecutionMode' });
    expect(template.Parameters.ExecutionMode?.Default).toBe('SUPERSEDED');
    const declared = stages().map((stage) => ({
      name: stage.Name,
      actions: (stage.Actions as Json[]).flatMap((action) => {
        // The Source action is one of two, by condition: both must have the stage's shape.
        const branches = ifArgs(action);
        const variants = (branches ? branches.slice(1) : [action]) as JsonObject[];
        return [...new Set(variants.map((a) => `${a.Name} (${(a.ActionTypeId as JsonObject).Category})`))];
      }),
    }));
    const { stages: named, approvalActionName } = loadConfig({ env: {} });
    expect(declared).toEqual([
      { name: named.source, actions: ['Source (Source)'] },
      { name: named.build, actions: ['BuildAndTest (Build)'] },
      { name: named.approval, actions: [`${approvalActionName} (Approval)`] },
      { name: named.deploy, actions: ['Deploy (Deploy)'] },
    ]);
  });

  it('starts the pipeline on a push as AWS recommends: an EventBridge rule for CodeCommit, DetectChanges for CodeConnections', () => {
    const [action] = (stages()[0]?.Actions ?? []) as Json[];
    const [condition, connection, codecommit] = (ifArgs(action) ?? []) as [string, JsonObject, JsonObject];
    expect(condition).toBe('UseCodeConnections');
    expect(connection.ActionTypeId).toMatchObject({ Provider: 'CodeStarSourceConnection' });
    expect(connection.Configuration).toMatchObject({
      DetectChanges: true,
      ConnectionArn: { Ref: 'ConnectionArn' },
    });
    expect(codecommit.ActionTypeId).toMatchObject({ Provider: 'CodeCommit' });
    expect(codecommit.Configuration).toMatchObject({ PollForSourceChanges: false });

    const rule = only('AWS::Events::Rule');
    expect(rule.Condition).toBe('UseCodeCommit');
    expect(props(rule).EventPattern).toMatchObject({
      source: ['aws.codecommit'],
      detail: { referenceType: ['branch'], referenceName: [{ Ref: 'BranchName' }] },
    });
    const [target] = props(rule).Targets as JsonObject[];
    expect(subReferences(String(intrinsicOf(target?.Arn)?.[1]))).toContain('Pipeline');
    expect(only('AWS::CodeCommit::Repository').Condition).toBe('UseCodeCommit');
  });

  it('creates the deployment group in place with the fleet, the target group and both automatic rollbacks (blue/green is switched on after create)', () => {
    const group = props(only('AWS::CodeDeploy::DeploymentGroup'));
    expect(group).toMatchObject({
      DeploymentStyle: { DeploymentType: 'IN_PLACE', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      AutoScalingGroups: [{ Ref: 'AutoScalingGroup' }],
      LoadBalancerInfo: {
        TargetGroupInfoList: [{ Name: { 'Fn::GetAtt': ['TargetGroup', 'TargetGroupName'] } }],
      },
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      },
    });
    // CloudFormation refuses BLUE_GREEN with AutoScalingGroups for EC2: see sample-app/infra/README.md.
    expect(group).not.toHaveProperty('BlueGreenDeploymentConfiguration');
  });

  it('checks health on the app port with short thresholds, and opens that port to the load balancer only', () => {
    const group = props(only('AWS::ElasticLoadBalancingV2::TargetGroup'));
    expect(group).toMatchObject({
      Port: { Ref: 'AppPort' },
      HealthCheckPort: 'traffic-port',
      HealthCheckPath: { Ref: 'HealthCheckPath' },
    });
    expect(Number(group.HealthyThresholdCount)).toBeLessThanOrEqual(2);
    expect(Number(group.HealthCheckIntervalSeconds)).toBeLessThanOrEqual(10);
    expect(template.Parameters.HealthCheckPath?.AllowedValues).toEqual(['/health', '/version']);
    expect(props(only('AWS::EC2::SecurityGroupIngress'))).toMatchObject({
      FromPort: { Ref: 'AppPort' },
      ToPort: { Ref: 'AppPort' },
      SourceSecurityGroupId: { 'Fn::GetAtt': ['LoadBalancerSecurityGroup', 'GroupId'] },
    });
  });

  it("outputs everything the harness reads, the stage names equal to the pipeline's", () => {
    const needed = [
      'PipelineName',
      'SourceStageName',
      'BuildStageName',
      'ApprovalStageName',
      'ApprovalActionName',
      'DeployStageName',
      'ApplicationName',
      'DeploymentGroupName',
      'DeploymentGroupArn',
      'LoadBalancerName',
      'LoadBalancerDnsName',
      'ListenerPort',
      'TargetGroupArn',
      'AutoScalingGroupName',
      'RepositoryCloneUrlHttp',
      'RepositoryName',
      'Branch',
      'ArtifactBucketName',
      'BuildProjectName',
    ];
    expect(needed.filter((key) => !(key in template.Outputs))).toEqual([]);
    expect(
      ['SourceStageName', 'BuildStageName', 'ApprovalStageName', 'DeployStageName'].map(
        (k) => template.Outputs[k]?.Value,
      ),
    ).toEqual(stages().map((stage) => stage.Name));
    expect(template.Outputs.ApprovalActionName?.Value).toBe('ManualApproval');
    expect(
      sub(template.Outputs.DeploymentGroupArn?.Value, {
        'AWS::Partition': 'aws',
        'AWS::Region': 'eu-west-1',
        'AWS::AccountId': '123456789012',
        CodeDeployApplication: 'cph-r1-app',
        DeploymentGroup: 'cph-r1-dg',
      }),
    ).toBe('arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:cph-r1-app/cph-r1-dg');
  });
});
