/**
 * `AWS::Logs::LogGroup` on the sandbox's CloudWatch Logs (the group a CodeBuild project writes to goes when the
 * stack goes) and `AWS::S3::Bucket` on the sandbox's S3 when it has one (`src/sandbox/s3/`), recorded only
 * otherwise. `Ref` is the name for both (reference §3.1).
 */
import { bucketAttributes } from './recorded.ts';
import { num, type Props, str, tagsOf, mergeTags } from './props.ts';
import { type ResourceProvider, ResourceFailure } from './types.ts';

const logGroup: ResourceProvider = {
  type: 'AWS::Logs::LogGroup',
  recordedOnly: false,
  attributes: ['Arn'],
  createSeconds: 3,
  deleteSeconds: 3,
  async create(p, ctx) {
    const name = str(p, 'LogGroupName', ctx.logicalId) ?? ctx.physicalName(512);
    num(p, 'RetentionInDays', ctx.logicalId);
    const { store } = ctx.services.logs;
    if (store.groups.has(name)) {
      throw new ResourceFailure(
        `Resource of type 'AWS::Logs::LogGroup' with identifier '${name}' already exists.`,
      );
    }
    const group = store.ensureGroup(
      name,
      `arn:aws:logs:${ctx.region}:${ctx.accountId}`,
      ctx.clock.now().getTime(),
    );
    return { physicalId: name, attributes: { Arn: group.arn } };
  },
  async delete(r, ctx) {
    ctx.services.logs.store.groups.delete(r.physicalId);
  },
};

/** S3's wording for a bucket that is not empty, as CloudFormation's legacy handler decorates it (reference §2.5). */
function notEmpty(requestId: string): string {
  return `The bucket you tried to delete is not empty (Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty; Request ID: ${requestId}; S3 Extended Request ID: ${requestId}; Proxy: null)`;
}

const bucket: ResourceProvider = {
  type: 'AWS::S3::Bucket',
  recordedOnly: false,
  attributes: ['Arn', 'DomainName', 'DualStackDomainName', 'RegionalDomainName', 'WebsiteURL'],
  createSeconds: 20,
  deleteSeconds: 5,
  async create(p, ctx) {
    const name = str(p, 'BucketName', ctx.logicalId) ?? ctx.physicalName(63, { lowercase: true });
    const s3 = ctx.services.s3;
    if (s3) {
      if (s3.hasBucket(name)) {
        throw new ResourceFailure(`${name} already exists`);
      }
      const versioning = (p.VersioningConfiguration ?? {}) as Props;
      // S3 refuses `aws:` keys from a requester ("System tags cannot be added/updated by requester"): stack and
      // resource tags only.
      const tags = mergeTags(tagsOf(p, ctx.logicalId), ctx.stackTags);
      await s3.createBucket(name, {
        versioned: str(versioning, 'Status', ctx.logicalId) === 'Enabled',
        tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
      });
    }
    return { physicalId: name, attributes: bucketAttributes(name, ctx.region) };
  },
  async delete(r, ctx) {
    const s3 = ctx.services.s3;
    if (!s3?.hasBucket(r.physicalId)) return;
    try {
      await s3?.deleteBucket(r.physicalId);
    } catch (error) {
      const name = (error as { name?: string; code?: string })?.name;
      const code = (error as { code?: string })?.code;
      if (name === 'BucketNotEmpty' || code === 'BucketNotEmpty') {
        throw new ResourceFailure(
          notEmpty(ctx.request.requestId.replace(/-/g, '').slice(0, 16).toUpperCase()),
        );
      }
      throw error;
    }
  },
};

export const storageProviders: readonly ResourceProvider[] = [logGroup, bucket];
