/**
 * Template parameters (reference §3.6, §2.4): supplied values checked against the declaration (AllowedValues,
 * AllowedPattern, lengths, number bounds), defaults filled in, list types split, and SSM-typed parameters
 * resolved. The sandbox has no Parameter Store: the public AMI parameters (`/aws/service/ami-…`) resolve to a
 * fake AMI id that is the same for the same key; any other key is "unable to fetch", as on an account without it.
 */
import { createHash } from 'node:crypto';
import type { ParameterDeclaration } from './template.ts';
import { templateError } from './template.ts';

/** A supplied parameter (CreateStack `Parameters`). */
export interface ParameterInput {
  ParameterKey?: string;
  ParameterValue?: string;
  UsePreviousValue?: boolean;
}

/** A parameter as DescribeStacks shows it. */
export interface ParameterView {
  ParameterKey: string;
  ParameterValue: string;
  ResolvedValue?: string;
}

export interface ResolvedParameters {
  /** Name → value as `Ref` returns it (a string, or a list of strings for list types). */
  readonly values: Map<string, string | string[]>;
  readonly views: ParameterView[];
}

const AWS_TYPES =
  /^(List<)?AWS::(EC2::(AvailabilityZone::Name|Image::Id|Instance::Id|KeyPair::KeyName|SecurityGroup::GroupName|SecurityGroup::Id|Subnet::Id|Volume::Id|VPC::Id)|Route53::HostedZone::Id)>?$/;
const SSM_VALUE = /^AWS::SSM::Parameter::Value<(.+)>$/;

/** A fake AMI id, the same for the same SSM key (`ami-` and 17 hex digits, as AWS's). */
export function fakeAmiId(key: string): string {
  return `ami-${createHash('sha256').update(key).digest('hex').slice(0, 17)}`;
}

function checkType(name: string, type: string): void {
  if (['String', 'Number', 'List<Number>', 'CommaDelimitedList', 'AWS::SSM::Parameter::Name'].includes(type))
    return;
  if (AWS_TYPES.test(type)) return;
  const ssm = SSM_VALUE.exec(type);
  if (ssm) {
    const inner = ssm[1] as string;
    if (['String', 'List<String>', 'CommaDelimitedList'].includes(inner) || AWS_TYPES.test(inner)) return;
  }
  throw templateError(`Template format error: Unrecognized parameter type: ${type} (parameter ${name})`);
}

/** The text of a failed constraint: the ConstraintDescription replaces AWS's default (reference §2.4). */
function malformed(name: string, decl: ParameterDeclaration, detail: string): Error {
  return templateError(`Malformed input-Parameter ${name} ${decl.ConstraintDescription ?? detail}`);
}

function checkValue(name: string, decl: ParameterDeclaration, value: string): void {
  const items =
    decl.Type === 'List<Number>' || decl.Type === 'CommaDelimitedList'
      ? value.split(',').map((s) => s.trim())
      : [value];
  if (decl.AllowedValues !== undefined) {
    const allowed = decl.AllowedValues.map(String);
    if (items.some((v) => !allowed.includes(v))) {
      throw templateError(`Parameter '${name}' must be one of AllowedValues`);
    }
  }
  if (decl.AllowedPattern !== undefined) {
    const re = new RegExp(`^(?:${decl.AllowedPattern})$`);
    if (items.some((v) => !re.test(v)))
      throw malformed(name, decl, `must match pattern ${decl.AllowedPattern}`);
  }
  if (decl.MinLength !== undefined && value.length < Number(decl.MinLength)) {
    throw malformed(name, decl, `must contain at least ${decl.MinLength} characters`);
  }
  if (decl.MaxLength !== undefined && value.length > Number(decl.MaxLength)) {
    throw malformed(name, decl, `must contain at most ${decl.MaxLength} characters`);
  }
  if (decl.Type === 'Number' || decl.Type === 'List<Number>') {
    for (const v of items) {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) throw templateError(`Parameter '${name}' must be a number`);
      if (decl.MinValue !== undefined && n < Number(decl.MinValue)) {
        throw malformed(name, decl, `must be a number not less than ${decl.MinValue}`);
      }
      if (decl.MaxValue !== undefined && n > Number(decl.MaxValue)) {
        throw malformed(name, decl, `must be a number not greater than ${decl.MaxValue}`);
      }
    }
  }
}

/** Resolves an SSM-typed parameter's key (reference §3.6). */
function resolveSsm(key: string): string {
  if (key.startsWith('/aws/service/ami-') || key.startsWith('/aws/service/ami/')) return fakeAmiId(key);
  throw templateError(`Unable to fetch parameters [${key}] from parameter store for this account.`);
}

/**
 * Checks the supplied parameters against the declarations and resolves them.
 *
 * @example
 * resolveParameters({ Env: { Type: 'String', Default: 'dev' } }, []).values.get('Env'); // 'dev'
 */
export function resolveParameters(
  declared: Readonly<Record<string, ParameterDeclaration>>,
  supplied: readonly ParameterInput[],
): ResolvedParameters {
  for (const [name, decl] of Object.entries(declared)) checkType(name, decl.Type);
  const given = new Map<string, string>();
  for (const p of supplied) {
    if (!p.ParameterKey) throw templateError('Every parameter needs a ParameterKey');
    if (p.UsePreviousValue) {
      throw templateError(
        `Parameter ${p.ParameterKey}: UsePreviousValue is for stack updates; a new stack has no previous value`,
      );
    }
    given.set(p.ParameterKey, p.ParameterValue ?? '');
  }
  if (Object.keys(declared).length === 0 && given.size > 0) {
    throw templateError('Parameter values specified for a template which does not require them.');
  }
  const unknown = [...given.keys()].filter((k) => !Object.hasOwn(declared, k));
  if (unknown.length > 0)
    throw templateError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const missing = Object.entries(declared)
    .filter(([name, d]) => !given.has(name) && d.Default === undefined)
    .map(([name]) => name);
  if (missing.length > 0) throw templateError(`Parameters: [${missing.join(', ')}] must have values`);

  const values = new Map<string, string | string[]>();
  const views: ParameterView[] = [];
  for (const [name, decl] of Object.entries(declared)) {
    const raw =
      given.get(name) ?? (Array.isArray(decl.Default) ? decl.Default.join(',') : String(decl.Default));
    checkValue(name, decl, raw);
    const ssm = SSM_VALUE.exec(decl.Type);
    const noEcho = decl.NoEcho === true || decl.NoEcho === 'true';
    if (ssm) {
      const resolved = resolveSsm(raw);
      values.set(name, resolved);
      views.push({ ParameterKey: name, ParameterValue: raw, ResolvedValue: resolved });
      continue;
    }
    const list = decl.Type.startsWith('List<') || decl.Type === 'CommaDelimitedList';
    values.set(name, list ? raw.split(',').map((s) => s.trim()) : raw);
    views.push({ ParameterKey: name, ParameterValue: noEcho ? '****' : raw });
  }
  return { values, views };
}
