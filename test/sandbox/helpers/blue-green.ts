/**
 * A blue/green CodeDeploy fixture for sandbox tests: revisions of a tiny web app (its appspec and hook scripts),
 * and the setup every blue/green test starts from: an ALB and target group, a blue Auto Scaling group behind it,
 * a CodeDeploy application and a BLUE_GREEN / WITH_TRAFFIC_CONTROL deployment group (COPY_AUTO_SCALING_GROUP)
 * with rollback on failure. All of it through the real SDK clients of the sandbox.
 *
 * @example
 * await writeRevision(join(work, 'v1'), 'v1', webAppScripts());
 * await sb.sandbox.services.codedeploy.registerRevision(s3Revision('v1'), join(work, 'v1'));
 * const { dnsName } = await createBlueGreenGroup(sb.clients, {
 *   application: 'shop',
 *   group: 'shop-bg',
 *   name: 'web',
 *   capacity: 2,
 *   blueGreen: blueGreenConfiguration({ terminationWait: 1 }),
 * });
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  type BlueGreenDeploymentConfiguration,
  CreateApplicationCommand,
  CreateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { type AwsCliResult, awsCli } from './aws-cli.ts';
import type { SdkClients } from './clients.ts';
import { createLoadBalancer, type LoadBalancerOptions, type TestLoadBalancer } from './load-balancer.ts';

/** The service role the sandbox's deployment groups are created with. */
export const CODEDEPLOY_ROLE = 'arn:aws:iam::000000000000:role/CodeDeployServiceRole';

/** The lifecycle events a revision may hook, in the order CodeDeploy runs them (appspec `hooks`). */
const HOOK_ORDER = [
  'ApplicationStop',
  'BeforeInstall',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
  'BeforeBlockTraffic',
  'AfterBlockTraffic',
] as const;

export type Hook = (typeof HOOK_ORDER)[number];

/** A revision stored as `s3://releases/<key>` (a zip), as CreateDeployment takes it. */
export const s3Revision = (key: string) => ({
  revisionType: 'S3' as const,
  s3Location: { bucket: 'releases', key, bundleType: 'zip' as const },
});

/**
 * Writes a revision into `dir`: a `VERSION` file, an `appspec.yml` that copies the revision to `/opt/app` and
 * hooks each event of `scripts` (30 s timeout) to `scripts/<event>.sh`, and those bash scripts.
 */
export async function writeRevision(
  dir: string,
  version: string,
  scripts: Partial<Record<Hook, string>>,
): Promise<void> {
  const hooks = HOOK_ORDER.filter((event) => scripts[event] !== undefined);
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await writeFile(join(dir, 'VERSION'), version);
  await writeFile(
    join(dir, 'appspec.yml'),
    [
      'version: 0.0',
      'os: linux',
      'files:',
      '  - source: /',
      '    destination: /opt/app',
      'hooks:',
      ...hooks.flatMap((e) => [`  ${e}:`, `    - location: scripts/${e}.sh`, '      timeout: 30']),
      '',
    ].join('\n'),
  );
  for (const event of hooks) {
    await writeFile(join(dir, 'scripts', `${event}.sh`), `#!/usr/bin/env bash\n${scripts[event]}\n`);
  }
}

/**
 * The hook scripts of the web app: ApplicationStart serves `/` with the revision's VERSION (header
 * `x-instance-id`) and `/health` with `health`; ValidateService waits (10 s at most) for `/health` to answer 200
 * and fails at once on a 500; ApplicationStop kills the app, then pauses `stopPause` seconds (none when 0).
 */
export function webAppScripts(
  options: { health?: 200 | 500; stopPause?: number } = {},
): Record<'ApplicationStop' | 'ApplicationStart' | 'ValidateService', string> {
  const { health = 200, stopPause = 0 } = options;
  return {
    ApplicationStop: `[ -f "$DEPLOY_ROOT/app.pid" ] && kill "$(cat "$DEPLOY_ROOT/app.pid")" 2>/dev/null; rm -f "$DEPLOY_ROOT/app.pid"; ${stopPause ? `sleep ${stopPause}; ` : ''}exit 0`,
    ApplicationStart: `VERSION=$(cat "$DEPLOY_ROOT/opt/app/VERSION") nohup node -e "require('http').createServer((q,s)=>{if(q.url==='/health'){s.writeHead(${health});return s.end()}s.setHeader('x-instance-id',process.env.INSTANCE_ID);s.end(process.env.VERSION)}).listen(process.env.PORT,'127.0.0.1')" >/dev/null 2>&1 &\necho $! > "$DEPLOY_ROOT/app.pid"`,
    ValidateService: `for i in $(seq 1 100); do\n  code=$(node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>console.log(r.status),()=>console.log(0))")\n  [ "$code" = 200 ] && exit 0\n  [ "$code" = 500 ] && { echo "health answered 500" >&2; exit 1; }\n  sleep 0.1\ndone\nexit 1`,
  };
}

/**
 * A COPY_AUTO_SCALING_GROUP blue/green configuration: blue terminated `terminationWait` minutes after the
 * reroute; traffic rerouted at once, or (with `ready`) only on ContinueDeployment, stopping after `ready.wait`
 * minutes without it.
 */
export function blueGreenConfiguration(settings: {
  terminationWait: number;
  ready?: { wait: number } | undefined;
}): BlueGreenDeploymentConfiguration {
  return {
    terminateBlueInstancesOnDeploymentSuccess: {
      action: 'TERMINATE',
      terminationWaitTimeInMinutes: settings.terminationWait,
    },
    deploymentReadyOption: settings.ready
      ? { actionOnTimeout: 'STOP_DEPLOYMENT', waitTimeInMinutes: settings.ready.wait }
      : { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
    greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
  };
}

export interface BlueGreenGroupOptions {
  application: string;
  group: string;
  /** Names the load balancer `<name>-alb`, its target group `<name>-tg` and the blue group `<name>-blue`. */
  name: string;
  /** Instances in blue (its MinSize and DesiredCapacity; MaxSize is twice as many). */
  capacity: number;
  blueGreen: BlueGreenDeploymentConfiguration;
  /** More health check settings of the target group (its path is `/health`). */
  healthCheck?: Pick<LoadBalancerOptions, 'unhealthyThresholdCount'>;
}

/**
 * Creates the load balancer, the blue group (launch template `web`) registered in its target group, the
 * application and its BLUE_GREEN deployment group on the `CodeDeployDefault.AllAtOnce` config, rolling back on
 * DEPLOYMENT_FAILURE.
 */
export async function createBlueGreenGroup(
  clients: Pick<SdkClients, 'elbv2' | 'autoscaling' | 'codedeploy'>,
  options: BlueGreenGroupOptions,
): Promise<TestLoadBalancer> {
  const lb = await createLoadBalancer(clients.elbv2, {
    name: `${options.name}-alb`,
    targetGroupName: `${options.name}-tg`,
    healthCheckPath: '/health',
    ...options.healthCheck,
  });
  await clients.autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: `${options.name}-blue`,
      MinSize: options.capacity,
      MaxSize: options.capacity * 2,
      DesiredCapacity: options.capacity,
      LaunchTemplate: { LaunchTemplateName: 'web' },
      TargetGroupARNs: [lb.targetGroupArn],
    }),
  );
  await clients.codedeploy.send(new CreateApplicationCommand({ applicationName: options.application }));
  await clients.codedeploy.send(
    new CreateDeploymentGroupCommand({
      applicationName: options.application,
      deploymentGroupName: options.group,
      serviceRoleArn: CODEDEPLOY_ROLE,
      autoScalingGroups: [`${options.name}-blue`],
      deploymentConfigName: 'CodeDeployDefault.AllAtOnce',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      loadBalancerInfo: { targetGroupInfoList: [{ name: `${options.name}-tg` }] },
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
      blueGreenDeploymentConfiguration: options.blueGreen,
    }),
  );
  return lb;
}

/**
 * `aws deploy continue-deployment` against the sandbox at `endpoint`: with `READY_WAIT` reroutes a deployment
 * waiting in Ready, with `TERMINATION_WAIT` ends blue's termination wait (the CLI's default is READY_WAIT).
 */
export function continueDeploymentCli(
  endpoint: string,
  deploymentId: string,
  waitType?: 'READY_WAIT' | 'TERMINATION_WAIT',
): Promise<AwsCliResult> {
  return awsCli(endpoint, [
    'deploy',
    'continue-deployment',
    '--deployment-id',
    deploymentId,
    ...(waitType ? ['--deployment-wait-type', waitType] : []),
  ]);
}
