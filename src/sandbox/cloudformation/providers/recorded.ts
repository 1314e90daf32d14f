/**
 * Recorded-only resource types: the sandbox has no behaviour for them (no EC2 networking, no IAM, no SSM, no
 * EventBridge, no CodeBuild projects), so creating one records an AWS-shaped physical id (reference §3.1: `vpc-…`,
 * `sg-…`, role name, `IGW|vpc-…`, ...) and the attributes `Fn::GetAtt` needs; deleting forgets it.
 *
 * Why CodeBuild projects are here: the sandbox's CodeBuild has no projects; a pipeline's build action builds
 * under whatever project name it gives (src/sandbox/codebuild/index.ts).
 */
import { hex, type Props, str, upperId } from './props.ts';
import { type Created, type ProviderContext, type ResourceProvider, ResourceFailure } from './types.ts';

interface RecordedSpec {
  /** Seconds on AWS (roughly): create, delete. */
  seconds: [number, number];
  attributes: readonly string[];
  make(p: Props, ctx: ProviderContext): Created;
}

const arnBase = (ctx: ProviderContext, service: string) =>
  `arn:aws:${service}:${ctx.region}:${ctx.accountId}`;
const iamArn = (ctx: ProviderContext, kind: string, name: string, path = '/') =>
  `arn:aws:iam::${ctx.accountId}:${kind}${path}${name}`;

/** An AZ id in AWS's shape (`us-east-1` zone `b` → `use1-az2`); AWS maps letters to ids per account. */
function zoneId(region: string, az: string): string {
  const [area = '', direction = '', n = ''] = region.split('-');
  return `${area}${direction.charAt(0)}${n}-az${'abcdef'.indexOf(az.slice(-1)) + 1}`;
}

/** Fails the resource as CloudFormation's schema validation does when a required (object) property is absent. */
function required(p: Props, key: string, logicalId: string): void {
  if (p[key] === undefined || p[key] === null) {
    throw new ResourceFailure(
      `Properties validation failed for resource ${logicalId} with message: [#: required key [${key}] not found]`,
    );
  }
}

/** The name property if set, else a generated one (reference §2.1). */
function nameOr(p: Props, key: string, ctx: ProviderContext, max: number, lowercase = false): string {
  return str(p, key, ctx.logicalId) ?? ctx.physicalName(max, { lowercase });
}

const SPECS: Readonly<Record<string, RecordedSpec>> = {
  'AWS::EC2::VPC': {
    seconds: [15, 10],
    attributes: [
      'CidrBlock',
      'CidrBlockAssociations',
      'DefaultNetworkAcl',
      'DefaultSecurityGroup',
      'Ipv6CidrBlocks',
      'VpcId',
    ],
    make: (p, ctx) => {
      const id = `vpc-${hex(17)}`;
      return {
        physicalId: id,
        attributes: {
          VpcId: id,
          CidrBlock: str(p, 'CidrBlock', ctx.logicalId) ?? '10.0.0.0/16',
          CidrBlockAssociations: [`vpc-cidr-assoc-${hex(17)}`],
          DefaultNetworkAcl: `acl-${hex(17)}`,
          DefaultSecurityGroup: `sg-${hex(17)}`,
          Ipv6CidrBlocks: [],
        },
      };
    },
  },
  'AWS::EC2::InternetGateway': {
    seconds: [10, 10],
    attributes: ['InternetGatewayId'],
    make: () => {
      const id = `igw-${hex(17)}`;
      return { physicalId: id, attributes: { InternetGatewayId: id } };
    },
  },
  'AWS::EC2::VPCGatewayAttachment': {
    seconds: [15, 15],
    attributes: [],
    // Ref is "IGW|<vpc-id>" (reference §3.1, inferred from the CDK reference type).
    make: (p, ctx) => ({
      physicalId: `${p.InternetGatewayId ? 'IGW' : 'VGW'}|${str(p, 'VpcId', ctx.logicalId, true)}`,
      attributes: {},
    }),
  },
  'AWS::EC2::Subnet': {
    seconds: [5, 5],
    attributes: [
      'AvailabilityZone',
      'AvailabilityZoneId',
      'CidrBlock',
      'Ipv6CidrBlocks',
      'NetworkAclAssociationId',
      'OutpostArn',
      'SubnetId',
      'VpcId',
    ],
    make: (p, ctx) => {
      const id = `subnet-${hex(17)}`;
      const az = str(p, 'AvailabilityZone', ctx.logicalId) ?? `${ctx.region}a`;
      return {
        physicalId: id,
        attributes: {
          SubnetId: id,
          VpcId: str(p, 'VpcId', ctx.logicalId, true),
          AvailabilityZone: az,
          AvailabilityZoneId: zoneId(ctx.region, az),
          CidrBlock: str(p, 'CidrBlock', ctx.logicalId) ?? '',
          Ipv6CidrBlocks: [],
          NetworkAclAssociationId: `aclassoc-${hex(17)}`,
          OutpostArn: '',
        },
      };
    },
  },
  'AWS::EC2::RouteTable': {
    seconds: [5, 5],
    attributes: ['RouteTableId'],
    make: () => {
      const id = `rtb-${hex(17)}`;
      return { physicalId: id, attributes: { RouteTableId: id } };
    },
  },
  'AWS::EC2::Route': {
    seconds: [5, 5],
    attributes: ['CidrBlock'],
    // Ref "<rtb-id>|<destination>" (reference §3.1, inferred).
    make: (p, ctx) => {
      const dest =
        str(p, 'DestinationCidrBlock', ctx.logicalId) ??
        str(p, 'DestinationIpv6CidrBlock', ctx.logicalId) ??
        '';
      return {
        physicalId: `${str(p, 'RouteTableId', ctx.logicalId, true)}|${dest}`,
        attributes: { CidrBlock: dest },
      };
    },
  },
  'AWS::EC2::SubnetRouteTableAssociation': {
    seconds: [5, 5],
    attributes: ['Id'],
    make: () => {
      const id = `rtbassoc-${hex(17)}`;
      return { physicalId: id, attributes: { Id: id } };
    },
  },
  'AWS::EC2::SecurityGroup': {
    seconds: [5, 5],
    attributes: ['GroupId', 'VpcId'],
    make: (p, ctx) => {
      const id = `sg-${hex(17)}`;
      str(p, 'GroupDescription', ctx.logicalId, true);
      return { physicalId: id, attributes: { GroupId: id, VpcId: str(p, 'VpcId', ctx.logicalId) ?? '' } };
    },
  },
  'AWS::EC2::SecurityGroupIngress': {
    seconds: [3, 3],
    attributes: ['Id'],
    make: () => {
      const id = `sgr-${hex(17)}`;
      return { physicalId: id, attributes: { Id: id } };
    },
  },
  'AWS::EC2::SecurityGroupEgress': {
    seconds: [3, 3],
    attributes: ['Id'],
    make: () => {
      const id = `sgr-${hex(17)}`;
      return { physicalId: id, attributes: { Id: id } };
    },
  },
  'AWS::EC2::LaunchTemplate': {
    seconds: [5, 5],
    attributes: ['LaunchTemplateId', 'LatestVersionNumber', 'DefaultVersionNumber'],
    make: () => {
      const id = `lt-${hex(17)}`;
      // Version numbers are delivered as strings, like every scalar attribute (reference §3.1).
      return {
        physicalId: id,
        attributes: { LaunchTemplateId: id, LatestVersionNumber: '1', DefaultVersionNumber: '1' },
      };
    },
  },
  'AWS::IAM::Role': {
    seconds: [15, 10],
    attributes: ['Arn', 'RoleId'],
    make: (p, ctx) => {
      const name = nameOr(p, 'RoleName', ctx, 64);
      required(p, 'AssumeRolePolicyDocument', ctx.logicalId);
      return {
        physicalId: name,
        attributes: {
          Arn: iamArn(ctx, 'role', name, str(p, 'Path', ctx.logicalId) ?? '/'),
          RoleId: `AROA${upperId(17)}`,
        },
      };
    },
  },
  'AWS::IAM::ManagedPolicy': {
    seconds: [10, 5],
    attributes: [
      'PolicyArn',
      'PolicyId',
      'AttachmentCount',
      'CreateDate',
      'DefaultVersionId',
      'IsAttachable',
      'UpdateDate',
    ],
    // Ref is the policy's ARN.
    make: (p, ctx) => {
      const name = nameOr(p, 'ManagedPolicyName', ctx, 128);
      const arn = iamArn(ctx, 'policy', name, str(p, 'Path', ctx.logicalId) ?? '/');
      const now = ctx.clock.now().toISOString();
      return {
        physicalId: arn,
        attributes: {
          PolicyArn: arn,
          PolicyId: `ANPA${upperId(17)}`,
          AttachmentCount: '0',
          CreateDate: now,
          DefaultVersionId: 'v1',
          IsAttachable: 'true',
          UpdateDate: now,
        },
      };
    },
  },
  'AWS::IAM::Policy': {
    seconds: [10, 5],
    attributes: ['Id'],
    make: (p, ctx) => {
      str(p, 'PolicyName', ctx.logicalId, true);
      const id = ctx.physicalName(64);
      return { physicalId: id, attributes: { Id: id } };
    },
  },
  'AWS::IAM::InstanceProfile': {
    seconds: [120, 60],
    attributes: ['Arn'],
    make: (p, ctx) => {
      const name = nameOr(p, 'InstanceProfileName', ctx, 128);
      return {
        physicalId: name,
        attributes: { Arn: iamArn(ctx, 'instance-profile', name, str(p, 'Path', ctx.logicalId) ?? '/') },
      };
    },
  },
  'AWS::S3::BucketPolicy': {
    seconds: [3, 3],
    attributes: [],
    make: (p, ctx) => ({ physicalId: str(p, 'Bucket', ctx.logicalId, true), attributes: {} }),
  },
  'AWS::SSM::Parameter': {
    seconds: [3, 3],
    attributes: ['Type', 'Value'],
    make: (p, ctx) => {
      const name = str(p, 'Name', ctx.logicalId) ?? `CFN-${ctx.logicalId}-${upperId(12)}`;
      return {
        physicalId: name,
        attributes: {
          Type: str(p, 'Type', ctx.logicalId, true),
          Value: str(p, 'Value', ctx.logicalId, true),
        },
      };
    },
  },
  'AWS::CodeBuild::Project': {
    seconds: [5, 5],
    attributes: ['Arn'],
    make: (p, ctx) => {
      const name = nameOr(p, 'Name', ctx, 150);
      return { physicalId: name, attributes: { Arn: `${arnBase(ctx, 'codebuild')}:project/${name}` } };
    },
  },
  'AWS::SNS::Topic': {
    seconds: [5, 5],
    attributes: ['TopicArn', 'TopicName'],
    // Ref is the topic ARN.
    make: (p, ctx) => {
      const name = nameOr(p, 'TopicName', ctx, 256);
      const arn = `${arnBase(ctx, 'sns')}:${name}`;
      return { physicalId: arn, attributes: { TopicArn: arn, TopicName: name } };
    },
  },
};

/** The attributes a recorded S3 bucket answers (also used when the sandbox's S3 holds it). */
export function bucketAttributes(name: string, region: string): Record<string, string> {
  return {
    Arn: `arn:aws:s3:::${name}`,
    DomainName: `${name}.s3.amazonaws.com`,
    RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
    DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
    WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
  };
}

/** Every recorded-only type, by type name. */
export function recordedProviders(): ResourceProvider[] {
  return Object.entries(SPECS).map(([type, spec]) => ({
    type,
    recordedOnly: true,
    attributes: spec.attributes,
    createSeconds: spec.seconds[0],
    deleteSeconds: spec.seconds[1],
    create: async (p, ctx) => spec.make(p, ctx),
    delete: async () => {},
  }));
}
