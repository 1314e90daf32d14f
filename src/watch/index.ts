/**
 * How the harness learns of changes: AWS's state-change events (EventBridge → SQS) or polling; waits ask it.
 *
 * @example
 * const watch = new Watch({ setting: 'auto', clients, ledger, runId });
 * await watch.start({ pipelineName, applicationName, deploymentGroupName });
 * watch.describe(); // 'events: EventBridge rule cph-r1-events → SQS queue cph-r1-events (…)'
 */
export type { Channel, ChannelOptions, ChannelStats, ChannelTarget } from './channel.ts';
export { openChannel, queuePolicy, rulePattern } from './channel.ts';
export type { WatchedEvent, WatchTopic } from './topics.ts';
export { concerns, parseEvent } from './topics.ts';
export type { EventsSetting, WatchedPollOptions, Watching, WatchOptions, WatchReport } from './watch.ts';
export { Watch } from './watch.ts';
