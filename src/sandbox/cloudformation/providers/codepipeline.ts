/**
 * `AWS::CodePipeline::Pipeline` on the sandbox's CodePipeline (pipelines that run; a push to a CodeCommit source
 * branch starts them, as the EventBridge rule of a CodeCommit source does on AWS). `Ref` is the pipeline name;
 * `Fn::GetAtt Pipeline.Version` its version (reference §3.1). Action `Configuration` values are strings in the API,
 * so CloudFormation's `PollForSourceChanges: false` goes over as `"false"`.
 */
import { callService, camelize, defined } from './call.ts';
import { mergeTags, type Props, str, tagsOf } from './props.ts';
import type { ProviderContext, ResourceProvider } from './types.ts';

/** Properties that are CloudFormation's own, not members of the pipeline declaration. */
const NOT_IN_DECLARATION = new Set([
  'Name',
  'Tags',
  'RestartExecutionOnUpdate',
  'DisableInboundStageTransitions',
  'ArtifactStores',
  'Stages',
]);

function configuration(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      typeof v === 'string'
        ? v
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
  }
  return out;
}

function stages(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [];
  return value.map((s) => {
    const stage = s as Props;
    const { Actions, ...rest } = stage;
    return {
      ...(camelize(rest) as Props),
      actions: (Array.isArray(Actions) ? Actions : []).map((a) => {
        const { Configuration, RunOrder, TimeoutInMinutes, ...action } = a as Props;
        return defined({
          ...(camelize(action) as Props),
          configuration: configuration(Configuration),
          runOrder: RunOrder === undefined ? undefined : Number(RunOrder),
          timeoutInMinutes: TimeoutInMinutes === undefined ? undefined : Number(TimeoutInMinutes),
        });
      }),
    };
  });
}

function declaration(p: Props, name: string): Props {
  const rest: Props = {};
  for (const [k, v] of Object.entries(p)) if (!NOT_IN_DECLARATION.has(k)) rest[k] = v;
  const stores = p.ArtifactStores;
  return defined({
    ...(camelize(rest) as Props),
    name,
    stages: stages(p.Stages),
    // A list of {Region, ArtifactStore} in the template, a map region → store in the API.
    artifactStores: Array.isArray(stores)
      ? Object.fromEntries(
          stores.map((s) => [String((s as Props).Region), camelize((s as Props).ArtifactStore)]),
        )
      : undefined,
  });
}

async function disableTransitions(p: Props, name: string, ctx: ProviderContext): Promise<void> {
  const list = p.DisableInboundStageTransitions;
  if (!Array.isArray(list)) return;
  for (const t of list) {
    await callService(
      ctx.services.codepipeline,
      'DisableStageTransition',
      {
        pipelineName: name,
        stageName: str(t as Props, 'StageName', ctx.logicalId, true),
        transitionType: 'Inbound',
        reason: str(t as Props, 'Reason', ctx.logicalId, true),
      },
      ctx,
    );
  }
}

const pipeline: ResourceProvider = {
  type: 'AWS::CodePipeline::Pipeline',
  recordedOnly: false,
  attributes: ['Version'],
  createSeconds: 5,
  deleteSeconds: 5,
  async create(p, ctx) {
    const name = str(p, 'Name', ctx.logicalId) ?? ctx.physicalName(100);
    // CodePipeline refuses `aws:` keys from callers; CloudFormation's own tags are added after, as its privilege.
    const tags = mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags).map((t) => ({
      key: t.Key,
      value: t.Value,
    }));
    await callService(
      ctx.services.codepipeline,
      'CreatePipeline',
      { pipeline: declaration(p, name), tags },
      ctx,
    );
    const record = ctx.services.codepipeline.store.get(name);
    if (record) {
      const system = new Set(ctx.systemTags.map((t) => t.Key));
      record.tags = [
        ...record.tags.filter((t) => !system.has(t.key)),
        ...ctx.systemTags.map((t) => ({ key: t.Key, value: t.Value })),
      ];
    }
    await disableTransitions(p, name, ctx);
    return { physicalId: name, attributes: { Version: String(record?.declaration.version ?? 1) } };
  },
  async delete(r, ctx) {
    await callService(ctx.services.codepipeline, 'DeletePipeline', { name: r.physicalId }, ctx);
  },
};

export const codePipelineProviders: readonly ResourceProvider[] = [pipeline];
