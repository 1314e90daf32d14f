/** Lifecycle event lists per deployment kind (aws-semantics 3.6, the agent's DEFAULT_ORDERED_LIFECYCLE_EVENTS). */

export const BLOCK_EVENTS = ['BeforeBlockTraffic', 'BlockTraffic', 'AfterBlockTraffic'] as const;
export const INSTALL_EVENTS = [
  'ApplicationStop',
  'DownloadBundle',
  'BeforeInstall',
  'Install',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
] as const;
export const ALLOW_EVENTS = ['BeforeAllowTraffic', 'AllowTraffic', 'AfterAllowTraffic'] as const;

/** In-place with a load balancer: all 13, in this order. */
export const IN_PLACE_WITH_LB: readonly string[] = [...BLOCK_EVENTS, ...INSTALL_EVENTS, ...ALLOW_EVENTS];

/** Events whose scripts come from the last successful revision on the instance (they run before DownloadBundle). */
export const PREVIOUS_REVISION_EVENTS: ReadonlySet<string> = new Set([
  'ApplicationStop',
  'BeforeBlockTraffic',
  'AfterBlockTraffic',
]);

/** Failures of these events are ignored when `ignoreApplicationStopFailures` is set (aws-semantics 3.6). */
export const IGNORABLE_EVENTS = PREVIOUS_REVISION_EVENTS;
