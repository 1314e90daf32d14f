/**
 * EventBridge and SQS in the sandbox: rules on each region's default bus, SQS queues they deliver to, and the
 * AWS-shaped state-change events the region's CodePipeline and CodeDeploy publish (aws-semantics-events-auth-regions
 * §1–§3). See ./eventbridge.ts for delivery (late, sometimes twice, unordered; the queue policy decides).
 *
 * @example
 * const sqs = new SqsService(runtime);
 * const events = new EventBridgeService(runtime, { sqs, codepipeline, codedeploy });
 */
export type { DeliverySettings } from './delivery.ts';
export { defaultDeliverySettings } from './delivery.ts';
export type { EventBridgeDeps, EventBridgeOperations, RuleInvocations } from './eventbridge.ts';
export { EventBridgeService } from './eventbridge.ts';
export type { EventPattern } from './pattern.ts';
export { matches, parsePattern } from './pattern.ts';
export { allowsEventBridge } from './policy.ts';
export type { AwsEvent } from './shapes.ts';
export type { SqsOperations } from './sqs.ts';
export { SqsService } from './sqs.ts';
