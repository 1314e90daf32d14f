/**
 * Reading a template: JSON first, then YAML (CloudFormation's order, reference §3.7), with the YAML short forms
 * (`!Ref X`, `!GetAtt A.B`, `!Sub ...`, `!If [...]`) turned into their long forms (`{Ref: X}`,
 * `{"Fn::GetAtt": [A, B]}`), then the structural checks CloudFormation makes before it creates anything.
 * Every error is the `ValidationError` CloudFormation answers, worded as in reference §3.7.
 *
 * @example
 * const t = parseTemplate('Resources:\n  Repo:\n    Type: AWS::CodeCommit::Repository\n    Properties:\n      RepositoryName: !Sub "${AWS::StackName}-repo"\n');
 * t.Resources.Repo.Properties; // { RepositoryName: { 'Fn::Sub': '${AWS::StackName}-repo' } }
 */
import { isMap, isScalar, isSeq, type Node, parseDocument } from 'yaml';
import { ServiceError } from '../protocol/errors.ts';

/** One declared resource, as written (intrinsics unresolved). */
export interface ResourceDeclaration {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  CreationPolicy?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** One declared parameter. */
export interface ParameterDeclaration {
  Type: string;
  Default?: unknown;
  AllowedValues?: unknown[];
  AllowedPattern?: string;
  ConstraintDescription?: string;
  Description?: string;
  MinLength?: number | string;
  MaxLength?: number | string;
  MinValue?: number | string;
  MaxValue?: number | string;
  NoEcho?: boolean | string;
}

export interface OutputDeclaration {
  Value: unknown;
  Description?: string;
  Condition?: string;
  Export?: { Name: unknown };
}

export interface RuleDeclaration {
  RuleCondition?: unknown;
  Assertions?: { Assert: unknown; AssertDescription?: string }[];
}

/** A parsed template. */
export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Transform?: unknown;
  Parameters?: Record<string, ParameterDeclaration>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Rules?: Record<string, RuleDeclaration>;
  Resources: Record<string, ResourceDeclaration>;
  Outputs?: Record<string, OutputDeclaration>;
  Metadata?: Record<string, unknown>;
}

/** The short-form tags CloudFormation's YAML accepts and the long form each stands for. */
const SHORT_FORMS: Readonly<Record<string, string>> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!GetAtt': 'Fn::GetAtt',
  '!Sub': 'Fn::Sub',
  '!Join': 'Fn::Join',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!GetAZs': 'Fn::GetAZs',
  '!If': 'Fn::If',
  '!Equals': 'Fn::Equals',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Not': 'Fn::Not',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!FindInMap': 'Fn::FindInMap',
  '!ImportValue': 'Fn::ImportValue',
  '!Transform': 'Fn::Transform',
  '!Length': 'Fn::Length',
  '!ToJsonString': 'Fn::ToJsonString',
};

const TOP_LEVEL = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);

/** `ValidationError` with CloudFormation's wording. */
export function templateError(message: string): ServiceError {
  return new ServiceError('ValidationError', message);
}

function yamlToPlain(node: Node | null | undefined, path: string): unknown {
  if (node === null || node === undefined) return null;
  let value: unknown;
  if (isScalar(node)) value = node.value;
  else if (isSeq(node)) value = node.items.map((item, i) => yamlToPlain(item as Node, `${path}[${i}]`));
  else if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      out[key] = yamlToPlain(pair.value as Node, `${path}.${key}`);
    }
    value = out;
  } else {
    // Aliases and other node kinds: CloudFormation's YAML has no anchors in practice; read them as written.
    value = (node as { toJSON?: () => unknown }).toJSON?.() ?? null;
  }
  const tag = node.tag;
  if (tag === undefined || !tag.startsWith('!')) return value;
  const long = SHORT_FORMS[tag];
  if (!long) {
    const line = node.range ? ` near offset ${node.range[0]}` : '';
    throw templateError(
      `Template format error: YAML not well-formed. Unknown tag ${tag} at ${path}${line}; CloudFormation knows ${Object.keys(SHORT_FORMS).join(', ')}`,
    );
  }
  // `!GetAtt Res.Attr` is the one short form whose scalar is split: at the first dot (reference §3.1).
  if (long === 'Fn::GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { [long]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [long]: value };
}

function parseYaml(body: string): unknown {
  const doc = parseDocument(body, { uniqueKeys: true, merge: false, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw templateError(
      `Template format error: YAML not well-formed. ${pos ? `(line ${pos.line}, column ${pos.col}) ` : ''}${first.message.split('\n')[0]}`,
    );
  }
  return yamlToPlain(doc.contents as Node, 'template');
}

/** Parses a template body (JSON or YAML) and checks its sections; throws `ValidationError` as AWS words it. */
export function parseTemplate(body: string): Template {
  if (body.trim() === '') throw templateError('Template format error: the template body is empty');
  let parsed: unknown;
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      // JSON.parse's message names the position; CloudFormation says "(line L, column C)".
      const at = /position (\d+)/.exec((error as Error).message);
      const where = at ? lineColumn(body, Number(at[1])) : '';
      // A document starting with `{` may still be YAML flow style: try it before giving up.
      try {
        parsed = parseYaml(body);
      } catch {
        throw templateError(`Template format error: JSON not well-formed. ${where}`.trim());
      }
    }
  } else {
    parsed = parseYaml(body);
  }
  return checkSections(parsed);
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `(line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkSections(parsed: unknown): Template {
  if (!isObject(parsed)) {
    throw templateError('Template format error: a template is a JSON or YAML object (mapping) of sections');
  }
  const unknown = Object.keys(parsed).filter((k) => !TOP_LEVEL.has(k));
  if (unknown.length > 0) {
    throw templateError(
      `Template format error: Invalid template property or properties [${unknown.join(', ')}]`,
    );
  }
  const version = parsed.AWSTemplateFormatVersion;
  if (version !== undefined && String(version) !== '2010-09-09' && !(version instanceof Date)) {
    throw templateError(
      `Template format error: '${String(version)}' is not a supported value for AWSTemplateFormatVersion.`,
    );
  }
  if (parsed.Transform !== undefined) {
    throw templateError(
      'Template format error: the sandbox does not run transforms (macros, AWS::Serverless, AWS::LanguageExtensions); expand the template first (sam package / aws cloudformation package)',
    );
  }
  const resources = parsed.Resources;
  if (!isObject(resources) || Object.keys(resources).length === 0) {
    throw templateError('Template format error: At least one Resources member must be defined.');
  }
  for (const [name, r] of Object.entries(resources)) {
    if (!/^[A-Za-z0-9]+$/.test(name)) {
      throw templateError(`Template format error: Resource name ${name} is non alphanumeric.`);
    }
    if (!isObject(r) || typeof r.Type !== 'string') {
      throw templateError(
        `Template format error: [/Resources/${name}] Every Resources object must contain a Type member.`,
      );
    }
    if (r.Properties !== undefined && !isObject(r.Properties)) {
      throw templateError(
        `Template format error: [/Resources/${name}/Properties] Properties must be an object`,
      );
    }
  }
  const params = parsed.Parameters ?? {};
  if (!isObject(params)) throw templateError('Template format error: Parameters must be an object');
  for (const [name, p] of Object.entries(params)) {
    if (!isObject(p) || typeof p.Type !== 'string') {
      throw templateError('Template format error: Every Parameters object must contain a Type member.');
    }
    if (!/^[A-Za-z0-9]+$/.test(name)) {
      throw templateError(`Template format error: Parameter name ${name} is non alphanumeric.`);
    }
  }
  for (const section of ['Conditions', 'Outputs', 'Mappings', 'Rules'] as const) {
    if (parsed[section] !== undefined && !isObject(parsed[section])) {
      throw templateError(`Template format error: ${section} must be an object`);
    }
  }
  for (const [name, o] of Object.entries((parsed.Outputs ?? {}) as Record<string, unknown>)) {
    if (!isObject(o) || !('Value' in o)) {
      throw templateError(
        `Template format error: Every Outputs member must contain a Value object, the Outputs member ${name} is missing one.`,
      );
    }
  }
  return parsed as unknown as Template;
}
