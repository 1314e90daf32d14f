/**
 * Model-driven input validation shared by both codecs: required members, enum values, length and value
 * ranges, patterns, recursively through structures, lists and maps. Types are checked earlier by each
 * codec (a JSON type mismatch is a `SerializationException`, a Query one a `ValidationError`).
 *
 * The message copies the wording AWS services answer with (Coral validation, see aws-semantics §1.2 and
 * §6.11: wording UNVERIFIED verbatim), e.g.
 * `1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null`.
 */
import { validationError } from './errors.ts';
import { type ServiceModel, type Shape, shapeOf } from './model.ts';

/** Beyond this many violations AWS stops listing them; so do we (keeps messages bounded for huge inputs). */
const MAX_LISTED = 10;

const patternCache = new Map<string, RegExp | null>();

function compiled(pattern: string): RegExp | null {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    try {
      // Model patterns are whole-value constraints (Java `matches()` on the service side), so anchor them.
      re = new RegExp(`^(?:${pattern})$`, 'u');
    } catch {
      re = null; // a pattern JavaScript cannot compile is skipped rather than failing every request
    }
    patternCache.set(pattern, re);
  }
  return re;
}

function show(value: unknown, shape: Shape): string {
  if (value === undefined || value === null) return 'null';
  if (shape.sensitive) return "'***'";
  if (typeof value === 'string') return `'${value.length > 200 ? `${value.slice(0, 200)}...` : value}'`;
  if (Array.isArray(value))
    return `[${value.map((v) => (typeof v === 'object' ? '{...}' : String(v))).join(', ')}]`;
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (typeof value === 'object') return '{...}';
  return String(value);
}

interface Walk {
  model: ServiceModel;
  protocol: 'json' | 'query';
  errors: string[];
}

function fail(w: Walk, value: unknown, shape: Shape, path: string, constraint: string): void {
  w.errors.push(`Value ${show(value, shape)} at '${path}' failed to satisfy constraint: ${constraint}`);
}

function memberPath(w: Walk, parent: string, name: string): string {
  // Query services report members in lowerCamelCase ('targetGroupArn'), JSON ones as named.
  const shown = w.protocol === 'query' ? name.charAt(0).toLowerCase() + name.slice(1) : name;
  return parent ? `${parent}.${shown}` : shown;
}

function check(w: Walk, shapeName: string, value: unknown, path: string, depth: number): void {
  if (depth > 40) return; // recursive shapes: the codec has already bounded the input depth
  const shape = shapeOf(w.model, shapeName);
  switch (shape.type) {
    case 'structure': {
      const obj = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        const ref = shape.members?.[name];
        if (ref && (obj[name] === undefined || obj[name] === null)) {
          fail(w, null, shapeOf(w.model, ref.shape), memberPath(w, path, name), 'Member must not be null');
        }
      }
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const v = obj[name];
        if (v !== undefined && v !== null) check(w, ref.shape, v, memberPath(w, path, name), depth + 1);
      }
      return;
    }
    case 'list': {
      const list = value as unknown[];
      checkLength(w, shape, list, list.length, path);
      list.forEach((item, i) => {
        if (shape.member) check(w, shape.member.shape, item, `${path}.${i + 1}.member`, depth + 1);
      });
      return;
    }
    case 'map': {
      const map = value as Record<string, unknown>;
      const keys = Object.keys(map);
      checkLength(w, shape, map, keys.length, path);
      for (const k of keys) {
        if (shape.key) check(w, shape.key.shape, k, `${path}.${k}.key`, depth + 1);
        if (shape.value) check(w, shape.value.shape, map[k], `${path}.${k}.value`, depth + 1);
      }
      return;
    }
    case 'string': {
      const s = value as string;
      if (shape.enum && !shape.enum.includes(s)) {
        fail(w, s, shape, path, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
        return;
      }
      checkLength(w, shape, s, [...s].length, path);
      if (shape.pattern) {
        const re = compiled(shape.pattern);
        if (re && !re.test(s))
          fail(w, s, shape, path, `Member must satisfy regular expression pattern: ${shape.pattern}`);
      }
      return;
    }
    case 'blob':
      checkLength(w, shape, value, (value as Buffer).length, path);
      return;
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const n = value as number;
      if (shape.min !== undefined && n < shape.min) {
        fail(w, n, shape, path, `Member must have value greater than or equal to ${shape.min}`);
      }
      if (shape.max !== undefined && n > shape.max) {
        fail(w, n, shape, path, `Member must have value less than or equal to ${shape.max}`);
      }
      return;
    }
    default:
      return;
  }
}

function checkLength(w: Walk, shape: Shape, value: unknown, length: number, path: string): void {
  if (shape.min !== undefined && length < shape.min) {
    fail(w, value, shape, path, `Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.max !== undefined && length > shape.max) {
    fail(w, value, shape, path, `Member must have length less than or equal to ${shape.max}`);
  }
}

/**
 * Validates a decoded input against its input shape; throws the protocol's validation error listing the
 * violations (`ValidationException` for JSON 1.1, `ValidationError` for Query), or returns quietly.
 */
export function validateInput(
  model: ServiceModel,
  shapeName: string,
  input: Record<string, unknown>,
  protocol: 'json' | 'query',
): void {
  const w: Walk = { model, protocol, errors: [] };
  check(w, shapeName, input, '', 0);
  if (w.errors.length === 0) return;
  const n = w.errors.length;
  const listed = w.errors.slice(0, MAX_LISTED).join('; ');
  throw validationError(`${n} validation error${n === 1 ? '' : 's'} detected: ${listed}`, protocol);
}
