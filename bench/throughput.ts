/**
 * Section 2: throughput and latency under concurrent load. The sandbox (as its own process, like moto) and
 * moto's server get the same resources created through the API, then `CONCURRENCY` closed-loop clients call
 * one read operation for a fixed window: GetPipelineState (and GetPipeline, which moto implements),
 * GetDeployment and DescribeTargetHealth. Requests are raw HTTP over keep-alive sockets (undici), SigV4-signed
 * (the sandbox verifies signatures; moto routes on the credential scope): SDK serialization would only add
 * client cost to both sides.
 */
import { closedLoop, type LoadResult } from './lib/load.ts';
import { motoAvailable, motoVersion, startMoto } from './lib/moto.ts';
import { startSandboxProcess } from './lib/sandbox-process.ts';
import type { Section, SectionContext } from './lib/section.ts';
import { throwIfOver } from './lib/section.ts';
import { fmt, fmtRatio, ratio } from './lib/stats.ts';
import { Wire, WireError } from './lib/wire.ts';

const CONCURRENCY = 16;

type Server = 'sandbox' | 'moto';
type Op = 'GetPipelineState' | 'GetPipeline' | 'GetDeployment' | 'DescribeTargetHealth';
const OPS: readonly Op[] = ['GetPipelineState', 'GetPipeline', 'GetDeployment', 'DescribeTargetHealth'];

interface Fixture {
  pipelineName: string;
  deploymentId: string;
  targetGroupArn: string;
}

const xmlValue = (xml: string, tag: string): string | undefined =>
  new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1];

/** Creates the same resources on either server through the API: a 2-stage pipeline, a deployment, 4 targets. */
async function createFixture(wire: Wire, server: Server): Promise<Fixture> {
  let roleArn = 'arn:aws:iam::000000000000:role/bench-codepipeline';
  if (server === 'moto') {
    // moto checks that the pipeline's role exists and trusts codepipeline.amazonaws.com.
    const xml = await wire.queryOk('iam', {
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: 'bench-codepipeline',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'codepipeline.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    });
    roleArn = xmlValue(xml, 'Arn') ?? roleArn;
  }
  const pipelineName = 'bench-pipeline';
  await wire.jsonOk('codepipeline', 'CodePipeline_20150709.CreatePipeline', {
    pipeline: {
      name: pipelineName,
      roleArn,
      artifactStore: { type: 'S3', location: 'bench-artifacts' },
      stages: [
        {
          name: 'Source',
          actions: [
            {
              name: 'Source',
              actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeCommit', version: '1' },
              configuration: {
                RepositoryName: 'bench-repo',
                BranchName: 'main',
                PollForSourceChanges: 'false',
              },
              outputArtifacts: [{ name: 'SourceArtifact' }],
            },
          ],
        },
        {
          name: 'Approval',
          actions: [
            {
              name: 'ManualApproval',
              actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
            },
          ],
        },
      ],
    },
  });

  await wire.jsonOk('codedeploy', 'CodeDeploy_20141006.CreateApplication', {
    applicationName: 'bench-app',
    computePlatform: 'Server',
  });
  await wire.jsonOk('codedeploy', 'CodeDeploy_20141006.CreateDeploymentGroup', {
    applicationName: 'bench-app',
    deploymentGroupName: 'bench-dg',
    serviceRoleArn: 'arn:aws:iam::000000000000:role/bench-codedeploy',
  });
  // A String revision (an AppSpec alone) is the cheapest deployable revision both servers accept.
  const deployment = await wire.jsonOk<{ deploymentId: string }>(
    'codedeploy',
    'CodeDeploy_20141006.CreateDeployment',
    {
      applicationName: 'bench-app',
      deploymentGroupName: 'bench-dg',
      revision: { revisionType: 'String', string: { content: 'version: 0.0\nos: linux\n' } },
    },
  );

  let vpcId = 'vpc-0bench0000000000';
  if (server === 'moto') {
    // moto checks the VPC exists; its default VPC does.
    const vpcs = await wire.queryOk('ec2', { Action: 'DescribeVpcs', Version: '2016-11-15' });
    vpcId = xmlValue(vpcs, 'vpcId') ?? vpcId;
  }
  const tg = await wire.queryOk('elasticloadbalancing', {
    Action: 'CreateTargetGroup',
    Version: '2015-12-01',
    Name: 'bench-tg',
    Protocol: 'HTTP',
    Port: '80',
    VpcId: vpcId,
    TargetType: 'ip',
  });
  const targetGroupArn = xmlValue(tg, 'TargetGroupArn');
  if (!targetGroupArn)
    throw new Error(`${server}: CreateTargetGroup answered no TargetGroupArn: ${tg.slice(0, 300)}`);
  const targets: Record<string, string> = {};
  // Ports 1-4 on loopback refuse at once, so the sandbox's health checks stay cheap (targets go unhealthy).
  for (let i = 1; i <= 4; i++) {
    targets[`Targets.member.${i}.Id`] = '127.0.0.1';
    targets[`Targets.member.${i}.Port`] = String(i);
  }
  await wire.queryOk('elasticloadbalancing', {
    Action: 'RegisterTargets',
    Version: '2015-12-01',
    TargetGroupArn: targetGroupArn,
    ...targets,
  });
  return { pipelineName, deploymentId: deployment.deploymentId, targetGroupArn };
}

function call(wire: Wire, op: Op, f: Fixture) {
  switch (op) {
    case 'GetPipelineState':
      return () =>
        wire.json('codepipeline', 'CodePipeline_20150709.GetPipelineState', { name: f.pipelineName });
    case 'GetPipeline':
      return () => wire.json('codepipeline', 'CodePipeline_20150709.GetPipeline', { name: f.pipelineName });
    case 'GetDeployment':
      return () =>
        wire.json('codedeploy', 'CodeDeploy_20141006.GetDeployment', { deploymentId: f.deploymentId });
    case 'DescribeTargetHealth':
      return () =>
        wire.query('elasticloadbalancing', {
          Action: 'DescribeTargetHealth',
          Version: '2015-12-01',
          TargetGroupArn: f.targetGroupArn,
        });
  }
}

type Results = Partial<Record<Op, LoadResult | { unsupported: string }>>;

async function measure(context: SectionContext, server: Server, durationMs: number): Promise<Results> {
  const proc = server === 'sandbox' ? await startSandboxProcess() : await startMoto();
  const wire = new Wire(proc.endpoint, CONCURRENCY);
  const results: Results = {};
  try {
    const fixture = await createFixture(wire, server);
    for (const op of OPS) {
      throwIfOver(context.signal, `${server} ${op}`);
      const fn = call(wire, op, fixture);
      const probe = await fn();
      if (probe.status !== 200) {
        // Not implemented (moto answers GetPipelineState with an error): record what it said instead.
        const text = probe.body
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim();
        results[op] = { unsupported: `HTTP ${probe.status}: ${text.slice(0, 120)}` };
        context.log(`${server} ${op}: not answered (${results[op].unsupported})`);
        continue;
      }
      const r = await closedLoop(fn, { concurrency: CONCURRENCY, durationMs, signal: context.signal });
      results[op] = r;
      context.log(
        `${server} ${op}: ${fmt(r.requestsPerSecond)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, ${r.errors} errors`,
      );
    }
  } catch (error) {
    if (error instanceof WireError) throw new Error(`${server} set-up: ${error.message}`, { cause: error });
    throw error;
  } finally {
    await wire.close();
    await proc.stop();
  }
  return results;
}

const isLoad = (r: LoadResult | { unsupported: string } | undefined): r is LoadResult =>
  r !== undefined && 'requestsPerSecond' in r;

export const throughput: Section = {
  name: 'throughput',
  title: `2. Sandbox throughput/latency, ${CONCURRENCY} concurrent clients, raw HTTP (undici) vs moto_server`,
  budgetMs: 100_000,
  async run(context) {
    const durationMs = context.quick ? 2000 : 5000;
    const notes: string[] = [];
    const sandbox = await measure(context, 'sandbox', durationMs);
    let moto: Results = {};
    if (motoAvailable()) moto = await measure(context, 'moto', durationMs);
    else notes.push('moto_server is not on the PATH: no reference figures.');
    const rows: string[][] = [];
    for (const op of OPS) {
      for (const [server, results] of [
        ['sandbox', sandbox],
        ['moto', moto],
      ] as const) {
        const r = results[op];
        if (!isLoad(r)) {
          rows.push([op, server, 'n/a', '-', '-', '-', '-', '-', '-']);
          if (r)
            notes.push(
              `${server === 'moto' ? `moto ${motoVersion()}` : server} does not answer ${op} (not implemented): ${r.unsupported}`,
            );
          continue;
        }
        const ref = moto[op];
        const refRps = isLoad(ref) ? ref.requestsPerSecond : undefined;
        rows.push([
          op,
          server,
          fmt(r.requestsPerSecond, 0),
          fmt(r.p50Ms, 2),
          fmt(r.p95Ms, 2),
          fmt(r.p99Ms, 2),
          String(r.errors),
          server === 'sandbox' ? fmtRatio(ratio(r.requestsPerSecond, refRps)) : '1x',
          server === 'sandbox' ? fmtRatio(ratio(r.p50Ms, isLoad(ref) ? ref.p50Ms : undefined)) : '1x',
        ]);
        if (r.errors > 0) notes.push(`${server} ${op}: ${r.errors} error answers, first: ${r.firstError}`);
      }
    }
    notes.push(
      `Each row: ${durationMs / 1000} s measured after 0.5 s warm-up; both servers run as their own process on the same ` +
        'machine as the load generator, one server at a time. "req/s vs moto" = sandbox / moto (above 1x: sandbox ' +
        'serves more); "p50 vs moto" = sandbox p50 / moto p50 (below 1x: sandbox answers faster).',
      'Fixture on both: a 2-stage pipeline (Source+Approval; on the sandbox its first execution ran and failed at Source, ' +
        'no repository being there), one ' +
        'CodeDeploy deployment of a String revision, a target group with 4 IP targets.',
    );
    return {
      tables: [
        {
          title: this.title,
          header: [
            'operation',
            'server',
            'req/s',
            'p50 ms',
            'p95 ms',
            'p99 ms',
            'errors',
            'req/s vs moto',
            'p50 vs moto',
          ],
          rows,
        },
      ],
      data: { concurrency: CONCURRENCY, durationMs, motoVersion: motoVersion(), sandbox, moto },
      notes,
    };
  },
};
