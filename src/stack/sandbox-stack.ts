/**
 * The sample stack of DESIGN.md §1, as the harness describes it: the choices a run makes when it creates it
 * (`stack: ephemeral`) and what it knows of it once created. It is created the same way on AWS and on the sandbox:
 * from the capstone template through CloudFormation (`stack/cloudformation/`), so there is one provisioning path.
 */
import type { PipelineDeclaration } from '@aws-sdk/client-codepipeline';
import type { HarnessClients } from '../aws/clients.ts';
import { emptyBucket } from '../teardown/empty-bucket.ts';
import { createEphemeralStack } from './cloudformation/create.ts';
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

/** What a run chooses of its stack (`Harness.provision(choices)`), and what creating it needs. */
export interface SandboxStackOptions {
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
export interface SandboxStack {
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

const ACCOUNT = '000000000000';

/**
 * Creates the sample stack through CloudFormation from the capstone template (see `createEphemeralStack`), with
 * the defaults a run without config uses: a 30-minute deadline for the create (and for the delete), the artifact
 * bucket emptied with `emptyBucket` before the stack is deleted. `Harness.provision()` takes those from config.
 *
 * @example
 * ```ts
 * const stack = await createSandboxStack({ clients, ledger, names: stackNames(runId), instances: 3 });
 * await pushVersionBump({ repoUrl: stack.repositoryUrl, ... });
 * ```
 */
export async function createSandboxStack(options: SandboxStackOptions): Promise<SandboxStack> {
  const { cloudformation } = options.clients;
  if (!cloudformation) {
    throw new Error('createSandboxStack: clients.cloudformation is required (createClients() builds one)');
  }
  return createEphemeralStack({
    ...options,
    clients: { ...options.clients, cloudformation },
    timeout: 30 * 60_000, // ms
    emptyBucket,
  });
}

/**
 * The four-stage pipeline of the runbook, named for this run, as a declaration: what the capstone template's
 * pipeline declares (test/unit/infra-template.test.ts holds the template to it).
 */
export function pipelineDeclaration(
  names: StackNames,
  executionMode: 'SUPERSEDED' | 'QUEUED' | 'PARALLEL',
): PipelineDeclaration {
  return {
    name: names.pipelineName,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${names.prefix}-codepipeline`,
    artifactStore: { type: 'S3', location: `${names.prefix}-artifacts` },
    pipelineType: 'V2',
    executionMode,
    stages: [
      {
        name: 'Source',
        actions: [
          {
            name: 'Source',
            actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
            configuration: {
              RepositoryName: names.repositoryName,
              BranchName: 'main',
              PollForSourceChanges: 'false',
            },
            outputArtifacts: [{ name: 'SourceArtifact' }],
          },
        ],
      },
      {
        name: 'BuildAndTest',
        actions: [
          {
            name: 'BuildAndTest',
            actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
            configuration: { ProjectName: names.buildProjectName },
            inputArtifacts: [{ name: 'SourceArtifact' }],
            outputArtifacts: [{ name: 'BuildArtifact' }],
          },
        ],
      },
      {
        name: 'Approval',
        actions: [
          {
            name: 'ManualApproval',
            actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
            configuration: { CustomData: `Release of run ${names.runId}` },
          },
        ],
      },
      {
        name: 'Deploy',
        actions: [
          {
            name: 'Deploy',
            actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' },
            configuration: {
              ApplicationName: names.applicationName,
              DeploymentGroupName: names.deploymentGroupName,
            },
            inputArtifacts: [{ name: 'BuildArtifact' }],
          },
        ],
      },
    ],
  };
}
