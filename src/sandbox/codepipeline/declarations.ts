/**
 * A pipeline declaration on its way in (normalized as CodePipeline stores it: version set, runOrder,
 * configuration and artifact lists defaulted) and on its way out (the model's `PipelineDeclaration`).
 */
import type * as Sdk from '@aws-sdk/client-codepipeline';
import type { Validated } from '../types.ts';
import { actionCategory, actionOwner, artifactStoreType, encryptionKey } from './enums.ts';
import type { ActionDeclaration, ActionTypeId, PipelineDeclaration } from './model.ts';

/**
 * The declaration as CodePipeline stores it: a copy with `version` set and runOrder defaulted.
 *
 * @example
 * normalize(input.pipeline, 1).stages[0]?.actions[0]?.runOrder; // 1
 */
export function normalize(given: Validated<Sdk.PipelineDeclaration>, version: number): PipelineDeclaration {
  const copy = structuredClone(given);
  copy.version = version;
  for (const stage of copy.stages ?? []) {
    for (const action of stage.actions ?? []) {
      action.runOrder ??= 1;
      action.configuration ??= {};
      action.inputArtifacts ??= [];
      action.outputArtifacts ??= [];
    }
  }
  return copy;
}

/** @example actionTypeIdView(action.actionTypeId); // { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' } */
export function actionTypeIdView(id: ActionTypeId): Sdk.ActionTypeId {
  return {
    category: actionCategory(id.category),
    owner: actionOwner(id.owner),
    provider: id.provider,
    version: id.version,
  };
}

function actionView(action: ActionDeclaration): Sdk.ActionDeclaration {
  return { ...action, actionTypeId: actionTypeIdView(action.actionTypeId) };
}

function artifactStoreView(store: {
  type: string;
  location: string;
  encryptionKey?: unknown;
}): Sdk.ArtifactStore {
  const { type, encryptionKey: key, ...rest } = store;
  return {
    ...rest,
    type: artifactStoreType(type),
    ...(key !== undefined ? { encryptionKey: encryptionKey(key) } : {}),
  };
}

/**
 * The stored declaration as GetPipeline, CreatePipeline and UpdatePipeline return it (every member kept).
 *
 * @example
 * declarationView(p.declaration).stages?.[0]?.name; // 'Source'
 */
export function declarationView(declaration: PipelineDeclaration): Sdk.PipelineDeclaration {
  const { artifactStore, artifactStores, stages, ...rest } = declaration;
  return {
    ...rest,
    ...(artifactStore ? { artifactStore: artifactStoreView(artifactStore) } : {}),
    ...(artifactStores
      ? {
          artifactStores: Object.fromEntries(
            Object.entries(artifactStores).map(([region, store]) => [region, artifactStoreView(store)]),
          ),
        }
      : {}),
    stages: stages.map((stage) => ({ ...stage, actions: stage.actions.map(actionView) })),
  };
}
