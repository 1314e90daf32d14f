/**
 * Every resource type the sandbox's CloudFormation knows, by type name: the backed ones (calling the sandbox's
 * services) and the recorded-only ones (see `recorded.ts`).
 */
import { autoScalingProviders } from './autoscaling.ts';
import { codeCommitProviders } from './codecommit.ts';
import { codeDeployProviders } from './codedeploy.ts';
import { codePipelineProviders } from './codepipeline.ts';
import { elbv2Providers } from './elbv2.ts';
import { eventProviders } from './events.ts';
import { recordedProviders } from './recorded.ts';
import { storageProviders } from './storage.ts';
import type { ResourceProvider } from './types.ts';

export type {
  BucketStore,
  Created,
  ProviderContext,
  ProviderServices,
  ResourceProvider,
  Tag,
} from './types.ts';
export { ResourceFailure } from './types.ts';

/** Type name → provider. */
export function resourceProviders(): Map<string, ResourceProvider> {
  const all = [
    ...elbv2Providers,
    ...autoScalingProviders,
    ...codeDeployProviders,
    ...codeCommitProviders,
    ...codePipelineProviders,
    ...storageProviders,
    ...eventProviders,
    ...recordedProviders(),
  ];
  return new Map(all.map((p) => [p.type, p]));
}

/** The types recorded only (no sandbox behaviour), sorted. */
export function recordedOnlyTypes(): string[] {
  return recordedProviders()
    .map((p) => p.type)
    .sort();
}
