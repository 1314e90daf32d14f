/**
 * The leak check: lists what a run left behind, by tag (`<runTag.key>=<runTag.value>`) where tags come cheap
 * (ELBv2 in batches of 20, Auto Scaling inline) and by name prefix everywhere, including the
 * `CodeDeploy_<deployment group>_<deployment id>` groups blue/green copies (aws-semantics §3.11), which deleting
 * the deployment group does not remove, and CodeCommit repositories by name prefix when a CodeCommit client is given.
 */
import {
  DescribeAutoScalingGroupsCommand,
  type DescribeAutoScalingGroupsCommandOutput,
} from '@aws-sdk/client-auto-scaling';
import {
  ListApplicationsCommand,
  type ListApplicationsCommandOutput,
  ListDeploymentGroupsCommand,
} from '@aws-sdk/client-codedeploy';
import { ListRepositoriesCommand, type ListRepositoriesCommandOutput } from '@aws-sdk/client-codecommit';
import { ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import {
  DescribeLoadBalancersCommand,
  type DescribeLoadBalancersCommandOutput,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  type DescribeTargetGroupsCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { HarnessClients } from '../aws/clients.ts';
import { LeakError } from '../errors.ts';

export interface RunTag {
  key: string;
  value: string;
}

export interface LeakCheckOptions {
  /** Names starting with this belong to the run (e.g. `harness-<runId>`). */
  namePrefix?: string;
  /** Deployment groups of the run: `CodeDeploy_<dg>_*` auto scaling groups are leftovers too. */
  deploymentGroups?: readonly string[];
}

export interface Leftover {
  kind:
    | 'pipeline'
    | 'application'
    | 'deployment-group'
    | 'load-balancer'
    | 'target-group'
    | 'auto-scaling-group'
    | 'repository'
    | 'stack'
    | 'execution'
    | 'deployment'
    | 'branch'
    | 'events-rule'
    | 'sqs-queue';
  id: string;
  /** How it was recognised: `tag`, `name` or `codedeploy-copy`. */
  reason: string;
}

export interface LeakReport {
  clean: boolean;
  leftovers: Leftover[];
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Result form: lists every resource of the run that still exists.
 *
 * @example
 * ```ts
 * const report = await checkLeaks(clients, { key: 'codepipeline-harness:run', value: runId }, { namePrefix: `h-${runId}` });
 * console.table(report.leftovers);
 * ```
 */
export async function checkLeaks(
  clients: HarnessClients,
  runTag: RunTag | undefined,
  options: LeakCheckOptions = {},
): Promise<LeakReport> {
  const prefix = options.namePrefix;
  const byName = (name: string | undefined) => Boolean(prefix && name?.startsWith(prefix));
  const leftovers: Leftover[] = [];
  const groups = new Set(options.deploymentGroups ?? []);

  let token: string | undefined;
  do {
    const out = await clients.codepipeline.send(new ListPipelinesCommand({ nextToken: token }));
    for (const p of out.pipelines ?? [])
      if (byName(p.name)) leftovers.push({ kind: 'pipeline', id: p.name!, reason: 'name' });
    token = out.nextToken;
  } while (token);

  token = undefined;
  do {
    const out: ListApplicationsCommandOutput = await clients.codedeploy.send(
      new ListApplicationsCommand({ nextToken: token }),
    );
    for (const app of out.applications ?? []) {
      if (!byName(app)) continue;
      leftovers.push({ kind: 'application', id: app, reason: 'name' });
      const dgs = await clients.codedeploy.send(new ListDeploymentGroupsCommand({ applicationName: app }));
      for (const dg of dgs.deploymentGroups ?? []) {
        groups.add(dg);
        leftovers.push({ kind: 'deployment-group', id: `${app}/${dg}`, reason: 'name' });
      }
    }
    token = out.nextToken;
  } while (token);

  const tagged = async (arns: string[]): Promise<Set<string>> => {
    const hits = new Set<string>();
    if (!runTag) return hits;
    for (const batch of chunks(arns, 20)) {
      const out = await clients.elbv2.send(new DescribeTagsCommand({ ResourceArns: batch }));
      for (const d of out.TagDescriptions ?? []) {
        if (d.ResourceArn && d.Tags?.some((t) => t.Key === runTag.key && t.Value === runTag.value))
          hits.add(d.ResourceArn);
      }
    }
    return hits;
  };

  const lbs: { name: string; arn: string }[] = [];
  let marker: string | undefined;
  do {
    const out: DescribeLoadBalancersCommandOutput = await clients.elbv2.send(
      new DescribeLoadBalancersCommand({ Marker: marker }),
    );
    for (const lb of out.LoadBalancers ?? [])
      lbs.push({ name: lb.LoadBalancerName ?? '?', arn: lb.LoadBalancerArn ?? '' });
    marker = out.NextMarker;
  } while (marker);
  const lbTags = await tagged(lbs.map((l) => l.arn));
  for (const lb of lbs) {
    if (lbTags.has(lb.arn) || byName(lb.name)) {
      leftovers.push({ kind: 'load-balancer', id: lb.arn, reason: lbTags.has(lb.arn) ? 'tag' : 'name' });
    }
  }

  const tgs: { name: string; arn: string }[] = [];
  marker = undefined;
  do {
    const out: DescribeTargetGroupsCommandOutput = await clients.elbv2.send(
      new DescribeTargetGroupsCommand({ Marker: marker }),
    );
    for (const tg of out.TargetGroups ?? [])
      tgs.push({ name: tg.TargetGroupName ?? '?', arn: tg.TargetGroupArn ?? '' });
    marker = out.NextMarker;
  } while (marker);
  const tgTags = await tagged(tgs.map((t) => t.arn));
  for (const tg of tgs) {
    if (tgTags.has(tg.arn) || byName(tg.name)) {
      leftovers.push({ kind: 'target-group', id: tg.arn, reason: tgTags.has(tg.arn) ? 'tag' : 'name' });
    }
  }

  token = undefined;
  do {
    const out: DescribeAutoScalingGroupsCommandOutput = await clients.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ NextToken: token }),
    );
    for (const g of out.AutoScalingGroups ?? []) {
      const name = g.AutoScalingGroupName ?? '?';
      const tag = runTag && g.Tags?.some((t) => t.Key === runTag.key && t.Value === runTag.value);
      const copy =
        name.startsWith('CodeDeploy_') &&
        ([...groups].some((dg) => name.startsWith(`CodeDeploy_${dg}_`)) ||
          byName(name.slice('CodeDeploy_'.length)));
      if (tag || copy || byName(name)) {
        leftovers.push({
          kind: 'auto-scaling-group',
          id: name,
          reason: tag ? 'tag' : copy ? 'codedeploy-copy' : 'name',
        });
      }
    }
    token = out.NextToken;
  } while (token);

  if (clients.codecommit && prefix) {
    token = undefined;
    do {
      const out: ListRepositoriesCommandOutput = await clients.codecommit.send(
        new ListRepositoriesCommand({ nextToken: token }),
      );
      for (const r of out.repositories ?? []) {
        if (byName(r.repositoryName))
          leftovers.push({ kind: 'repository', id: r.repositoryName!, reason: 'name' });
      }
      token = out.nextToken;
    } while (token);
  }

  return { clean: leftovers.length === 0, leftovers };
}

/**
 * Assert form of `checkLeaks`.
 * @throws LeakError listing what is left.
 */
export async function expectNoLeaks(
  clients: HarnessClients,
  runTag: RunTag | undefined,
  options: LeakCheckOptions = {},
): Promise<LeakReport> {
  return assertNoLeaks(await checkLeaks(clients, runTag, options));
}

/**
 * The assert form's verdict on a leak report: the report when clean.
 * @throws LeakError listing what is left.
 */
export function assertNoLeaks(report: LeakReport): LeakReport {
  if (report.clean) return report;
  throw new LeakError(
    `${report.leftovers.length} resource(s) of the run are left: ` +
      report.leftovers.map((l) => `${l.kind} ${l.id} (by ${l.reason})`).join(', ') +
      '; run `codepipeline-harness sweep` to remove them',
    report.leftovers,
    { lastState: report },
  );
}
