/**
 * CodeBuild handlers (subset): BatchGetBuilds (aws-semantics-cfn-codebuild-logs §4.4). Unknown ids are not an
 * error: they are listed in `buildsNotFound`; an empty id list is `InvalidInputException` with AWS's wording;
 * other input errors are `InvalidInputException` too (the only error the operation models).
 */
import type * as Sdk from '@aws-sdk/client-codebuild';
import { ServiceError } from '../protocol/errors.ts';
import { serviceModel } from '../protocol/model.ts';
import { validateInput } from '../protocol/validate.ts';
import type { Handlers, Operation, OutputOf, Validated } from '../types.ts';
import type { BuildStore } from './store.ts';
import { buildView } from './views.ts';

export interface CodeBuildHandlerDeps {
  store: BuildStore;
}

/**
 * The CodeBuild operations the sandbox serves, with the SDK's input and output types. CodeBuild validates its
 * own input (the edge server leaves it to the handler, so model errors come back as `InvalidInputException`):
 * a handler takes the SDK input as sent, wider than the validated input the table declares, and narrows it
 * with `validated()`. An operation of the model absent here answers `NotImplemented`.
 */
export interface CodeBuildOperations {
  BatchGetBuilds: Operation<Sdk.BatchGetBuildsInput, Sdk.BatchGetBuildsOutput>;
}

/**
 * Model validation answered as CodeBuild does: `InvalidInputException` with Coral's wording. The input as sent
 * becomes the {@link Validated} input here, as the edge server's validation does it for other services.
 */
function validated<T extends object>(operation: keyof CodeBuildOperations, input: T): Validated<T> {
  const model = serviceModel('codebuild');
  try {
    validateInput(model, model.operations[operation]!.input!.shape, input as Record<string, unknown>, 'json');
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'ValidationException') {
      throw new ServiceError('InvalidInputException', error.message);
    }
    throw error;
  }
  return input as Validated<T>;
}

/**
 * The operation table of the service. Leaving out an operation of {@link CodeBuildOperations} is a compile
 * error.
 *
 * @example
 * const handlers = createHandlers({ store });
 * handlers.BatchGetBuilds({ ids: ['web:5f1c2a9e-3b7d-4e0f-9a21-6c8d4e2b1f70'] }, ctx).buildsNotFound; // []
 */
export function createHandlers(deps: CodeBuildHandlerDeps): Handlers<CodeBuildOperations> {
  const { store } = deps;
  return {
    BatchGetBuilds(input: Sdk.BatchGetBuildsInput, ctx): OutputOf<CodeBuildOperations, 'BatchGetBuilds'> {
      // AWS's own wording for [] (observed, rlister/stax#39), ahead of the generic length check.
      if (input.ids !== undefined && input.ids.length === 0) {
        throw new ServiceError('InvalidInputException', 'The input build ID list cannot be empty.');
      }
      const { ids } = validated('BatchGetBuilds', input);
      const builds: Sdk.Build[] = [];
      const buildsNotFound: string[] = [];
      for (const id of new Set(ids)) {
        const record = store.builds.get(id);
        if (record) builds.push(buildView(record, ctx.region, ctx.accountId));
        else buildsNotFound.push(id);
      }
      return { builds, buildsNotFound };
    },
  };
}
