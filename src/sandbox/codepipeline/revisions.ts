/**
 * What StartPipelineExecution accepts as `sourceRevisions[].revisionValue`. The model bounds it to 1–1500
 * characters only, but for revisionType COMMIT_ID the value is a git commit id, and the sandbox hands it to
 * git: anything but a full commit id (an abbreviation, a ref name, or an option such as `--output=<file>`)
 * is refused before an execution starts, in the wording of AWS's request validation (aws-semantics 1.2, 2.7).
 */
import type { SourceRevisionOverride } from '@aws-sdk/client-codepipeline';
import { validationError } from '../protocol/errors.ts';
import type { Validated } from '../types.ts';

/** A full SHA-1 commit id, as CodeCommit reports them (`commitId`, `sourceRevisions[].revisionId`). */
const COMMIT_ID = '[0-9a-fA-F]{40}';
const COMMIT_ID_RE = new RegExp(`^${COMMIT_ID}$`);

/** Longest value shown in the message (the model allows 1500 characters). */
const SHOWN = 200;

/**
 * Throws `ValidationException` listing every COMMIT_ID override whose value is not a full commit id.
 *
 * @example
 * checkSourceRevisions([{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: '--output=/tmp/x' }]);
 * // ValidationException: 1 validation error detected: Value '--output=/tmp/x' at
 * // 'sourceRevisions.1.member.revisionValue' failed to satisfy constraint: Member must satisfy regular
 * // expression pattern: [0-9a-fA-F]{40} (revisionType COMMIT_ID takes the full 40-character id of a commit)
 */
export function checkSourceRevisions(overrides: readonly Validated<SourceRevisionOverride>[]): void {
  const errors: string[] = [];
  overrides.forEach((o, i) => {
    if (o.revisionType !== 'COMMIT_ID' || COMMIT_ID_RE.test(o.revisionValue)) return;
    const shown = o.revisionValue.length > SHOWN ? `${o.revisionValue.slice(0, SHOWN)}...` : o.revisionValue;
    errors.push(
      `Value '${shown}' at 'sourceRevisions.${i + 1}.member.revisionValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ${COMMIT_ID}`,
    );
  });
  if (errors.length === 0) return;
  const n = errors.length;
  throw validationError(
    `${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')} (revisionType COMMIT_ID takes the full 40-character id of a commit, e.g. the output of git rev-parse HEAD)`,
    'json',
  );
}
