/**
 * The subset of the CodeBuild buildspec (version 0.2) the sandbox runs: `env.variables`,
 * `env.exported-variables`, phases `install`/`pre_build`/`build`/`post_build` with `commands`, `finally`,
 * `on-failure` and (install) `runtime-versions`, and `artifacts` (`files`, `base-directory`,
 * `discard-paths`, `exclude-paths`, `secondary-artifacts`).
 * Reference: https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
 */
import { parse } from 'yaml';

export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BuildPhase {
  commands: string[];
  finally: string[];
  onFailure?: string;
  runtimeVersions?: Record<string, string>;
}

export interface ArtifactSpec {
  files: string[];
  baseDirectory?: string;
  discardPaths: boolean;
  excludePaths: string[];
}

export interface Buildspec {
  version: string;
  variables: Record<string, string>;
  exportedVariables: string[];
  /** parameter-store / secrets-manager names: the sandbox cannot resolve them. */
  unresolvable: string[];
  phases: Partial<Record<PhaseName, BuildPhase>>;
  artifacts?: ArtifactSpec;
  secondaryArtifacts: Record<string, ArtifactSpec>;
}

/** Thrown for a buildspec CodeBuild would refuse (its YAML_FILE_ERROR). */
export class BuildspecError extends Error {
  override name = 'BuildspecError';
}

/**
 * Parses buildspec YAML text.
 *
 * @example
 * parseBuildspec('version: 0.2\nphases:\n  build:\n    commands: [npm test]\n').phases.build?.commands; // ['npm test']
 */
export function parseBuildspec(text: string): Buildspec {
  let doc: any;
  try {
    doc = parse(text);
  } catch (error) {
    throw new BuildspecError(`YAML_FILE_ERROR: buildspec.yml is not valid YAML: ${(error as Error).message}`);
  }
  if (!doc || typeof doc !== 'object')
    throw new BuildspecError('YAML_FILE_ERROR: buildspec.yml is empty or not a mapping');
  if (doc.version === undefined)
    throw new BuildspecError('YAML_FILE_ERROR: missing top-level key "version" (use version: 0.2)');
  const version = String(doc.version);
  if (version !== '0.2' && version !== '0.1') {
    throw new BuildspecError(`YAML_FILE_ERROR: unknown buildspec version ${version}; use version: 0.2`);
  }
  const env = doc.env ?? {};
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(env.variables ?? {})) variables[k] = v === null ? '' : String(v);
  const unresolvable = [
    ...Object.keys(env['parameter-store'] ?? {}),
    ...Object.keys(env['secrets-manager'] ?? {}),
  ];
  const phases: Partial<Record<PhaseName, BuildPhase>> = {};
  for (const name of Object.keys(doc.phases ?? {})) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new BuildspecError(`YAML_FILE_ERROR: unknown phase "${name}"; phases are ${PHASES.join(', ')}`);
    }
    const p = doc.phases[name] ?? {};
    phases[name as PhaseName] = {
      commands: list(p.commands, `phases.${name}.commands`),
      finally: list(p.finally, `phases.${name}.finally`),
      ...(p['on-failure'] ? { onFailure: String(p['on-failure']) } : {}),
      ...(p['runtime-versions'] ? { runtimeVersions: stringMap(p['runtime-versions']) } : {}),
    };
  }
  const secondaryArtifacts: Record<string, ArtifactSpec> = {};
  for (const [k, v] of Object.entries(doc.artifacts?.['secondary-artifacts'] ?? {})) {
    secondaryArtifacts[k] = artifactSpec(v, `artifacts.secondary-artifacts.${k}`);
  }
  return {
    version,
    variables,
    exportedVariables: list(env['exported-variables'], 'env.exported-variables'),
    unresolvable,
    phases,
    ...(doc.artifacts?.files !== undefined ? { artifacts: artifactSpec(doc.artifacts, 'artifacts') } : {}),
    secondaryArtifacts,
  };
}

function artifactSpec(raw: any, where: string): ArtifactSpec {
  const discard = String(raw?.['discard-paths'] ?? 'no').toLowerCase();
  return {
    files: list(raw?.files, `${where}.files`),
    ...(raw?.['base-directory'] !== undefined ? { baseDirectory: String(raw['base-directory']) } : {}),
    discardPaths: discard === 'yes' || discard === 'true',
    excludePaths: list(raw?.['exclude-paths'], `${where}.exclude-paths`),
  };
}

function list(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw new BuildspecError(`YAML_FILE_ERROR: ${where} must be a list of strings`);
  return value.map((v, i) => {
    if (v !== null && typeof v === 'object') {
      // Typically an unquoted command containing ": " that YAML read as a mapping; CodeBuild refuses it too.
      throw new BuildspecError(
        `YAML_FILE_ERROR: Expected ${where}[${i}] to be of string type: found subkeys instead (${JSON.stringify(v)}); quote the whole command`,
      );
    }
    return String(v);
  });
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as object)) out[k] = String(v);
  return out;
}
