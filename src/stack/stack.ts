/**
 * The sample stack of DESIGN.md §1, as the harness describes it: the choices a run makes when it creates it
 * (`stack: ephemeral`) and what it knows of it once created. It is created the same way on AWS and on the sandbox:
 * from the capstone template through CloudFormation (`stack/cloudformation/`), so there is one provisioning path.
 */
import type { HarnessClients } from '../aws/clients.ts';
import type { StackNames } from './names.ts';

/** Where teardown entries go; `teardown/Ledger` implements it. */
export interface LedgerLike {
  /** `delete` gets the teardown's abort signal (its deadline) and passes it to every call it makes. */
  add(entry: {
    kind: string;
    id: string;
    delete: (signal: AbortSignal) => Promise<void>;
    describe?: string;
  }): void;
}

/** What a run chooses of its stack (`Harness.provision(choices)`), and what creating it needs (`createEphemeralStack`). */
export interface StackOptions {
  /** Clients on the target, CloudFormation's included. */
  clients: HarnessClients;
  ledger: LedgerLike;
  names: StackNames;
  /** The template creates the group in place; `BLUE_GREEN` switches it after create. @default 'BLUE_GREEN' */
  deploymentType?: 'BLUE_GREEN' | 'IN_PLACE';
  /** In-place deployment config. @default 'CodeDeployDefault.OneAtATime' */
  deploymentConfigName?: string;
  /** @default 'SUPERSEDED' */
  executionMode?: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL';
  /** Instances in the auto scaling group (1-6). @default 2 */
  instances?: number;
  /** Minutes before blue instances are terminated after a blue/green success (scaled by the sandbox). @default 1 */
  blueTerminationMinutes?: number;
}

/** What was created: the names plus what only exists once created. */
export interface ProvisionedStack {
  readonly names: StackNames;
  readonly repositoryUrl: string;
  readonly loadBalancerArn: string;
  readonly loadBalancerDns: string;
  readonly targetGroupArn: string;
  readonly listenerArn: string;
  readonly deploymentType: 'BLUE_GREEN' | 'IN_PLACE';
  /** Instances serving behind the load balancer (the auto scaling group's size). */
  readonly instances: number;
}
