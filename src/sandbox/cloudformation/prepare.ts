/**
 * Everything CloudFormation checks before it creates anything, in the order of reference §3.7: parse → sections
 * → unknown resource types → references (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`) → cycles → capabilities →
 * parameter values → rules → conditions. The result is the plan a stack is created from: the active resources,
 * each with the resources it waits for.
 *
 * @example
 * const plan = prepareStack({ body, parameters: [], capabilities: [], stack: { name: 'web', id, region, accountId } }, providers);
 * plan.order; // logical ids in a creation order
 */
import { evaluateCondition, type EvalContext, getAttArgs, references, selectBranches } from './intrinsics.ts';
import { type ParameterInput, type ParameterView, resolveParameters } from './parameters.ts';
import type { ResourceProvider } from './providers/types.ts';
import { parseTemplate, type ResourceDeclaration, type Template, templateError } from './template.ts';
import { ServiceError } from '../protocol/errors.ts';

/** Pseudo parameters (reference §3.5). */
export const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
] as const;

/** IAM types that need a capability, and the property that makes one "named" (reference §2.4). */
const IAM_TYPES: Readonly<Record<string, string | undefined>> = {
  'AWS::IAM::AccessKey': undefined,
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': undefined,
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::UserToGroupAddition': undefined,
};

export interface StackIdentity {
  readonly name: string;
  readonly id: string;
  readonly region: string;
  readonly accountId: string;
  readonly notificationArns?: readonly string[];
}

/** What a stack is created from. */
export interface StackPlan {
  readonly template: Template;
  readonly parameters: ParameterView[];
  readonly parameterValues: Map<string, string | string[]>;
  readonly conditions: Map<string, boolean>;
  /** Active resources (Condition true), with `Fn::If` branches already chosen. */
  readonly resources: Map<string, ResourceDeclaration>;
  /** Logical id → the logical ids it depends on (refs and DependsOn). */
  readonly dependencies: Map<string, Set<string>>;
  /** A topological order of the active resources. */
  readonly order: string[];
  readonly capabilities: string[];
}

/** Capabilities the template needs, with the reason ValidateTemplate gives. */
export function requiredCapabilities(template: Template): { capability?: string; types: string[] } {
  let named = false;
  const types = new Set<string>();
  for (const r of Object.values(template.Resources)) {
    if (!Object.hasOwn(IAM_TYPES, r.Type)) continue;
    types.add(r.Type);
    const nameProp = IAM_TYPES[r.Type];
    if (nameProp && r.Properties?.[nameProp] !== undefined) named = true;
  }
  if (types.size === 0) return { types: [] };
  return { capability: named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM', types: [...types] };
}

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/**
 * Checks types and references of the whole template (every resource, whatever its condition), as
 * ValidateTemplate and CreateStack do.
 */
export function checkTemplate(template: Template, providers: ReadonlyMap<string, ResourceProvider>): void {
  const resources = template.Resources;
  const unknownTypes = [...new Set(Object.values(resources).map((r) => r.Type))].filter(
    (t) => !providers.has(t),
  );
  if (unknownTypes.length > 0) {
    throw templateError(`Template format error: Unrecognized resource types: [${unknownTypes.join(', ')}]`);
  }
  const params = new Set(Object.keys(template.Parameters ?? {}));
  const names = new Set<string>([...params, ...PSEUDO_PARAMETERS, ...Object.keys(resources)]);
  const conditions = new Set(Object.keys(template.Conditions ?? {}));

  const checkRefs = (value: unknown, block: 'Resources' | 'Outputs', extra: readonly string[] = []) => {
    const found = references(value);
    const unresolved = [...found.refs, ...extra].filter((n) => !names.has(n));
    for (const res of found.getAtts) {
      if (!Object.hasOwn(resources, res)) {
        throw templateError(`Template error: instance of Fn::GetAtt references undefined resource ${res}`);
      }
    }
    if (unresolved.length > 0) {
      throw templateError(
        `Template format error: Unresolved resource dependencies [${[...new Set(unresolved)].join(', ')}] in the ${block} block of the template`,
      );
    }
    checkAttributes(value, resources, providers);
  };

  for (const [name, r] of Object.entries(resources)) {
    const dependsOn = asList(r.DependsOn);
    const bad = dependsOn.filter((d) => !Object.hasOwn(resources, d));
    if (bad.length > 0) {
      throw templateError(
        `Template format error: Unresolved resource dependencies [${bad.join(', ')}] in the Resources block of the template`,
      );
    }
    if (r.Condition !== undefined && !conditions.has(r.Condition)) {
      throw templateError(
        `Template format error: Unresolved dependencies [${r.Condition}]. Cannot reference resources in the Conditions block of the template (resource ${name} names an undefined condition)`,
      );
    }
    checkRefs(r.Properties ?? {}, 'Resources');
  }
  for (const o of Object.values(template.Outputs ?? {})) {
    if (o.Condition !== undefined && !conditions.has(o.Condition)) {
      throw templateError(
        `Template format error: Unresolved dependencies [${o.Condition}] in the Outputs block of the template`,
      );
    }
    checkRefs(o.Value, 'Outputs');
    if (o.Export !== undefined) {
      const exportRefs = references(o.Export.Name);
      if (exportRefs.getAtts.size > 0 || [...exportRefs.refs].some((n) => Object.hasOwn(resources, n))) {
        throw templateError(
          `Template format error: Output is malformed. The Name field of Export must not depend on any resources, imported values, or Fn::GetAZs.`,
        );
      }
    }
  }
  for (const [name, c] of Object.entries(template.Conditions ?? {})) {
    const found = references(c);
    const toResources = [...found.refs].filter((n) => Object.hasOwn(resources, n));
    if (toResources.length > 0 || found.getAtts.size > 0) {
      throw templateError(
        `Template format error: Unresolved dependencies [${[...toResources, ...found.getAtts].join(', ')}]. Cannot reference resources in the Conditions block of the template (condition ${name})`,
      );
    }
  }
}

/** `Fn::GetAtt` attributes the resource's type does not have (reference §3.7 wording). */
function checkAttributes(
  value: unknown,
  resources: Template['Resources'],
  providers: ReadonlyMap<string, ResourceProvider>,
): void {
  if (Array.isArray(value)) {
    for (const v of value) checkAttributes(v, resources, providers);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === 'Fn::GetAtt') {
    const [res, attr] = getAttArgs(entries[0][1]);
    const provider = providers.get(resources[res]?.Type ?? '');
    if (provider && typeof attr === 'string' && !provider.attributes.includes(attr)) {
      throw templateError(
        `Template error: resource ${res} does not support attribute type ${attr} in Fn::GetAtt`,
      );
    }
    return;
  }
  if (entries.length === 1 && entries[0]?.[0] === 'Fn::Sub') {
    const arg = entries[0][1];
    const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? String(arg[0]) : '';
    for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)\.([^}]+)\}/g)) {
      const provider = providers.get(resources[m[1] as string]?.Type ?? '');
      if (provider && !provider.attributes.includes(m[2] as string)) {
        throw templateError(
          `Template error: resource ${m[1]} does not support attribute type ${m[2]} in Fn::GetAtt`,
        );
      }
    }
  }
  for (const [, v] of entries) checkAttributes(v, resources, providers);
}

/** The dependencies of each resource: what it references plus DependsOn (reference §2.6). */
export function dependencyGraph(
  resources: ReadonlyMap<string, ResourceDeclaration>,
  allNames: ReadonlySet<string> = new Set(resources.keys()),
): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [name, r] of resources) {
    const found = references({ p: r.Properties ?? {}, c: r.CreationPolicy ?? {} });
    const deps = new Set<string>();
    for (const n of [...found.refs, ...found.getAtts, ...asList(r.DependsOn)]) {
      if (allNames.has(n)) deps.add(n);
    }
    graph.set(name, deps);
  }
  return graph;
}

/** A creation order; throws CloudFormation's circular-dependency error (reference §2.6). */
export function topologicalOrder(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const cycle = new Set<string>();
  const visit = (n: string, path: string[]): void => {
    const s = state.get(n);
    if (s === 'done') return;
    if (s === 'visiting') {
      for (const m of path.slice(path.indexOf(n))) cycle.add(m);
      return;
    }
    state.set(n, 'visiting');
    for (const d of graph.get(n) ?? []) if (graph.has(d)) visit(d, [...path, n]);
    state.set(n, 'done');
    order.push(n);
  };
  for (const n of graph.keys()) visit(n, []);
  if (cycle.size > 0) {
    throw templateError(
      `Template format error: Circular dependency between resources: [${[...cycle].join(', ')}]`,
    );
  }
  return order;
}

/** Evaluates the Conditions section (parameters and pseudo parameters only). */
function evaluateConditions(template: Template, base: Omit<EvalContext, 'condition'>): Map<string, boolean> {
  const declared = template.Conditions ?? {};
  const values = new Map<string, boolean>();
  const evaluating = new Set<string>();
  const ctx: EvalContext = {
    ...base,
    condition(name) {
      const known = values.get(name);
      if (known !== undefined) return known;
      if (!Object.hasOwn(declared, name)) {
        throw templateError(
          `Template format error: Unresolved dependencies [${name}]. Cannot reference resources in the Conditions block of the template`,
        );
      }
      if (evaluating.has(name))
        throw templateError(
          `Template format error: Circular dependency between conditions: [${[...evaluating].join(', ')}]`,
        );
      evaluating.add(name);
      const v = evaluateCondition(declared[name], ctx);
      evaluating.delete(name);
      values.set(name, v);
      return v;
    },
  };
  for (const name of Object.keys(declared)) ctx.condition(name);
  return values;
}

/** Evaluates the Rules section; a failed assertion is a `ValidationError` with its AssertDescription. */
function checkRules(template: Template, ctx: EvalContext): void {
  for (const [name, rule] of Object.entries(template.Rules ?? {})) {
    if (rule.RuleCondition !== undefined && !evaluateCondition(rule.RuleCondition, ctx)) continue;
    for (const a of rule.Assertions ?? []) {
      if (!evaluateCondition(a.Assert, ctx)) {
        throw templateError(a.AssertDescription ?? `Template error: the assertion of rule ${name} failed`);
      }
    }
  }
}

/** The lookups a plan's conditions and rules need: parameters and pseudo parameters, no resources. */
export function pseudoValue(name: string, stack: StackIdentity): unknown {
  switch (name) {
    case 'AWS::AccountId':
      return stack.accountId;
    case 'AWS::Region':
      return stack.region;
    case 'AWS::StackName':
      return stack.name;
    case 'AWS::StackId':
      return stack.id;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::NotificationARNs':
      return [...(stack.notificationArns ?? [])];
    default:
      return undefined;
  }
}

export interface PrepareInput {
  readonly body: string;
  readonly parameters: readonly ParameterInput[];
  readonly capabilities: readonly string[];
  readonly stack: StackIdentity;
}

/** Runs every synchronous check of CreateStack and returns the plan; throws the error AWS answers. */
export function prepareStack(
  input: PrepareInput,
  providers: ReadonlyMap<string, ResourceProvider>,
): StackPlan {
  const template = parseTemplate(input.body);
  checkTemplate(template, providers);
  const graphAll = dependencyGraph(new Map(Object.entries(template.Resources)));
  topologicalOrder(graphAll);

  const needed = requiredCapabilities(template);
  if (needed.capability && !input.capabilities.includes(needed.capability)) {
    throw new ServiceError(
      'InsufficientCapabilitiesException',
      `Requires capabilities : [${needed.capability}]`,
    );
  }

  const { values, views } = resolveParameters(template.Parameters ?? {}, input.parameters);
  const base: Omit<EvalContext, 'condition'> = {
    ref(name) {
      if (values.has(name)) return values.get(name);
      const pseudo = pseudoValue(name, input.stack);
      if (pseudo !== undefined) return pseudo;
      throw templateError(
        `Template format error: Unresolved dependencies [${name}]. Cannot reference resources in the Conditions block of the template`,
      );
    },
    getAtt(resource) {
      throw templateError(
        `Template format error: Unresolved dependencies [${resource}]. Cannot reference resources in the Conditions block of the template`,
      );
    },
    importValue() {
      throw templateError('Template error: Fn::ImportValue cannot be used in Conditions or Rules');
    },
    mappings: template.Mappings ?? {},
    region: input.stack.region,
  };
  const conditions = evaluateConditions(template, base);
  checkRules(template, { ...base, condition: (n) => conditions.get(n) ?? false });

  const condition = (name: string) => {
    const v = conditions.get(name);
    if (v === undefined)
      throw templateError(
        `Template format error: Unresolved dependencies [${name}] (Fn::If names an undefined condition)`,
      );
    return v;
  };
  const active = new Map<string, ResourceDeclaration>();
  for (const [name, r] of Object.entries(template.Resources)) {
    if (r.Condition !== undefined && !condition(r.Condition)) continue;
    active.set(name, {
      ...r,
      ...(r.Properties
        ? { Properties: selectBranches(r.Properties, condition) as Record<string, unknown> }
        : {}),
      ...(r.CreationPolicy
        ? { CreationPolicy: selectBranches(r.CreationPolicy, condition) as Record<string, unknown> }
        : {}),
    });
  }
  const dependencies = dependencyGraph(active, new Set(Object.keys(template.Resources)));
  const inactive = [...dependencies.values()].flatMap((deps) =>
    [...deps].filter((d) => Object.hasOwn(template.Resources, d) && !active.has(d)),
  );
  if (inactive.length > 0) {
    throw templateError(
      `Template format error: Unresolved resource dependencies [${[...new Set(inactive)].join(', ')}] in the Resources block of the template`,
    );
  }
  for (const [key, o] of Object.entries(template.Outputs ?? {})) {
    if (o.Condition !== undefined && !condition(o.Condition)) continue;
    const found = references(selectBranches(o.Value, condition));
    const missing = [...found.refs, ...found.getAtts].filter(
      (n) => Object.hasOwn(template.Resources, n) && !active.has(n),
    );
    if (missing.length > 0) {
      throw templateError(
        `Unresolved resource dependencies [${[...new Set(missing)].join(', ')}] in the Outputs block of the template (output ${key})`,
      );
    }
  }
  for (const deps of dependencies.values()) for (const d of [...deps]) if (!active.has(d)) deps.delete(d);
  const order = topologicalOrder(dependencies);
  return {
    template,
    parameters: views,
    parameterValues: values,
    conditions,
    resources: active,
    dependencies,
    order,
    capabilities: [...input.capabilities],
  };
}
