/**
 * How IAM words a refused call (aws-semantics-events-auth-regions §5): the code and status per protocol, and the
 * message "User: <principal> is not authorized to perform: <svc>:<Action> on resource: <arn> because no
 * identity-based policy allows the <svc>:<Action> action", with the resource IAM evaluates (§5.3) where the input
 * names it, and no "on resource" part for actions that only take `*` (every Describe/List of ELBv2, AutoScaling).
 */
import { ServiceError } from './protocol/errors.ts';
import type { ServiceName } from './types.ts';

/** The IAM service prefix of each sandbox service. */
const IAM_PREFIX: Readonly<Partial<Record<ServiceName, string>>> = {
  codepipeline: 'codepipeline',
  codedeploy: 'codedeploy',
  elbv2: 'elasticloadbalancing',
  autoscaling: 'autoscaling',
  codecommit: 'codecommit',
  codebuild: 'codebuild',
  logs: 'logs',
  events: 'events',
  sqs: 'sqs',
};

type Input = Readonly<Record<string, unknown>>;

function text(input: Input, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The resource ARN IAM evaluates for a call, when its input names it (§5.3); undefined for `*`-only actions. */
export function resourceOf(
  service: ServiceName,
  operation: string,
  input: Input,
  where: { region: string; accountId: string },
): string | undefined {
  const at = `${where.region}:${where.accountId}`;
  switch (service) {
    case 'codepipeline': {
      const tagged = text(input, 'resourceArn');
      if (tagged) return tagged;
      const declared = input.pipeline as Input | undefined;
      const pipeline =
        text(input, 'pipelineName') ?? text(input, 'name') ?? (declared && text(declared, 'name'));
      if (!pipeline) return undefined;
      const stage = text(input, 'stageName');
      const action = text(input, 'actionName');
      return `arn:aws:codepipeline:${at}:${[pipeline, stage, action].filter(Boolean).join('/')}`;
    }
    case 'codedeploy': {
      const tagged = text(input, 'ResourceArn');
      if (tagged) return tagged;
      const app = text(input, 'applicationName');
      const group = text(input, 'deploymentGroupName') ?? text(input, 'currentDeploymentGroupName');
      if (app && group) return `arn:aws:codedeploy:${at}:deploymentgroup:${app}/${group}`;
      return app ? `arn:aws:codedeploy:${at}:application:${app}` : undefined;
    }
    case 'elbv2':
      if (operation.startsWith('Describe')) return undefined;
      return text(input, 'TargetGroupArn') ?? text(input, 'ListenerArn') ?? text(input, 'LoadBalancerArn');
    case 'autoscaling': {
      if (operation.startsWith('Describe')) return undefined;
      const group = text(input, 'AutoScalingGroupName');
      return group
        ? `arn:aws:autoscaling:${at}:autoScalingGroup:*:autoScalingGroupName/${group}`
        : undefined;
    }
    case 'codecommit': {
      const repository = text(input, 'repositoryName');
      return repository ? `arn:aws:codecommit:${at}:${repository}` : undefined;
    }
    case 'codebuild': {
      const ids = input.ids;
      const project =
        text(input, 'projectName') ??
        (Array.isArray(ids) && typeof ids[0] === 'string' ? ids[0].split(':')[0] : undefined);
      return project ? `arn:aws:codebuild:${at}:project/${project}` : undefined;
    }
    case 'logs': {
      const group = text(input, 'logGroupName');
      if (!group) return undefined;
      const stream = text(input, 'logStreamName');
      return `arn:aws:logs:${at}:log-group:${group}${stream ? `:log-stream:${stream}` : ''}`;
    }
    default: {
      const stack = text(input, 'StackName');
      return service === 'cloudformation' && stack
        ? `arn:aws:cloudformation:${at}:stack/${stack}/*`
        : undefined;
    }
  }
}

/**
 * The error IAM answers when no policy allows a call: `AccessDeniedException` (400) on JSON services,
 * `AccessDenied` (403) on Query ones, with AWS's message.
 *
 * @example
 * throw accessDenied('codedeploy', 'json', 'StopDeployment', input, { region: 'us-east-1', accountId: '000000000000' });
 */
export function accessDenied(
  service: ServiceName,
  protocol: 'json' | 'query',
  operation: string,
  input: unknown,
  where: { region: string; accountId: string },
): ServiceError {
  const action = `${IAM_PREFIX[service] ?? service}:${operation}`;
  const resource = resourceOf(
    service,
    operation,
    (input && typeof input === 'object' ? input : {}) as Input,
    where,
  );
  const principal = `arn:aws:sts::${where.accountId}:assumed-role/sandbox-caller/harness`;
  const message =
    `User: ${principal} is not authorized to perform: ${action}` +
    (resource ? ` on resource: ${resource}` : '') +
    ` because no identity-based policy allows the ${action} action`;
  return protocol === 'json'
    ? new ServiceError('AccessDeniedException', message, { status: 400 })
    : new ServiceError('AccessDenied', message, { status: 403 });
}
