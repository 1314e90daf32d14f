/**
 * What the AutoScaling subset and CodeDeploy need from ELBv2, in-process (the ELBv2 service implements it).
 * Kept as an interface so both can be tested without a load balancer and so the dependency stays one-way.
 */

/** One target's health as ELBv2 reports it (DescribeTargetHealth `State`, `Reason`). */
export interface TargetHealthSummary {
  id: string;
  state: string;
  reason?: string;
  port?: number;
}

/**
 * @example
 * await lb.registerTargets(tg.arn, [{ Id: 'i-0123456789abcdef0' }]);
 * (await lb.targetHealth(tg.arn)).find((t) => t.id === 'i-0123456789abcdef0')?.state; // 'initial' → 'healthy'
 */
export interface TargetRegistry {
  registerTargets(targetGroupArn: string, targets: { Id: string; Port?: number }[]): unknown;
  /** Starts draining (the deregistration delay applies); callers poll {@link targetHealth} until the target is gone. */
  deregisterTargets(targetGroupArn: string, targets: { Id: string; Port?: number }[]): unknown;
  targetHealth(targetGroupArn: string): TargetHealthSummary[] | Promise<TargetHealthSummary[]>;
  findTargetGroupByName(name: string): { arn: string } | undefined;
}

/** True when `x` offers the whole {@link TargetRegistry} (the ELBv2 service once its internal API exists). */
export function isTargetRegistry(x: unknown): x is TargetRegistry {
  const r = x as Partial<TargetRegistry> | undefined;
  return (
    typeof r?.registerTargets === 'function' &&
    typeof r.deregisterTargets === 'function' &&
    typeof r.targetHealth === 'function' &&
    typeof r.findTargetGroupByName === 'function'
  );
}
