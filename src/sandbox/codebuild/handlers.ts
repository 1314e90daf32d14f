/**
 * CodeBuild handlers (subset): BatchGetBuilds (aws-semantics-cfn-codebuild-logs §4.4). Unknown ids are not an
 * error: they are listed in `buildsNotFound`; an empty id list is `InvalidInputException` with AWS's wording;
 * other input errors are `InvalidInputException` too (the only error the operation models).
 */
import { ServiceError } from '../protocol/errors.ts';
import { serviceModel } from '../protocol/model.ts';
import { validateInput } from '../protocol/validate.ts';
import type { Handler, RequestContext } from '../types.ts';
import type { BuildStore } from './store.ts';
import { buildView } from './views.ts';

export interface CodeBuildHandlerDeps {
  store: BuildStore;
}

/** Model validation answered as CodeBuild does: `InvalidInputException` with Coral's wording. */
function validated<T>(operation: string, input: T): T {
  const model = serviceModel('codebuild');
  try {
    validateInput(model, model.operations[operation]!.input!.shape, input as Record<string, unknown>, 'json');
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'ValidationException') {
      throw new ServiceError('InvalidInputException', error.message);
    }
    throw error;
  }
  return input;
}

export function createHandlers(deps: CodeBuildHandlerDeps): Record<string, Handler> {
  const { store } = deps;
  return {
    BatchGetBuilds(input: { ids?: string[] }, ctx: RequestContext) {
      // AWS's own wording for [] (observed, rlister/stax#39), ahead of the generic length check.
      if (input.ids !== undefined && input.ids.length === 0) {
        throw new ServiceError('InvalidInputException', 'The input build ID list cannot be empty.');
      }
      const { ids } = validated('BatchGetBuilds', input) as { ids: string[] };
      const builds: Record<string, unknown>[] = [];
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
