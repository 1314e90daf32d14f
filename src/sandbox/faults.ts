/**
 * Injected faults: throttling, 5xx and added latency, by service, operation and rate, to prove a client
 * survives what AWS does under load (aws-semantics §5: CodePipeline/CodeDeploy `ThrottlingException` 400
 * "Rate exceeded", ELBv2/AutoScaling `Throttling` 400). Deterministic when a seed is given.
 *
 * @example
 * const faults = new Faults({ seed: 7, rules: [{ service: 'codepipeline', operation: 'GetPipelineState', type: 'throttle', rate: 0.5 }] });
 * await faults.apply('codepipeline', 'json', 'GetPipelineState'); // throws a ServiceError half of the time
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { accessDenied } from './denials.ts';
import type * as FaultSchemas from './fault-schema.ts';
import { ServiceError } from './protocol/errors.ts';
import { seededRandom } from './random.ts';
import type { ServiceName } from './types.ts';

// zod loads when a spec is first validated, not with the sandbox (~30 ms of a cold start, and most starts take
// no spec). `require` of the ES module (Node >= 22.12) keeps `Faults.set()` synchronous; its file has this
// module's extension (.ts on the dev path, .js built).
let schemas: typeof FaultSchemas | undefined;
function faultSchemas(): typeof FaultSchemas {
  schemas ??= createRequire(import.meta.url)(
    `./fault-schema${extname(import.meta.filename)}`,
  ) as typeof FaultSchemas;
  return schemas;
}

/**
 * Stands for a schema of fault-schema.ts and loads it on first use: every property, `in`, `instanceof` and key
 * listing are the schema's own, so it parses, composes and converts (`z.toJSONSchema`) as the schema does.
 */
function loadedOnUse<T extends object>(schema: () => T): T {
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(schema(), key),
    set: (_, key, value) => Reflect.set(schema(), key, value),
    has: (_, key) => Reflect.has(schema(), key),
    ownKeys: () => Reflect.ownKeys(schema()),
    // Reported configurable: the stand-in itself holds none of the schema's properties (a Proxy invariant).
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
  });
}

/** One rule: which calls (service, operation), what happens to them (type) and how often (rate). */
export const FaultRuleSchema = loadedOnUse(() => faultSchemas().FaultRuleSchema);

/** A spec: its rules and an optional seed. */
export const FaultSpecSchema = loadedOnUse(() => faultSchemas().FaultSpecSchema);

export type FaultRule = z.input<typeof FaultRuleSchema>;
/** What `startSandbox({ faults })` and `PUT /_sandbox/faults` accept: `{ seed?, rules: [...] }` or just the rules. */
export type FaultSpec = z.input<typeof FaultSpecSchema> | FaultRule[];
/** A fault spec as validated, defaults filled in (`Faults.get()`). */
export type ParsedSpec = z.output<typeof FaultSpecSchema>;

/** Thrown for a fault spec that does not validate; the message lists every problem with its path. */
export class FaultSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSpecError';
  }
}

/** Validates a fault spec, throwing a {@link FaultSpecError} that names each wrong field. */
export function parseFaultSpec(spec: unknown): ParsedSpec {
  const result = faultSchemas().FaultSpecSchema.safeParse(
    Array.isArray(spec) ? { rules: spec } : (spec ?? {}),
  );
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`,
  );
  throw new FaultSpecError(
    `invalid fault spec: ${problems.join('; ')}. Expected {"seed"?: int, "rules": [{"service": "codepipeline"|...|"*", ` +
      `"operation": "Name"|"*", "type": "throttle"|"error"|"latency"|"deny", "rate": 0..1, "status"?: 500|503, "latencyMs"?: int, ` +
      `"phase"?: "request"|"response"}]}`,
  );
}

/**
 * Reads a fault spec given as a file path (JSON or YAML) or as inline JSON (a value starting with `{` or `[`),
 * as `--faults` and `HARNESS_SANDBOX_FAULTS` take it. `from` names the source in errors.
 *
 * @throws FaultSpecError naming `from` when the file cannot be read, does not parse or does not validate.
 * @example
 * ```ts
 * const spec = await readFaultSpec('chaos.yaml', '--faults');
 * ```
 */
export async function readFaultSpec(fileOrJson: string, from: string): Promise<ParsedSpec> {
  const value = fileOrJson.trim();
  const inline = value.startsWith('{') || value.startsWith('[');
  let text = value;
  if (!inline) {
    try {
      text = await readFile(value, 'utf8');
    } catch (error) {
      throw new FaultSpecError(
        `${from}: cannot read the fault spec file ${value} (${(error as Error).message}); give a JSON or YAML ` +
          'file, or inline JSON like {"rules":[{"type":"throttle","rate":0.3}]}',
      );
    }
  }
  let raw: unknown;
  try {
    // YAML is a superset of JSON: one parser for inline JSON, .json and .yaml files.
    raw = parseYaml(text);
  } catch (error) {
    throw new FaultSpecError(
      `${from}: the fault spec ${inline ? '(inline)' : value} does not parse as JSON or YAML: ${(error as Error).message}`,
    );
  }
  try {
    return parseFaultSpec(raw);
  } catch (error) {
    throw new FaultSpecError(`${from}: ${(error as Error).message}`);
  }
}

/** The env var a sandbox started in this process takes its faults from (file path or inline JSON). */
export const FAULTS_ENV = 'HARNESS_SANDBOX_FAULTS';

/**
 * The fault spec `HARNESS_SANDBOX_FAULTS` names, or undefined when it is unset or empty.
 *
 * @throws FaultSpecError naming the variable when its file or JSON is wrong.
 * @example
 * ```ts
 * const sandbox = await startSandbox({ faults: await faultSpecFromEnv() });   // what startSandbox does by default
 * ```
 */
export async function faultSpecFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ParsedSpec | undefined> {
  const value = env[FAULTS_ENV]?.trim();
  return value ? readFaultSpec(value, FAULTS_ENV) : undefined;
}

/** What a sandbox's API saw, by `service:Operation` and in total (`Faults.stats()`). */
export interface FaultStats {
  /** API requests that reached an operation (faulted ones included). */
  calls: number;
  /** Answered with the service's throttling error. */
  throttled: number;
  /** Answered with an injected 5xx (lost responses included). */
  errors: number;
  /** Of `errors`: handled, then answered with a 5xx (`phase: 'response'`). */
  lostResponses: number;
  /** Delayed by a latency rule. */
  delayed: number;
  /** Refused by a deny rule. */
  denied: number;
  byOperation: Record<string, { calls: number; throttled: number; errors: number }>;
}

export interface FaultsOptions {
  /** How latency is waited (the sandbox passes its clock so stop() cancels the wait). @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export class Faults {
  #spec: ParsedSpec = { rules: [] };
  #random: () => number = Math.random;
  readonly #sleep: (ms: number) => Promise<void>;
  #stats: FaultStats = emptyStats();

  constructor(spec?: FaultSpec, options: FaultsOptions = {}) {
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (spec !== undefined) this.set(spec);
  }

  /** The active spec, with defaults filled in. */
  get(): ParsedSpec {
    return structuredClone(this.#spec);
  }

  /** Replaces every rule (and restarts the seeded sequence). Throws {@link FaultSpecError} when invalid. */
  set(spec: unknown): ParsedSpec {
    const parsed = parseFaultSpec(spec);
    this.#spec = parsed;
    this.#random = parsed.seed === undefined ? Math.random : seededRandom(parsed.seed);
    return this.get();
  }

  /** No rules (what `set({ rules: [] })` leaves, without loading the schema). */
  clear(): void {
    this.#spec = { rules: [] };
    this.#random = Math.random;
  }

  /** Counts since the sandbox started (or `resetStats()`): every API call, and what was injected into them. */
  stats(): FaultStats {
    return structuredClone(this.#stats);
  }

  resetStats(): void {
    this.#stats = emptyStats();
  }

  /**
   * Applies the request-phase rules matching one request (every request passes here, so it is counted):
   * waits for latency rules, then throws the first throttle or error rule that fires. Throttling is the
   * service's wire code (JSON `ThrottlingException`, Query `Throttling`).
   */
  async apply(service: ServiceName, protocol: 'json' | 'query', operation: string): Promise<void> {
    const key = `${service}:${operation}`;
    this.#stats.byOperation[key] ??= { calls: 0, throttled: 0, errors: 0 };
    const op = this.#stats.byOperation[key];
    this.#stats.calls += 1;
    op.calls += 1;
    await this.#fire(service, protocol, operation, 'request');
  }

  /**
   * Refuses the call when a deny rule matches it, as IAM would: the service's access-denied code and AWS's
   * message, naming the principal, the action and (for resource-scoped actions) the resource the input names.
   * Called once the input is decoded, so the resource is known; before validation, as IAM decides first.
   */
  authorize(
    service: ServiceName,
    protocol: 'json' | 'query',
    operation: string,
    input: unknown,
    where: { region: string; accountId: string },
  ): void {
    const rule = this.#spec.rules.find(
      (r) =>
        r.type === 'deny' &&
        (r.service === '*' || r.service === service) &&
        (r.operation === '*' || r.operation === operation) &&
        r.rate > 0 &&
        (r.rate >= 1 || this.#random() < r.rate),
    );
    if (!rule) return;
    this.#stats.denied += 1;
    throw accessDenied(service, protocol, operation, input, where);
  }

  /**
   * Applies the response-phase rules (`phase: 'response'`) to a request that was handled: its answer is
   * replaced by the injected 5xx, after any latency.
   */
  async applyAfter(service: ServiceName, protocol: 'json' | 'query', operation: string): Promise<void> {
    await this.#fire(service, protocol, operation, 'response');
  }

  async #fire(
    service: ServiceName,
    protocol: 'json' | 'query',
    operation: string,
    phase: 'request' | 'response',
  ): Promise<void> {
    const rules = this.#spec.rules.filter(
      (r) =>
        (r.phase ?? 'request') === phase &&
        (r.service === '*' || r.service === service) &&
        (r.operation === '*' || r.operation === operation),
    );
    if (rules.length === 0) return;
    let delay = 0;
    let failure: ServiceError | undefined;
    for (const rule of rules) {
      if (rule.type === 'deny' || rule.rate <= 0 || this.#random() >= rule.rate) continue;
      if (rule.type === 'latency') delay += rule.latencyMs;
      else if (!failure && rule.type === 'throttle') {
        failure = new ServiceError(
          protocol === 'json' ? 'ThrottlingException' : 'Throttling',
          'Rate exceeded',
        );
      } else if (!failure) {
        const lost = phase === 'response' ? ' after the request was handled' : '';
        failure =
          rule.status === 503
            ? new ServiceError('ServiceUnavailable', `Service is unavailable (injected fault${lost})`, {
                status: 503,
              })
            : new ServiceError(
                'InternalFailure',
                `The request processing has failed because of an unknown error (injected fault${lost})`,
                {
                  status: 500,
                },
              );
      }
    }
    const op = this.#stats.byOperation[`${service}:${operation}`];
    if (delay > 0) this.#stats.delayed += 1;
    if (failure && op) {
      if (failure.code === 'ThrottlingException' || failure.code === 'Throttling') {
        this.#stats.throttled += 1;
        op.throttled += 1;
      } else {
        this.#stats.errors += 1;
        op.errors += 1;
        if (phase === 'response') this.#stats.lostResponses += 1;
      }
    }
    if (delay > 0) await this.#sleep(delay);
    if (failure) throw failure;
  }
}

function emptyStats(): FaultStats {
  return { calls: 0, throttled: 0, errors: 0, lostResponses: 0, delayed: 0, denied: 0, byOperation: {} };
}
