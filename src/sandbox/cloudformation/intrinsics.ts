/**
 * The intrinsic functions of the template language (reference §3.1–§3.5): `Ref`, `Fn::GetAtt`, `Fn::Sub` (both
 * forms), `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::GetAZs`, `Fn::If`, `Fn::Equals` / `And` / `Or` / `Not`,
 * `Fn::Base64`, `Fn::Cidr`, `Fn::FindInMap`, `Fn::ImportValue`, and `AWS::NoValue`. Evaluation is pure: what a
 * name means (a parameter, a pseudo parameter, a created resource's physical id or attribute) comes from the
 * {@link EvalContext} the caller gives.
 *
 * @example
 * evaluate({ 'Fn::Join': ['-', [{ Ref: 'AWS::Region' }, 'x']] }, ctx); // 'us-east-1-x'
 */
import { templateError } from './template.ts';

/** What `{"Ref": "AWS::NoValue"}` evaluates to: the property (or list item) holding it is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** Where names are looked up while evaluating. */
export interface EvalContext {
  /** A parameter, pseudo parameter or resource's `Ref` value; throws when there is none. */
  ref(name: string): unknown;
  /** A resource attribute; throws when the resource or attribute has none. */
  getAtt(resource: string, attribute: string): unknown;
  /** A named condition's value. */
  condition(name: string): boolean;
  /** An export of another stack (`Fn::ImportValue`). */
  importValue(name: string): string;
  readonly mappings: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  readonly region: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `[name, argument]` when `value` is an intrinsic function call (`{Ref: x}` or `{"Fn::X": args}`). */
export function functionCall(value: unknown): [string, unknown] | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as string;
  if (key === 'Ref' || key.startsWith('Fn::')) return [key, value[key]];
  return undefined;
}

/** The text CloudFormation puts in a template error about a function's arguments. */
function badArgs(fn: string, expected: string): Error {
  return templateError(`Template error: ${fn} ${expected}`);
}

/** A scalar as the string CloudFormation substitutes (numbers and booleans as written). */
export function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw templateError(`Template error: ${where} needs a string, got ${JSON.stringify(value) ?? 'nothing'}`);
}

/**
 * Splits `Fn::Sub`'s string into literal parts and `${Name}` / `${Res.Attr}` references; `${!Literal}` is the
 * literal `${Literal}` (reference §3.2).
 */
export function subParts(text: string): ({ literal: string } | { name: string })[] {
  const parts: ({ literal: string } | { name: string })[] = [];
  const re = /\$\{([^}]*)\}/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) parts.push({ literal: text.slice(last, m.index) });
    const inner = m[1] as string;
    if (inner.startsWith('!')) parts.push({ literal: `\${${inner.slice(1)}}` });
    else parts.push({ name: inner.trim() });
    last = re.lastIndex;
  }
  if (last < text.length) parts.push({ literal: text.slice(last) });
  return parts;
}

function subArgs(arg: unknown): { text: string; vars: Record<string, unknown> } {
  if (typeof arg === 'string') return { text: arg, vars: {} };
  if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && isObject(arg[1])) {
    return { text: arg[0], vars: arg[1] };
  }
  throw badArgs(
    'Fn::Sub',
    `takes a string, or a list of a string and a map of variables: ["\${Var}-x", {Var: value}]`,
  );
}

/** `Fn::GetAtt`'s two parts; the malformed-call wording is reference §3.7's. */
export function getAttArgs(arg: unknown): [string, string] {
  if (typeof arg === 'string' && arg.includes('.')) {
    const dot = arg.indexOf('.');
    return [arg.slice(0, dot), arg.slice(dot + 1)];
  }
  if (
    Array.isArray(arg) &&
    arg.length === 2 &&
    typeof arg[0] === 'string' &&
    arg[0] !== '' &&
    typeof arg[1] === 'string' &&
    arg[1] !== ''
  ) {
    return [arg[0], arg[1]];
  }
  throw templateError(
    'Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute',
  );
}

/** The stack region's availability zones (reference §3.3: a fixed list for the emulator). */
export function availabilityZones(region: string): string[] {
  return ['a', 'b', 'c'].map((s) => `${region}${s}`);
}

function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw badArgs('Fn::Cidr', `needs an IPv4 address block like 10.0.0.0/16, got '${ip}'`);
  }
  return (
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) >>>
    0
  );
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * `Fn::Cidr: [ipBlock, count, cidrBits]`: `count` consecutive blocks of `cidrBits` host bits (so /`32-cidrBits`).
 *
 * @example
 * cidr('10.42.0.0/16', 2, 8); // ['10.42.0.0/24', '10.42.1.0/24']
 */
export function cidr(block: string, count: number, hostBits: number): string[] {
  const [ip, prefixText] = block.split('/');
  const prefix = Number(prefixText);
  if (!ip || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw badArgs('Fn::Cidr', `needs an IPv4 address block like 10.0.0.0/16, got '${block}'`);
  }
  if (!Number.isInteger(count) || count < 1 || count > 256) throw badArgs('Fn::Cidr', 'count must be 1..256');
  const newPrefix = 32 - hostBits;
  if (!Number.isInteger(hostBits) || newPrefix < prefix || newPrefix > 32) {
    throw badArgs('Fn::Cidr', `cidrBits ${hostBits} does not fit in ${block}`);
  }
  if (count > 2 ** (newPrefix - prefix)) {
    throw badArgs('Fn::Cidr', `${block} holds fewer than ${count} blocks of /${newPrefix}`);
  }
  const base = ipv4ToInt(ip) & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);
  const size = 2 ** hostBits;
  return Array.from({ length: count }, (_, i) => `${intToIpv4((base + i * size) >>> 0)}/${newPrefix}`);
}

/** Evaluates a condition expression (the Conditions section, `Fn::If`'s name, `Fn::And`/`Or`/`Not` items). */
export function evaluateCondition(expr: unknown, ctx: EvalContext): boolean {
  if (typeof expr === 'string') return ctx.condition(expr);
  if (isObject(expr) && Object.keys(expr).length === 1 && typeof expr.Condition === 'string') {
    return ctx.condition(expr.Condition);
  }
  const call = functionCall(expr);
  if (!call) {
    throw templateError(
      `Template error: a condition is Fn::Equals, Fn::And, Fn::Or, Fn::Not or {Condition: Name}, got ${JSON.stringify(expr)}`,
    );
  }
  const [fn, arg] = call;
  switch (fn) {
    case 'Fn::Equals': {
      if (!Array.isArray(arg) || arg.length !== 2) throw badArgs(fn, 'takes a list of two values to compare');
      const [a, b] = arg.map((v) => evaluate(v, ctx));
      return stringify(a) === stringify(b);
    }
    case 'Fn::And':
    case 'Fn::Or': {
      if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) {
        throw badArgs(fn, 'takes a list of 2 to 10 conditions');
      }
      const values = arg.map((c) => evaluateCondition(c, ctx));
      return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
    }
    case 'Fn::Not': {
      if (!Array.isArray(arg) || arg.length !== 1) throw badArgs(fn, 'takes a list of one condition');
      return !evaluateCondition(arg[0], ctx);
    }
    default:
      throw templateError(`Template error: ${fn} cannot be used as a condition`);
  }
}

function stringify(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Replaces every `Fn::If` by the branch its condition picks (conditions depend on parameters only, so this is
 * known before any resource exists), so dependencies are read from the branches actually taken.
 */
export function selectBranches(value: unknown, condition: (name: string) => boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => selectBranches(v, condition));
  if (!isObject(value)) return value;
  const call = functionCall(value);
  if (call && call[0] === 'Fn::If') {
    const arg = call[1];
    if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') {
      throw badArgs('Fn::If', 'takes a list of a condition name, a value if true and a value if false');
    }
    return selectBranches(condition(arg[0]) ? arg[1] : arg[2], condition);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = selectBranches(v, condition);
  return out;
}

/** The names a value refers to: `Ref` targets, `Fn::GetAtt` resources and `Fn::Sub` names (reference §2.6). */
export function references(
  value: unknown,
  found: { refs: Set<string>; getAtts: Set<string> } = {
    refs: new Set(),
    getAtts: new Set(),
  },
): { refs: Set<string>; getAtts: Set<string> } {
  if (Array.isArray(value)) {
    for (const v of value) references(v, found);
    return found;
  }
  if (!isObject(value)) return found;
  const call = functionCall(value);
  if (call) {
    const [fn, arg] = call;
    if (fn === 'Ref' && typeof arg === 'string') {
      found.refs.add(arg);
      return found;
    }
    if (fn === 'Fn::GetAtt') {
      const [res, attr] = getAttArgs(arg);
      found.getAtts.add(res);
      references(attr, found);
      return found;
    }
    if (fn === 'Fn::Sub') {
      const { text, vars } = subArgs(arg);
      for (const part of subParts(text)) {
        if (!('name' in part) || Object.hasOwn(vars, part.name)) continue;
        const dot = part.name.indexOf('.');
        if (dot > 0) found.getAtts.add(part.name.slice(0, dot));
        else found.refs.add(part.name);
      }
      references(Object.values(vars), found);
      return found;
    }
  }
  for (const v of Object.values(value)) references(v, found);
  return found;
}

/** Evaluates every intrinsic in `value`; `NO_VALUE` results drop their property or list item. */
export function evaluate(value: unknown, ctx: EvalContext): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => evaluate(v, ctx)).filter((v) => v !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  const call = functionCall(value);
  if (call) return evaluateCall(call[0], call[1], ctx);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = evaluate(v, ctx);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function list(value: unknown, fn: string): unknown[] {
  if (!Array.isArray(value)) throw badArgs(fn, `needs a list, got ${JSON.stringify(value)}`);
  return value;
}

function evaluateCall(fn: string, arg: unknown, ctx: EvalContext): unknown {
  switch (fn) {
    case 'Ref': {
      if (typeof arg !== 'string')
        throw templateError('Template error: every Ref object must have a single String value.');
      if (arg === 'AWS::NoValue') return NO_VALUE;
      return ctx.ref(arg);
    }
    case 'Fn::GetAtt': {
      const [res, attr] = getAttArgs(arg);
      return ctx.getAtt(res, asString(evaluate(attr, ctx), 'Fn::GetAtt'));
    }
    case 'Fn::Sub': {
      const { text, vars } = subArgs(arg);
      const values = new Map<string, unknown>();
      for (const [k, v] of Object.entries(vars)) values.set(k, evaluate(v, ctx));
      return subParts(text)
        .map((part) => {
          if ('literal' in part) return part.literal;
          if (values.has(part.name)) return asString(values.get(part.name), `Fn::Sub variable ${part.name}`);
          const dot = part.name.indexOf('.');
          const v =
            dot > 0 ? ctx.getAtt(part.name.slice(0, dot), part.name.slice(dot + 1)) : ctx.ref(part.name);
          if (Array.isArray(v)) return v.join(',');
          return asString(v, `Fn::Sub reference \${${part.name}}`);
        })
        .join('');
    }
    case 'Fn::Join': {
      const a = list(arg, fn);
      if (a.length !== 2 || typeof a[0] !== 'string') {
        throw badArgs(fn, 'takes a list of a delimiter string and a list of values');
      }
      const items = evaluate(a[1], ctx);
      return list(items, fn)
        .map((v) => asString(v, 'Fn::Join item'))
        .join(a[0]);
    }
    case 'Fn::Select': {
      const a = list(arg, fn);
      if (a.length !== 2) throw badArgs(fn, 'takes a list of an index and a list of values');
      const index = Number(evaluate(a[0], ctx));
      const items = list(evaluate(a[1], ctx), fn);
      if (!Number.isInteger(index) || index < 0 || index >= items.length || items[index] === null) {
        throw templateError(`Template error: Fn::Select cannot select nonexistent value at index ${a[0]}`);
      }
      return items[index];
    }
    case 'Fn::Split': {
      const a = list(arg, fn);
      if (a.length !== 2 || typeof a[0] !== 'string') {
        throw badArgs(fn, 'takes a list of a delimiter string and a string to split');
      }
      return asString(evaluate(a[1], ctx), 'Fn::Split').split(a[0]);
    }
    case 'Fn::GetAZs': {
      const region = asString(evaluate(arg ?? '', ctx), 'Fn::GetAZs');
      return availabilityZones(region === '' ? ctx.region : region);
    }
    case 'Fn::If': {
      const a = list(arg, fn);
      if (a.length !== 3 || typeof a[0] !== 'string') {
        throw badArgs(fn, 'takes a list of a condition name, a value if true and a value if false');
      }
      return evaluate(ctx.condition(a[0]) ? a[1] : a[2], ctx);
    }
    case 'Fn::Equals':
    case 'Fn::And':
    case 'Fn::Or':
    case 'Fn::Not':
      return evaluateCondition({ [fn]: arg }, ctx);
    case 'Fn::Base64':
      return Buffer.from(asString(evaluate(arg, ctx), 'Fn::Base64'), 'utf8').toString('base64');
    case 'Fn::Cidr': {
      const a = list(evaluate(arg, ctx), fn);
      if (a.length !== 3)
        throw badArgs(fn, 'takes a list of an address block, a count and the host bits per block');
      return cidr(asString(a[0], fn), Number(a[1]), Number(a[2]));
    }
    case 'Fn::FindInMap': {
      const a = list(evaluate(arg, ctx), fn);
      if (a.length !== 3)
        throw badArgs(fn, 'takes a list of a map name, a top-level key and a second-level key');
      const [m, k1, k2] = a.map((v) => asString(v, fn));
      const map = ctx.mappings[m as string];
      if (!map)
        throw templateError(
          `Template error: Mapping named '${m}' is not present in the 'Mappings' section of template.`,
        );
      const v = map[k1 as string]?.[k2 as string];
      if (v === undefined) {
        throw templateError(`Template error: Unable to get mapping for ${m}::${k1}::${k2}`);
      }
      return v;
    }
    case 'Fn::ImportValue':
      return ctx.importValue(asString(evaluate(arg, ctx), fn));
    default:
      throw templateError(
        `Template error: ${fn} is not a function the sandbox evaluates (no AWS::LanguageExtensions transform); use Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::GetAZs, Fn::If, Fn::Equals, Fn::And, Fn::Or, Fn::Not, Fn::Base64, Fn::Cidr, Fn::FindInMap or Fn::ImportValue`,
      );
  }
}
