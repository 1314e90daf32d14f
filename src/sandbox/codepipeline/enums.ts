/**
 * The service model's enums for values the store keeps as plain strings (`model.ts` types only what the
 * engine reads), and the checked narrowing back to them for the wire. Input was validated against these enums,
 * so a stored value outside them is a sandbox bug, reported as such rather than sent to a client.
 */
import type {
  ActionCategory,
  ActionOwner,
  ArtifactStoreType,
  EncryptionKey,
  TriggerType,
} from '@aws-sdk/client-codepipeline';

const ACTION_CATEGORIES = {
  Approval: true,
  Build: true,
  Compute: true,
  Deploy: true,
  Invoke: true,
  Source: true,
  Test: true,
} as const satisfies Record<ActionCategory, true>;

const ACTION_OWNERS = { AWS: true, Custom: true, ThirdParty: true } as const satisfies Record<
  ActionOwner,
  true
>;

const ARTIFACT_STORE_TYPES = { S3: true } as const satisfies Record<ArtifactStoreType, true>;

const TRIGGER_TYPES = {
  AutomatedRollback: true,
  CloudWatchEvent: true,
  CreatePipeline: true,
  ManualRollback: true,
  PollForSourceChanges: true,
  PutActionRevision: true,
  StartPipelineExecution: true,
  Webhook: true,
  WebhookV2: true,
} as const satisfies Record<TriggerType, true>;

function isMember<E extends string>(values: Readonly<Record<E, true>>, value: string): value is E {
  return Object.hasOwn(values, value);
}

function narrow<E extends string>(values: Readonly<Record<E, true>>, value: string, what: string): E {
  if (isMember(values, value)) return value;
  throw new Error(
    `The sandbox stored ${what} '${value}', which the CodePipeline model does not allow (${Object.keys(values).join(', ')})`,
  );
}

/** @example actionCategory('Source'); // 'Source' */
export function actionCategory(value: string): ActionCategory {
  return narrow(ACTION_CATEGORIES, value, 'action category');
}

/** @example actionOwner('AWS'); // 'AWS' */
export function actionOwner(value: string): ActionOwner {
  return narrow(ACTION_OWNERS, value, 'action owner');
}

/** @example artifactStoreType('S3'); // 'S3' */
export function artifactStoreType(value: string): ArtifactStoreType {
  return narrow(ARTIFACT_STORE_TYPES, value, 'artifact store type');
}

/** @example triggerType('CloudWatchEvent'); // 'CloudWatchEvent' */
export function triggerType(value: string): TriggerType {
  return narrow(TRIGGER_TYPES, value, 'trigger type');
}

/**
 * An artifact store's `encryptionKey` as stored (kept as given) in the model's shape.
 *
 * @example
 * encryptionKey({ id: 'alias/aws/s3', type: 'KMS' }); // { id: 'alias/aws/s3', type: 'KMS' }
 */
export function encryptionKey(value: unknown): EncryptionKey {
  if (typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string') {
    if ('type' in value && value.type === 'KMS') return { id: value.id, type: value.type };
  }
  throw new Error(
    `The sandbox stored an encryption key the CodePipeline model does not allow: ${JSON.stringify(value)}`,
  );
}
