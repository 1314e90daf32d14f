/**
 * Reading resolved resource properties into service inputs: CloudFormation hands `Ref`s of Number parameters over
 * as strings and YAML booleans as booleans, while the service APIs want numbers, booleans and strings; a missing
 * required property fails the resource with the wording of CloudFormation's schema validation (reference §2.2.2).
 */
import { randomBytes } from 'node:crypto';
import { ResourceFailure, type Tag } from './types.ts';

export type Props = Record<string, unknown>;

function invalid(logicalId: string, detail: string): ResourceFailure {
  return new ResourceFailure(
    `Properties validation failed for resource ${logicalId} with message: [${detail}]`,
  );
}

/** A string property; `required` fails the resource when it is absent. */
export function str(p: Props, key: string, logicalId: string, required: true): string;
export function str(p: Props, key: string, logicalId: string, required?: false): string | undefined;
export function str(p: Props, key: string, logicalId: string, required = false): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(logicalId, `#: required key [${key}] not found`);
    return undefined;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(
    logicalId,
    `#/${key}: expected type: String, found: ${Array.isArray(v) ? 'JSONArray' : 'JSONObject'}`,
  );
}

/** A number property (CloudFormation accepts `"80"` for an integer). */
export function num(p: Props, key: string, logicalId: string, required = false): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) {
    if (required) throw invalid(logicalId, `#: required key [${key}] not found`);
    return undefined;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n))
    throw invalid(
      logicalId,
      `#/${key}: expected type: Number, found: ${typeof v === 'string' ? 'String' : 'JSONObject'}`,
    );
  return n;
}

/** A boolean property (`"true"` / `"false"` accepted). */
export function bool(p: Props, key: string, logicalId: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalid(
    logicalId,
    `#/${key}: expected type: Boolean, found: ${typeof v === 'string' ? 'String' : 'JSONObject'}`,
  );
}

/** A list-of-strings property. */
export function strings(p: Props, key: string, logicalId: string): string[] | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v))
    throw invalid(
      logicalId,
      `#/${key}: expected type: JSONArray, found: ${typeof v === 'string' ? 'String' : 'JSONObject'}`,
    );
  return v.map((item, i) => {
    if (typeof item === 'string' || typeof item === 'number') return String(item);
    throw invalid(logicalId, `#/${key}/${i}: expected type: String, found: JSONObject`);
  });
}

/** The resource's own `Tags` (`[{Key, Value}]`). */
export function tagsOf(p: Props, logicalId: string): Tag[] {
  const v = p.Tags;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(logicalId, '#/Tags: expected type: JSONArray, found: JSONObject');
  return v.map((t, i) => {
    const key = (t as Props)?.Key;
    const value = (t as Props)?.Value;
    if (typeof key !== 'string') throw invalid(logicalId, `#/Tags/${i}: required key [Key] not found`);
    return { Key: key, Value: value === undefined || value === null ? '' : String(value) };
  });
}

/** Resource tags win over stack tags of the same key; system tags come last. */
export function mergeTags(own: readonly Tag[], stack: readonly Tag[], system: readonly Tag[] = []): Tag[] {
  const merged = new Map<string, string>();
  for (const t of [...stack, ...own, ...system]) merged.set(t.Key, t.Value);
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/** Lower-case hex of `length` characters. */
export function hex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Upper-case letters and digits, as in generated names and IAM unique ids. */
export function upperId(length: number): string {
  const bytes = randomBytes(length);
  return [...bytes].map((b) => UPPER[b % UPPER.length]).join('');
}

/**
 * A name CloudFormation generates for a resource whose name property is not set: `<stack>-<LogicalId>-<SUFFIX>`
 * within `maxLength`, both parts cut to fit, the logical id keeping at least half the room (reference §2.1).
 *
 * @example
 * generatedName('web', 'Balancer', 32, 'ABCDEFGHIJKL'); // 'web-Balancer-ABCDEFGHIJKL'
 */
export function generatedName(
  stackName: string,
  logicalId: string,
  maxLength: number,
  suffix = upperId(12),
): string {
  const room = Math.max(2, maxLength - suffix.length - 2);
  const logicalPart = logicalId.slice(
    0,
    Math.max(1, room - Math.min(stackName.length, Math.floor(room / 2))),
  );
  const stackPart = stackName.slice(0, Math.max(1, room - logicalPart.length));
  return `${stackPart}-${logicalPart}-${suffix}`;
}
