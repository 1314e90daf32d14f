/**
 * The parts of an EC2/on-premises AppSpec file the sandbox agent acts on: `files`, `file_exists_behavior` and
 * `hooks` (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure.html).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface AppSpecHook {
  location: string;
  /** Seconds; the agent's default is 3600 (aws-semantics 3.7). */
  timeout: number;
  runas?: string;
}

export interface AppSpec {
  files: { source: string; destination: string }[];
  fileExistsBehavior?: 'DISALLOW' | 'OVERWRITE' | 'RETAIN';
  hooks: Record<string, AppSpecHook[]>;
}

/** Raised when the bundle has no usable appspec; the message is what the event's diagnostics show. */
export class AppSpecError extends Error {}

/** The agent's message when the bundle root has no AppSpec file (aws-semantics 3.7). */
export function missingAppSpecMessage(): string {
  return 'The CodeDeploy agent did not find an AppSpec file within the unpacked revision directory at revision-relative path "appspec.yml". The revision was unpacked to directory "<bundle>", and the AppSpec file was expected but not found at path "appspec.yml". Consult the AWS CodeDeploy Appspec documentation for more information at http://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file.html';
}

/** A YAML mapping, its keys still to be checked. */
function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Reads `appspec.yml` (or `appspec.yaml`) at the bundle root.
 *
 * @example
 * const spec = readAppSpec(bundleDir);
 * spec.hooks.ApplicationStart?.[0]?.location; // 'scripts/application_start.sh'
 * @throws AppSpecError naming the file and what is wrong with it.
 */
export function readAppSpec(bundleDir: string): AppSpec {
  const file = ['appspec.yml', 'appspec.yaml'].map((f) => join(bundleDir, f)).find((f) => existsSync(f));
  if (!file) throw new AppSpecError(missingAppSpecMessage());
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AppSpecError(`The AppSpec file appspec.yml is not valid YAML: ${(error as Error).message}`);
  }
  if (!isMapping(doc)) throw new AppSpecError('The AppSpec file appspec.yml is empty or not a mapping');
  const fileList = doc.files ?? [];
  if (!Array.isArray(fileList))
    throw new AppSpecError('The AppSpec file appspec.yml: files must be a list of source/destination pairs');
  const files: AppSpec['files'] = [];
  for (const [i, f] of (fileList as unknown[]).entries()) {
    if (!isMapping(f) || typeof f.source !== 'string' || typeof f.destination !== 'string') {
      throw new AppSpecError(
        `The AppSpec file appspec.yml: files[${i}] needs a string source and destination`,
      );
    }
    files.push({ source: f.source, destination: f.destination });
  }
  const hooks: AppSpec['hooks'] = {};
  const hookMap = doc.hooks ?? {};
  if (!isMapping(hookMap))
    throw new AppSpecError(
      'The AppSpec file appspec.yml: hooks must map lifecycle events to lists of scripts',
    );
  for (const [event, list] of Object.entries(hookMap)) {
    if (list == null) continue;
    if (!Array.isArray(list))
      throw new AppSpecError(`The AppSpec file appspec.yml: hooks.${event} must be a list of scripts`);
    hooks[event] = (list as unknown[]).map((h, i) => {
      if (!isMapping(h) || typeof h.location !== 'string') {
        throw new AppSpecError(`The AppSpec file appspec.yml: hooks.${event}[${i}] needs a location`);
      }
      const timeout = h.timeout === undefined ? 3600 : Number(h.timeout);
      if (!(timeout > 0))
        throw new AppSpecError(
          `The AppSpec file appspec.yml: hooks.${event}[${i}].timeout must be a positive number of seconds`,
        );
      return { location: h.location, timeout, ...(h.runas ? { runas: String(h.runas) } : {}) };
    });
  }
  const feb = doc.file_exists_behavior;
  const fileExistsBehavior = feb === 'DISALLOW' || feb === 'OVERWRITE' || feb === 'RETAIN' ? feb : undefined;
  return { files, hooks, ...(fileExistsBehavior ? { fileExistsBehavior } : {}) };
}
