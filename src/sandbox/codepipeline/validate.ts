/**
 * Pipeline structure validation, as CodePipeline does it on CreatePipeline / UpdatePipeline
 * (aws-semantics 2.1, 2.2). Constraint checks the model carries (patterns, lengths, enums) are the
 * codec's job; this module checks what only the service knows: stage count, source placement,
 * artifact wiring, action types and their configuration.
 */
import { ServiceError } from '../protocol/errors.ts';
import type { ActionDeclaration, ActionTypeId, PipelineDeclaration } from './model.ts';
import { referencedNamespaces } from './variables.ts';

/** Input/output artifact counts and configuration keys of an action type the sandbox knows. */
interface ActionTypeSpec {
  inputs: [min: number, max: number];
  outputs: [min: number, max: number];
  required: string[];
  /** Every accepted configuration key; undefined = not checked. */
  allowed?: string[];
}

// Artifact counts from the CodePipeline "Valid input and output artifacts for each action type" table.
const AWS_ACTION_TYPES: Record<string, Record<string, ActionTypeSpec>> = {
  Source: {
    CodeCommit: {
      inputs: [0, 0],
      outputs: [1, 1],
      required: ['RepositoryName', 'BranchName'],
      allowed: ['RepositoryName', 'BranchName', 'PollForSourceChanges', 'OutputArtifactFormat'],
    },
    S3: { inputs: [0, 0], outputs: [1, 1], required: ['S3Bucket', 'S3ObjectKey'] },
    ECR: { inputs: [0, 0], outputs: [1, 1], required: ['RepositoryName'] },
    CodeStarSourceConnection: {
      inputs: [0, 0],
      outputs: [1, 1],
      required: ['ConnectionArn', 'FullRepositoryId', 'BranchName'],
    },
  },
  Build: {
    CodeBuild: {
      inputs: [1, 5],
      outputs: [0, 5],
      required: ['ProjectName'],
      allowed: ['ProjectName', 'PrimarySource', 'BatchEnabled', 'CombineArtifacts', 'EnvironmentVariables'],
    },
    ECRBuildAndPublish: { inputs: [0, 1], outputs: [0, 0], required: ['ECRRepositoryName'] },
  },
  Test: {
    CodeBuild: {
      inputs: [1, 5],
      outputs: [0, 5],
      required: ['ProjectName'],
      allowed: ['ProjectName', 'PrimarySource', 'BatchEnabled', 'CombineArtifacts', 'EnvironmentVariables'],
    },
    DeviceFarm: { inputs: [1, 1], outputs: [0, 0], required: ['ProjectId', 'DevicePoolArn'] },
  },
  Deploy: {
    CodeDeploy: {
      inputs: [1, 1],
      outputs: [0, 0],
      required: ['ApplicationName', 'DeploymentGroupName'],
      allowed: ['ApplicationName', 'DeploymentGroupName'],
    },
    S3: { inputs: [1, 1], outputs: [0, 0], required: ['BucketName', 'Extract'] },
    ECS: { inputs: [1, 1], outputs: [0, 0], required: ['ClusterName', 'ServiceName'] },
    CodeDeployToECS: {
      inputs: [1, 5],
      outputs: [0, 0],
      required: ['ApplicationName', 'DeploymentGroupName'],
    },
    CloudFormation: { inputs: [0, 10], outputs: [0, 1], required: ['ActionMode', 'StackName'] },
    ElasticBeanstalk: { inputs: [1, 1], outputs: [0, 0], required: ['ApplicationName', 'EnvironmentName'] },
  },
  Approval: {
    Manual: {
      inputs: [0, 0],
      outputs: [0, 0],
      required: [],
      allowed: ['NotificationArn', 'CustomData', 'ExternalEntityLink'],
    },
  },
  Invoke: {
    Lambda: { inputs: [0, 5], outputs: [0, 5], required: ['FunctionName'] },
    StepFunctions: { inputs: [0, 1], outputs: [0, 1], required: ['StateMachineArn'] },
  },
  Compute: {
    Commands: { inputs: [1, 10], outputs: [0, 1], required: [] },
  },
};

/**
 * The spec of an action type, or undefined when CodePipeline would not offer it in the region.
 *
 * @example
 * actionTypeSpec({ category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' })?.inputs; // [1, 1]
 */
export function actionTypeSpec(id: ActionTypeId): ActionTypeSpec | undefined {
  if (id.owner === 'AWS' && id.version === '1') return AWS_ACTION_TYPES[id.category]?.[id.provider];
  if (
    id.owner === 'ThirdParty' &&
    id.category === 'Source' &&
    id.provider === 'GitHub' &&
    id.version === '1'
  ) {
    return { inputs: [0, 0], outputs: [1, 1], required: ['Owner', 'Repo', 'Branch', 'OAuthToken'] };
  }
  return undefined;
}

function structure(message: string): ServiceError {
  return new ServiceError('InvalidStructureException', message);
}
function stageError(message: string): ServiceError {
  return new ServiceError('InvalidStageDeclarationException', message);
}
function actionError(message: string): ServiceError {
  return new ServiceError('InvalidActionDeclarationException', message);
}

/**
 * Throws the CodePipeline error for the first structural problem of `pipeline`.
 *
 * @example
 * validatePipeline(input.pipeline, 'us-east-1'); // throws InvalidStructureException for a 1-stage pipeline
 */
export function validatePipeline(pipeline: PipelineDeclaration, region: string): void {
  const hasStore = pipeline.artifactStore !== undefined;
  const hasStores = pipeline.artifactStores !== undefined && Object.keys(pipeline.artifactStores).length > 0;
  if (hasStore === hasStores) {
    throw structure(
      `Pipeline '${pipeline.name}' must declare exactly one of artifactStore or artifactStores (got ${hasStore ? 'both' : 'neither'})`,
    );
  }
  validateRegions(pipeline, region);
  const type = pipeline.pipelineType ?? 'V1';
  const mode = pipeline.executionMode ?? 'SUPERSEDED';
  if (mode !== 'SUPERSEDED' && type !== 'V2') {
    throw structure(
      `Execution mode ${mode} is only available for pipelineType V2 (pipeline '${pipeline.name}' is ${type}); set "pipelineType": "V2" or use SUPERSEDED`,
    );
  }
  const stages = pipeline.stages ?? [];
  if (stages.length < 2) {
    throw structure(
      `Pipeline has only ${stages.length} stage(s). There should be a minimum of 2 stages in a pipeline`,
    );
  }
  if (stages.length > 50)
    throw new ServiceError('LimitExceededException', `Pipeline has ${stages.length} stages; the limit is 50`);

  const stageNames = new Set<string>();
  const produced = new Map<string, { stage: number; runOrder: number; action: string }>();
  /** Namespace → the action declaring it, from earlier stages only (same stage: checked by runOrder below). */
  const namespaces = new Map<string, string>();
  const pipelineVariables = new Set((pipeline.variables ?? []).map((v) => v.name));
  let actionCount = 0;
  stages.forEach((stage, stageIndex) => {
    if (stageNames.has(stage.name)) {
      throw structure(
        `Stage name '${stage.name}' is used more than once in pipeline '${pipeline.name}'; stage names must be unique`,
      );
    }
    stageNames.add(stage.name);
    if (stage.blockers !== undefined && (stage.blockers as unknown[]).length > 0) {
      throw new ServiceError(
        'InvalidBlockerDeclarationException',
        `Stage '${stage.name}' declares blockers, which are reserved and must be omitted`,
      );
    }
    const actions = stage.actions ?? [];
    if (actions.length === 0)
      throw stageError(`Stage '${stage.name}' has no actions; a stage needs 1 to 50 actions`);
    if (actions.length > 50)
      throw new ServiceError(
        'LimitExceededException',
        `Stage '${stage.name}' has ${actions.length} actions; the limit is 50`,
      );
    actionCount += actions.length;
    const actionNames = new Set<string>();
    for (const action of actions) {
      if (actionNames.has(action.name)) {
        throw stageError(
          `Action name '${action.name}' is used more than once in stage '${stage.name}'; action names must be unique within a stage`,
        );
      }
      actionNames.add(action.name);
      const isSource = action.actionTypeId.category === 'Source';
      if (stageIndex === 0 && !isSource) {
        throw structure(
          `Stage '${stage.name}' is the first stage, which may only contain source actions, but action '${action.name}' is a ${action.actionTypeId.category} action`,
        );
      }
      if (stageIndex > 0 && isSource) {
        throw structure(
          `Source action '${action.name}' is in stage '${stage.name}'; source actions may only appear in the first stage`,
        );
      }
      validateAction(action, stage.name, region);
    }
    // Wiring: an input must come from an action in an earlier stage or with a lower runOrder in this stage.
    for (const action of actions) {
      const runOrder = action.runOrder ?? 1;
      for (const input of action.inputArtifacts ?? []) {
        const from = produced.get(input.name);
        const sameStageEarlier = actions.some(
          (a) => (a.runOrder ?? 1) < runOrder && (a.outputArtifacts ?? []).some((o) => o.name === input.name),
        );
        if (!from && !sameStageEarlier) {
          throw structure(
            `Input artifact '${input.name}' of action '${action.name}' in stage '${stage.name}' is not the output artifact of any earlier action; name an output artifact of an action that runs before it`,
          );
        }
      }
    }
    // Variables: a reference needs a namespace declared by an action that runs earlier (reference-variables doc).
    for (const action of actions) {
      const runOrder = action.runOrder ?? 1;
      for (const ns of referencedNamespaces(action.configuration ?? {})) {
        if (ns === 'codepipeline') continue;
        if (ns === 'variables') continue;
        const earlierInStage = actions.some((a) => a.namespace === ns && (a.runOrder ?? 1) < runOrder);
        if (!namespaces.has(ns) && !earlierInStage) {
          throw actionError(
            `Action '${action.name}' in stage '${stage.name}' references variables of namespace '${ns}', which no earlier action declares; set "namespace": "${ns}" on the action that produces them`,
          );
        }
      }
      for (const key of Object.values(action.configuration ?? {}).flatMap((v) =>
        [...v.matchAll(/#\{variables\.([^}]+)\}/g)].map((m) => m[1]!),
      )) {
        if (!pipelineVariables.has(key)) {
          throw actionError(
            `Action '${action.name}' references pipeline variable '${key}', which the pipeline does not declare under "variables"`,
          );
        }
      }
    }
    for (const action of actions) {
      if (action.namespace === undefined) continue;
      const clash = namespaces.get(action.namespace);
      if (clash) {
        throw actionError(
          `Namespace '${action.namespace}' of action '${action.name}' is already used by action '${clash}'; namespaces must be unique in a pipeline`,
        );
      }
      namespaces.set(action.namespace, action.name);
    }
    for (const action of actions) {
      for (const output of action.outputArtifacts ?? []) {
        const clash = produced.get(output.name);
        if (clash) {
          throw structure(
            `Output artifact name '${output.name}' of action '${action.name}' is already used by action '${clash.action}'; output artifact names must be unique in a pipeline`,
          );
        }
        produced.set(output.name, { stage: stageIndex, runOrder: action.runOrder ?? 1, action: action.name });
      }
    }
  });
  if (actionCount > 500)
    throw new ServiceError('LimitExceededException', `Pipeline has ${actionCount} actions; the limit is 500`);
}

/**
 * Cross-region actions (an action's `region` other than the pipeline's): the pipeline must use `artifactStores`
 * with a store for its own region and for each action's region, and source actions cannot be cross-region
 * (CodePipeline user guide, "Add a cross-Region action"; PipelineDeclaration.artifactStores).
 */
function validateRegions(pipeline: PipelineDeclaration, region: string): void {
  const stores = pipeline.artifactStores ?? {};
  for (const key of Object.keys(stores)) {
    if (!/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/.test(key)) {
      throw new ServiceError(
        'ValidationException',
        `The region ${key} specified in 'pipeline.artifactStores' is not a valid AWS Region.`,
      );
    }
  }
  const usesStores = pipeline.artifactStores !== undefined && Object.keys(stores).length > 0;
  for (const stage of pipeline.stages ?? []) {
    for (const action of stage.actions ?? []) {
      const actionRegion = action.region;
      if (actionRegion === undefined || actionRegion === region) continue;
      if (action.actionTypeId.category === 'Source') {
        throw actionError(
          `Source action '${action.name}' declares region '${actionRegion}'; source actions cannot be cross-region and run in the pipeline's region ${region}`,
        );
      }
      if (!usesStores) {
        throw structure(
          `Action '${action.name}' in stage '${stage.name}' runs in region '${actionRegion}', but pipeline '${pipeline.name}' in ${region} uses artifactStore; a pipeline with cross-region actions must use artifactStores, with an artifact store for ${region} and for ${actionRegion}`,
        );
      }
      if (!Object.hasOwn(stores, actionRegion)) {
        throw structure(
          `artifactStores of pipeline '${pipeline.name}' has no artifact store for region '${actionRegion}' of action '${action.name}'; add one for each region an action runs in`,
        );
      }
    }
  }
  if (usesStores && !Object.hasOwn(stores, region)) {
    throw structure(
      `artifactStores of pipeline '${pipeline.name}' has no artifact store for the pipeline's region '${region}'; add one`,
    );
  }
}

function validateAction(action: ActionDeclaration, stageName: string, region: string): void {
  const id = action.actionTypeId;
  const spec = actionTypeSpec(id);
  if (!spec) {
    throw actionError(
      `ActionType (Category: '${id.category}', Provider: '${id.provider}', Owner: '${id.owner}', Version: '${id.version}') in action '${action.name}' is not available in region '${region}'`,
    );
  }
  const inputs = action.inputArtifacts?.length ?? 0;
  const outputs = action.outputArtifacts?.length ?? 0;
  const label = `${id.category}/${id.owner}/${id.provider}`;
  if (inputs < spec.inputs[0] || inputs > spec.inputs[1]) {
    throw actionError(
      `Action '${action.name}' in stage '${stageName}' has ${inputs} input artifact(s); ${label} actions take ${range(spec.inputs)}`,
    );
  }
  if (outputs < spec.outputs[0] || outputs > spec.outputs[1]) {
    throw actionError(
      `Action '${action.name}' in stage '${stageName}' has ${outputs} output artifact(s); ${label} actions produce ${range(spec.outputs)}`,
    );
  }
  const config = action.configuration ?? {};
  for (const key of spec.required) {
    if (config[key] === undefined || config[key] === '') {
      throw actionError(
        `Action configuration for action '${action.name}' is missing required configuration '${key}'`,
      );
    }
  }
  if (spec.allowed) {
    for (const key of Object.keys(config)) {
      if (!spec.allowed.includes(key)) {
        throw actionError(
          `Action configuration for action '${action.name}' contains unknown configuration '${key}'; ${label} accepts ${spec.allowed.join(', ')}`,
        );
      }
    }
  }
  if (id.provider === 'CodeCommit' && config.PollForSourceChanges !== undefined) {
    if (!['true', 'false'].includes(config.PollForSourceChanges.toLowerCase())) {
      throw actionError(
        `PollForSourceChanges of action '${action.name}' must be 'true' or 'false' (got '${config.PollForSourceChanges}')`,
      );
    }
  }
}

function range([min, max]: [number, number]): string {
  return min === max ? `exactly ${min}` : `${min} to ${max}`;
}
