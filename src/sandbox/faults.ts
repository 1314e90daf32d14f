/**
 * Injected faults: throttling, 5xx and added latency, by service, operation and rate, to prove a client
 * survives what AWS does under load (aws-semantics §5: CodePipeline/CodeDeploy `ThrottlingException` 400
 * "Rate exceeded", ELBv2/AutoScaling `Throttling` 400). Deterministic when a seed is given.
 *
 * @example
 * const faults = new Faults({ seed: 7, rules: [{ service: 'codepipeline', operation: 'GetPipelineState', type: 'throttle', rate: 0.5 }] });
 * await faults.apply('codepipeline', 'json', 'GetPipelineState'); // throws a ServiceError half of the time
 */
import { z } from 'zod';
import { ServiceError } from './protocol/errors.ts';
import type { ServiceName } from './types.ts';

export const FaultRuleSchema = z
  .object({
    /** Service the rule applies to, or `*`. */
    service: z.enum(['codepipeline', 'codedeploy', 'elbv2', 'autoscaling', 'codecommit', '*']).default('*'),
    /** Operation name as in the model (`GetPipelineState`), or `*`. */
    operation: z.string().min(1, 'operation must be an operation name or "*"').default('*'),
    /** `throttle`: the service's throttling error; `error`: a 5xx; `latency`: wait `latencyMs` first. */
    type: z.enum(['throttle', 'error', 'latency']),
    /** Probability per request, 0..1. */
    rate: z.number().min(0, 'rate must be between 0 and 1').max(1, 'rate must be between 0 and 1').default(1),
    /** For `error`: 500 (InternalFailure) or 503 (ServiceUnavailable). */
    status: z.union([z.literal(500), z.literal(503)]).default(500),
    /** For `latency`: milliseconds added before the request is handled (at most 60 s). */
    latencyMs: z.number().int().min(0).max(60_000, 'latencyMs must be at most 60000 (60 s)').default(0),
  })
  .strict()
  .refine((r) => r.type !== 'latency' || r.latencyMs > 0, {
    message: 'a latency rule needs latencyMs > 0',
    path: ['latencyMs'],
  });

export const FaultSpecSchema = z
  .object({
    /** Makes which requests fail reproducible. */
    seed: z.number().int().optional(),
    rules: z.array(FaultRuleSchema).default([]),
  })
  .strict();

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
  const result = FaultSpecSchema.safeParse(Array.isArray(spec) ? { rules: spec } : (spec ?? {}));
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`,
  );
  throw new FaultSpecError(
    `invalid fault spec: ${problems.join('; ')}. Expected {"seed"?: int, "rules": [{"service": "codepipeline"|...|"*", ` +
      `"operation": "Name"|"*", "type": "throttle"|"error"|"latency", "rate": 0..1, "status"?: 500|503, "latencyMs"?: int}]}`,
  );
}

/** mulberry32: a tiny seeded PRNG, enough to make fault sequences reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultsOptions {
  /** How latency is waited (the sandbox passes its clock so stop() cancels the wait). @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export class Faults {
  #spec: ParsedSpec = { rules: [] };
  #random: () => number = Math.random;
  readonly #sleep: (ms: number) => Promise<void>;

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
    this.#random = parsed.seed === undefined ? Math.random : seeded(parsed.seed);
    return this.get();
  }

  clear(): void {
    this.set({ rules: [] });
  }

  /**
   * Applies the rules matching one request: waits for latency rules, then throws the first throttle or
   * error rule that fires. Throttling is the service's wire code (JSON `ThrottlingException`, Query `Throttling`).
   */
  async apply(service: ServiceName, protocol: 'json' | 'query', operation: string): Promise<void> {
    const rules = this.#spec.rules.filter(
      (r) =>
        (r.service === '*' || r.service === service) && (r.operation === '*' || r.operation === operation),
    );
    if (rules.length === 0) return;
    let delay = 0;
    let failure: ServiceError | undefined;
    for (const rule of rules) {
      if (rule.rate <= 0 || this.#random() >= rule.rate) continue;
      if (rule.type === 'latency') delay += rule.latencyMs;
      else if (!failure && rule.type === 'throttle') {
        failure = new ServiceError(
          protocol === 'json' ? 'ThrottlingException' : 'Throttling',
          'Rate exceeded',
        );
      } else if (!failure) {
        failure =
          rule.status === 503
            ? new ServiceError('ServiceUnavailable', 'Service is unavailable (injected fault)', {
                status: 503,
              })
            : new ServiceError(
                'InternalFailure',
                'The request processing has failed because of an unknown error (injected fault)',
                {
                  status: 500,
                },
              );
      }
    }
    if (delay > 0) await this.#sleep(delay);
    if (failure) throw failure;
  }
}
