/**
 * EventBridge event patterns (aws-semantics-events-auth-regions §2.6): validation as PutRule does it and matching
 * as the bus does it. Supported: exact values (strings, numbers by their text, booleans, null), arrays as OR,
 * array intersection for array fields, nested objects, `prefix`, `suffix`, `anything-but` (value, list or
 * `{prefix}`), `exists`, `equals-ignore-case`, `wildcard`, `numeric` and `$or`. `cidr` is refused as not
 * implemented rather than silently never matching.
 *
 * @example
 * const pattern = parsePattern('{"source":["aws.codepipeline"],"detail":{"pipeline":["web"]}}');
 * matches(pattern, event); // true for every event of pipeline web
 */
import { ServiceError } from '../protocol/errors.ts';

/** A parsed pattern: an object whose leaves are arrays of allowed values or filter objects. */
export type EventPattern = { readonly [key: string]: unknown };

/** EventBridge caps a pattern at 4096 characters (model `EventPattern` max). */
const MAX_PATTERN_CHARS = 4096;

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'equals-ignore-case',
  'wildcard',
  'numeric',
]);

function invalid(reason: string): ServiceError {
  // The wording AWS uses: "Event pattern is not valid. Reason: <detail>" (§2.1).
  return new ServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
}

/** Parses and validates a pattern as PutRule / TestEventPattern do; throws `InvalidEventPatternException`. */
export function parsePattern(text: string): EventPattern {
  if (text.length > MAX_PATTERN_CHARS) {
    throw invalid(`The pattern is ${text.length} characters; at most ${MAX_PATTERN_CHARS} are allowed`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`Filter is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('Filter is not an object');
  }
  validateObject(parsed as Record<string, unknown>, '');
  return parsed as EventPattern;
}

function validateObject(obj: Record<string, unknown>, path: string): void {
  const keys = Object.keys(obj);
  if (keys.length === 0) throw invalid(`Empty objects are not allowed${path ? ` at "${path}"` : ''}`);
  for (const key of keys) {
    const value = obj[key];
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2)
        throw invalid(`"$or" must be an array of at least 2 objects`);
      for (const branch of value) {
        if (branch === null || typeof branch !== 'object' || Array.isArray(branch))
          throw invalid(`"$or" must hold objects`);
        validateObject(branch as Record<string, unknown>, path);
      }
    } else if (Array.isArray(value)) {
      for (const item of value) validateLeaf(item, at);
    } else if (value !== null && typeof value === 'object') {
      validateObject(value as Record<string, unknown>, at);
    } else {
      throw invalid(`"${key}" must be an object or an array`);
    }
  }
}

function validateLeaf(item: unknown, at: string): void {
  if (item === null || typeof item !== 'object') return;
  if (Array.isArray(item)) throw invalid(`Arrays of arrays are not allowed at "${at}"`);
  const entries = Object.entries(item as Record<string, unknown>);
  if (entries.length !== 1) throw invalid(`A filter object at "${at}" must have exactly one operator`);
  const [op, arg] = entries[0]!;
  if (op === 'cidr') {
    throw new ServiceError(
      'NotImplemented',
      `The sandbox's EventBridge does not implement the "cidr" filter (at "${at}"); use it against AWS`,
    );
  }
  if (!OPERATORS.has(op)) throw invalid(`Unrecognized match type ${op} at "${at}"`);
  if (op === 'exists' && typeof arg !== 'boolean')
    throw invalid(`exists match pattern must be either true or false.`);
  if (
    (op === 'prefix' || op === 'suffix' || op === 'equals-ignore-case' || op === 'wildcard') &&
    !isTextArg(arg)
  ) {
    throw invalid(
      `${op} match pattern must be a string${op === 'prefix' || op === 'suffix' ? ' or {"equals-ignore-case": string}' : ''}`,
    );
  }
  if (op === 'numeric' && (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0)) {
    throw invalid(`Value of numeric must be an array of operator and number pairs at "${at}"`);
  }
}

function isTextArg(arg: unknown): boolean {
  if (typeof arg === 'string') return true;
  return (
    arg !== null &&
    typeof arg === 'object' &&
    typeof (arg as Record<string, unknown>)['equals-ignore-case'] === 'string'
  );
}

/** Whether `event` matches `pattern` (every named field present and allowed; arrays intersect). */
export function matches(pattern: EventPattern, event: unknown): boolean {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  const obj = event as Record<string, unknown>;
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(spec as EventPattern[]).some((branch) => matches(branch, obj))) return false;
      continue;
    }
    const present = Object.hasOwn(obj, key);
    const value = obj[key];
    if (Array.isArray(spec)) {
      if (!matchesLeaf(spec, present, value)) return false;
    } else if (!present || !matches(spec as EventPattern, value)) {
      return false;
    }
  }
  return true;
}

function matchesLeaf(allowed: readonly unknown[], present: boolean, value: unknown): boolean {
  // exists:false is the only test a missing field can pass.
  if (!present) return allowed.some((a) => isOp(a, 'exists') && (a as { exists: boolean }).exists === false);
  const values = Array.isArray(value) ? value : [value];
  return allowed.some((a) => {
    if (isOp(a, 'exists')) return (a as { exists: boolean }).exists === true;
    if (isOp(a, 'anything-but')) {
      const excluded = (a as Record<string, unknown>)['anything-but'];
      return values.length > 0 && values.every((v) => !matchesAnythingButTarget(excluded, v));
    }
    return values.some((v) => matchesOne(a, v));
  });
}

function isOp(a: unknown, op: string): boolean {
  return a !== null && typeof a === 'object' && !Array.isArray(a) && Object.hasOwn(a, op);
}

/** Whether `v` is one of the values an `anything-but` excludes. */
function matchesAnythingButTarget(excluded: unknown, v: unknown): boolean {
  if (Array.isArray(excluded)) return excluded.some((e) => matchesOne(e, v));
  if (excluded !== null && typeof excluded === 'object') return matchesOne(excluded, v);
  return matchesOne(excluded, v);
}

function matchesOne(allowed: unknown, v: unknown): boolean {
  if (allowed === null) return v === null;
  if (typeof allowed === 'string') return typeof v === 'string' && v === allowed;
  // Numbers compare by their text (§2.6): 300 and 300.0 differ on AWS; JSON.parse has lost that already.
  if (typeof allowed === 'number') return typeof v === 'number' && String(v) === String(allowed);
  if (typeof allowed === 'boolean') return v === allowed;
  const [op, arg] = Object.entries(allowed as Record<string, unknown>)[0] ?? [];
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && textTest(arg, v, (s, p) => s.startsWith(p));
    case 'suffix':
      return typeof v === 'string' && textTest(arg, v, (s, p) => s.endsWith(p));
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof arg === 'string' && v.toLowerCase() === arg.toLowerCase();
    case 'wildcard':
      return typeof v === 'string' && typeof arg === 'string' && wildcard(arg).test(v);
    case 'numeric':
      return typeof v === 'number' && numeric(arg as unknown[], v);
    default:
      return false;
  }
}

function textTest(arg: unknown, v: string, test: (s: string, p: string) => boolean): boolean {
  if (typeof arg === 'string') return test(v, arg);
  const folded = (arg as Record<string, string>)['equals-ignore-case']!;
  return test(v.toLowerCase(), folded.toLowerCase());
}

function wildcard(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function numeric(pairs: readonly unknown[], v: number): boolean {
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const op = pairs[i];
    const n = Number(pairs[i + 1]);
    const ok =
      op === '='
        ? v === n
        : op === '<'
          ? v < n
          : op === '<='
            ? v <= n
            : op === '>'
              ? v > n
              : op === '>='
                ? v >= n
                : false;
    if (!ok) return false;
  }
  return true;
}
