/**
 * The zod schemas of a fault spec: what `startSandbox({ faults })`, `--faults`, `HARNESS_SANDBOX_FAULTS`,
 * `sandbox.faults.set()` and `PUT /_sandbox/faults` take (faults.ts explains each rule's effect). Apart from
 * faults.ts so that zod, ~30 ms of a cold start, loads only when a spec is validated: faults.ts requires this
 * module on first use. It imports nothing of the sandbox, so that loaded by Node's `require` beside a test
 * runner's module graph it shares no state with either.
 */
import { z } from 'zod';

/** One rule: which calls (service, operation), what happens to them (type) and how often (rate). */
export const FaultRuleSchema = z
  .object({
    /** Service the rule applies to, or `*`. */
    service: z
      .enum([
        'codepipeline',
        'codedeploy',
        'elbv2',
        'autoscaling',
        'codecommit',
        'codebuild',
        'logs',
        'cloudformation',
        's3',
        'events',
        'sqs',
        '*',
      ])
      .default('*'),
    /** Operation name as in the model (`GetPipelineState`), or `*`. */
    operation: z.string().min(1, 'operation must be an operation name or "*"').default('*'),
    /**
     * `throttle`: the service's throttling error; `error`: a 5xx; `latency`: wait `latencyMs` first; `deny`: the
     * call is refused as IAM refuses an action no policy allows (`AccessDeniedException` 400 on JSON services,
     * `AccessDenied` 403 on Query ones, "User: ... is not authorized to perform: <svc>:<Action> on resource: <arn>
     * because no identity-based policy allows the <svc>:<Action> action").
     */
    type: z.enum(['throttle', 'error', 'latency', 'deny']),
    /** Probability per request, 0..1. */
    rate: z.number().min(0, 'rate must be between 0 and 1').max(1, 'rate must be between 0 and 1').default(1),
    /** For `error`: 500 (InternalFailure) or 503 (ServiceUnavailable). */
    status: z.union([z.literal(500), z.literal(503)]).default(500),
    /** For `latency`: milliseconds added before the request is handled (at most 60 s). */
    latencyMs: z.number().int().min(0).max(60_000, 'latencyMs must be at most 60000 (60 s)').default(0),
    /**
     * When the fault strikes. `request` (the default): at the front door, before the request is handled, as AWS
     * throttles. `response`: after the request was handled, so its effect lands and the caller gets the 5xx
     * (or the latency) instead of the answer: a lost response, as when a call commits and the connection or
     * the front end fails on the way back. Not for `throttle`.
     */
    phase: z.enum(['request', 'response']).optional(),
  })
  .strict()
  .refine((r) => r.type !== 'latency' || r.latencyMs > 0, {
    message: 'a latency rule needs latencyMs > 0',
    path: ['latencyMs'],
  })
  .refine((r) => (r.type !== 'throttle' && r.type !== 'deny') || r.phase !== 'response', {
    message:
      'a throttle or a denial happens before the request is handled: phase "response" is for error and latency rules',
    path: ['phase'],
  });

/** A spec: its rules and an optional seed. */
export const FaultSpecSchema = z
  .object({
    /** Makes which requests fail reproducible. */
    seed: z.number().int().optional(),
    rules: z.array(FaultRuleSchema).default([]),
  })
  .strict();
