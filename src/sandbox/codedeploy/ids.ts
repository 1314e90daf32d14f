/** CodeDeploy identifiers and ARNs (aws-semantics 3.1). */
import { randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `d-` + 9 upper-case alphanumerics, e.g. `d-A1B2C3123`. */
export function deploymentId(): string {
  let id = 'd-';
  for (let i = 0; i < 9; i++) id += ALNUM[randomInt(ALNUM.length)];
  return id;
}

/** Matches a deployment id (used to answer `InvalidDeploymentIdException` before a lookup). */
export const DEPLOYMENT_ID = /^d-[A-Z0-9]{9}$/;

export function applicationArn(region: string, account: string, app: string): string {
  return `arn:aws:codedeploy:${region}:${account}:application:${app}`;
}

export function deploymentGroupArn(region: string, account: string, app: string, dg: string): string {
  return `arn:aws:codedeploy:${region}:${account}:deploymentgroup:${app}/${dg}`;
}

export function deploymentConfigArn(region: string, account: string, name: string): string {
  return `arn:aws:codedeploy:${region}:${account}:deploymentconfig:${name}`;
}

export function instanceArn(region: string, account: string, instanceId: string): string {
  return `arn:aws:ec2:${region}:${account}:instance/${instanceId}`;
}
