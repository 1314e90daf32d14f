/**
 * The fault-spec schemas exported from the `./sandbox` entry load zod on first use (the sandbox starts without
 * it): they must parse, reject and compose exactly as the zod schemas they stand for.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { FaultRuleSchema, FaultSpecSchema } from '../../src/sandbox/index.ts';
import type { ServiceName } from '../../src/sandbox/types.ts';

describe('the exported fault-spec schemas', () => {
  it('parse a spec with its defaults and reject a bad rule naming the path', () => {
    const spec = FaultSpecSchema.parse({ seed: 7, rules: [{ type: 'throttle', rate: 0.3 }] });
    expect(spec.seed).toBe(7);
    expect(spec.rules).toHaveLength(1);
    expect(spec.rules[0]).toMatchObject({ type: 'throttle', rate: 0.3 });
    const bad = FaultRuleSchema.safeParse({ type: 'throttle', rate: 2 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['rate']);
    expect(() => FaultSpecSchema.parse({ rules: 'all' })).toThrow(z.ZodError);
  });

  it("name exactly the sandbox's services (the schema's own list, kept apart so zod loads late, cannot drift)", () => {
    // Checked by the typecheck: a service added to ServiceName and not to the schema (or back) fails it.
    expectTypeOf<z.output<typeof FaultRuleSchema>['service']>().toEqualTypeOf<ServiceName | '*'>();
    expect(FaultRuleSchema.shape.service.unwrap().options).toContain('*');
  });

  it('are zod schemas to user code: instanceof, composition and JSON Schema', () => {
    expect(FaultSpecSchema).toBeInstanceOf(z.ZodObject);
    const named = z.object({ name: z.string(), spec: FaultSpecSchema });
    expect(named.parse({ name: 'chaos', spec: { rules: [] } }).spec.rules).toEqual([]);
    const json = z.toJSONSchema(FaultRuleSchema) as { properties?: Record<string, unknown> };
    expect(Object.keys(json.properties ?? {})).toEqual(expect.arrayContaining(['type', 'rate']));
  });
});
