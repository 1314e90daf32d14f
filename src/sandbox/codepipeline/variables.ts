/**
 * CodePipeline variables in action configuration: `#{<namespace>.<name>}` for the output variables of an
 * earlier action with that `namespace`, `#{variables.<name>}` for pipeline-level variables (V2) and
 * `#{codepipeline.PipelineExecutionId}`.
 * Reference: https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html
 */

const REFERENCE = /#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)\}/g;

export interface VariableScope {
  pipelineExecutionId: string;
  /** Pipeline-level variables (resolved values). */
  pipeline: ReadonlyMap<string, string>;
  /** Action namespace → its output variables. */
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * Resolves every variable reference of an action's configuration, or names the first it cannot resolve.
 *
 * @example
 * resolveConfiguration({ Tag: '#{SourceVariables.CommitId}' }, scope);
 * // { resolved: { Tag: '3f2c…' } }  or  { unresolved: 'SourceVariables.CommitId' }
 */
export function resolveConfiguration(
  configuration: Readonly<Record<string, string>>,
  scope: VariableScope,
):
  | { resolved: Record<string, string>; unresolved?: undefined }
  | { unresolved: string; resolved?: undefined } {
  const resolved: Record<string, string> = {};
  let unresolved: string | undefined;
  for (const [key, value] of Object.entries(configuration)) {
    resolved[key] = value.replace(REFERENCE, (whole, namespace: string, name: string) => {
      const found =
        namespace === 'codepipeline'
          ? name === 'PipelineExecutionId'
            ? scope.pipelineExecutionId
            : undefined
          : namespace === 'variables'
            ? scope.pipeline.get(name)
            : scope.namespaces.get(namespace)?.[name];
      if (found === undefined) {
        unresolved ??= `${namespace}.${name}`;
        return whole;
      }
      return found;
    });
  }
  return unresolved === undefined ? { resolved } : { unresolved };
}

/**
 * The namespaces an action configuration refers to (for structure validation).
 *
 * @example
 * referencedNamespaces({ A: '#{Src.CommitId}-#{variables.x}' }); // ['Src', 'variables']
 */
export function referencedNamespaces(configuration: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const value of Object.values(configuration)) {
    for (const m of value.matchAll(REFERENCE)) out.add(m[1]!);
  }
  return [...out];
}
