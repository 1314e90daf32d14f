/**
 * Calling a sandbox service's handler in-process, as CloudFormation's resource handlers call the service API:
 * the input is validated against the service model first (what the wire would have done), then the handler runs.
 */
import { serviceModel } from '../../protocol/model.ts';
import { validateInput } from '../../protocol/validate.ts';
import type { SandboxService } from '../../types.ts';
import type { ProviderContext } from './types.ts';

/** Services whose handlers check their own input (their own exception codes; see protocol/dispatch.ts). */
const SELF_VALIDATING = new Set(['codecommit', 'codebuild', 'logs']);

/** Runs `service.handlers[operation](input)` with model validation; returns the handler's output. */
export async function callService<T = Record<string, unknown>>(
  service: SandboxService,
  operation: string,
  input: Record<string, unknown>,
  ctx: ProviderContext,
): Promise<T> {
  const model = serviceModel(service.name);
  const shape = model.operations[operation]?.input?.shape;
  if (shape && !SELF_VALIDATING.has(service.name)) {
    validateInput(model, shape, input, model.metadata.protocol === 'json' ? 'json' : 'query');
  }
  const handler = service.handlers[operation];
  if (typeof handler !== 'function') {
    throw new Error(`the sandbox ${service.name} has no handler for ${operation}`);
  }
  return (await handler(input, ctx.request)) as T;
}

/** Drops `undefined` members (service handlers read absent members as absent). */
export function defined<T extends Record<string, unknown>>(input: T): T {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as T;
}

/**
 * CloudFormation property names (PascalCase) → API member names (camelCase), recursively, for the JSON services
 * whose API spells members in camelCase (CodeDeploy, CodePipeline). Keys under `skip` are copied as they are.
 */
export function camelize(value: unknown, skip: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => camelize(v, skip));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.charAt(0).toLowerCase() + k.slice(1);
    out[key] = skip.has(k) ? v : camelize(v, skip);
  }
  return out;
}
