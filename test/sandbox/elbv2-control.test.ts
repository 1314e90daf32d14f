/**
 * ELBv2 control plane through the real SDK v3 client and the real AWS CLI against `startSandbox()`:
 * every operation's success path and its AWS error (SDK exception `name`, wire code in the CLI).
 */
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { awsCli } from './helpers/aws-cli.ts';
import { useSandbox } from './helpers/sandbox.ts';

const VPC = 'vpc-0123456789abcdef0';

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('ELBv2 control plane (SDK v3 + AWS CLI against the sandbox)', () => {
  const sb = useSandbox({ timeScale: 0.01 }, { maxAttempts: 1 });
  const elb = () => sb.clients.elbv2;

  async function lb(name: string, scheme?: 'internal' | 'internet-facing') {
    const out = await elb().send(
      new CreateLoadBalancerCommand({
        Name: name,
        Subnets: ['subnet-a', 'subnet-b'],
        SecurityGroups: ['sg-1'],
        Scheme: scheme,
      }),
    );
    return out.LoadBalancers![0]!;
  }
  async function tg(name: string, extra: Record<string, unknown> = {}) {
    const out = await elb().send(
      new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: VPC, ...extra }),
    );
    return out.TargetGroups![0]!;
  }
  async function listener(lbArn: string, tgArn: string, port = 80) {
    const out = await elb().send(
      new CreateListenerCommand({
        LoadBalancerArn: lbArn,
        Protocol: 'HTTP',
        Port: port,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
      }),
    );
    return out.Listeners![0]!;
  }

  it('creates an application load balancer with AWS-shaped ARN, DNS name and zones, idempotently', async () => {
    const created = await lb('web-alb');
    expect(created.LoadBalancerArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer\/app\/web-alb\/[0-9a-f]{16}$/,
    );
    expect(created.DNSName).toMatch(/^web-alb-\d{9,10}\.us-east-1\.elb\.localhost$/);
    expect(created.CanonicalHostedZoneId).toBe('Z35SXDOTRQ7X7K');
    expect(created.Type).toBe('application');
    expect(created.Scheme).toBe('internet-facing');
    expect(created.AvailabilityZones?.map((z) => z.SubnetId)).toEqual(['subnet-a', 'subnet-b']);
    expect(created.SecurityGroups).toEqual(['sg-1']);
    expect(created.CreatedTime).toBeInstanceOf(Date);
    const again = await lb('web-alb');
    expect(again.LoadBalancerArn).toBe(created.LoadBalancerArn);
    const described = await elb().send(new DescribeLoadBalancersCommand({ Names: ['web-alb'] }));
    expect(described.LoadBalancers?.[0]?.State?.Code).toBe('active');
    const internal = await lb('web-internal', 'internal');
    expect(internal.DNSName).toMatch(/^internal-web-internal-\d+\.us-east-1\.elb\.localhost$/);
  });

  it('refuses a second load balancer with the same name and different settings', async () => {
    await lb('dup-alb');
    const error = await rejection(
      elb().send(
        new CreateLoadBalancerCommand({ Name: 'dup-alb', Subnets: ['subnet-z'], Scheme: 'internal' }),
      ),
    );
    expect(error.name).toBe('DuplicateLoadBalancerNameException');
    expect(error.message).toBe('A load balancer with the specified name already exists.');
  });

  it('rejects bad load balancer names with a ValidationError naming the rule', async () => {
    for (const name of ['-bad', 'internal-web', 'a'.repeat(33), 'under_score']) {
      const error = await rejection(
        elb().send(new CreateLoadBalancerCommand({ Name: name, Subnets: ['s-1'] })),
      );
      expect(error.name).toBe('ValidationError');
      expect(error.message).toContain(name);
    }
  });

  it('describes load balancers by name and ARN, pages with Marker, and reports unknown ones', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) await lb(n);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await elb().send(new DescribeLoadBalancersCommand({ PageSize: 2, Marker: marker }));
      expect(page.LoadBalancers!.length).toBeLessThanOrEqual(2);
      seen.push(...page.LoadBalancers!.map((l) => l.LoadBalancerName!));
      marker = page.NextMarker;
    } while (marker);
    expect(seen).toEqual(expect.arrayContaining(['page-1', 'page-2', 'page-3']));
    expect(new Set(seen).size).toBe(seen.length);
    const byName = await elb().send(new DescribeLoadBalancersCommand({ Names: ['page-2'] }));
    const byArn = await elb().send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [byName.LoadBalancers![0]!.LoadBalancerArn!] }),
    );
    expect(byArn.LoadBalancers?.[0]?.LoadBalancerName).toBe('page-2');
    const missing = await rejection(elb().send(new DescribeLoadBalancersCommand({ Names: ['nope'] })));
    expect(missing.name).toBe('LoadBalancerNotFoundException');
    expect(missing.message).toBe("Load balancers '[nope]' not found");
  });

  it('creates target groups with the ALB health-check defaults and default attributes', async () => {
    const created = await tg('tg-defaults');
    expect(created.TargetGroupArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup\/tg-defaults\/[0-9a-f]{16}$/,
    );
    expect(created).toMatchObject({
      Protocol: 'HTTP',
      Port: 80,
      VpcId: VPC,
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: 'traffic-port',
      HealthCheckEnabled: true,
      HealthCheckPath: '/',
      HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 5,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      LoadBalancerArns: [],
      TargetType: 'instance',
      ProtocolVersion: 'HTTP1',
    });
    expect((await tg('tg-defaults')).TargetGroupArn).toBe(created.TargetGroupArn);
    const dup = await rejection(tg('tg-defaults', { HealthCheckPath: '/health' }));
    expect(dup.name).toBe('DuplicateTargetGroupNameException');
    const attrs = await elb().send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: created.TargetGroupArn }),
    );
    const map = Object.fromEntries(attrs.Attributes!.map((a) => [a.Key, a.Value]));
    expect(map).toMatchObject({
      'deregistration_delay.timeout_seconds': '300',
      'stickiness.enabled': 'false',
      'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '86400',
      'load_balancing.algorithm.type': 'round_robin',
    });
  });

  it('validates target group settings: matcher, timeout vs interval, protocol, name', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ Matcher: { HttpCode: '200-600' } }, '200-499'],
      [{ Matcher: { HttpCode: 'abc' } }, 'abc'],
      [{ HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 10 }, 'smaller than the interval'],
      [{ Protocol: 'TCP' }, 'TCP'],
      [{ VpcId: undefined }, 'VPC'],
    ];
    for (const [extra, text] of cases) {
      const error = await rejection(tg('tg-invalid', extra));
      expect(error.name).toBe('ValidationError');
      expect(error.message).toContain(text);
    }
  });

  it('refuses HTTPS target groups with a clear InvalidConfigurationRequest (local targets speak HTTP)', async () => {
    const error = await rejection(tg('tg-https', { Protocol: 'HTTPS', Port: 443 }));
    expect(error.name).toBe('InvalidConfigurationRequestException');
    expect(error.message).toContain('use HTTP');
  });

  it('describes and modifies target groups and their attributes', async () => {
    const t = await tg('tg-modify');
    const modified = await elb().send(
      new ModifyTargetGroupCommand({
        TargetGroupArn: t.TargetGroupArn,
        HealthCheckPath: '/health',
        Matcher: { HttpCode: '200-299,302' },
        HealthyThresholdCount: 2,
      }),
    );
    expect(modified.TargetGroups?.[0]).toMatchObject({
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200-299,302' },
      HealthyThresholdCount: 2,
      HealthCheckIntervalSeconds: 30,
    });
    const byName = await elb().send(new DescribeTargetGroupsCommand({ Names: ['tg-modify'] }));
    expect(byName.TargetGroups?.[0]?.HealthCheckPath).toBe('/health');
    const byArn = await elb().send(new DescribeTargetGroupsCommand({ TargetGroupArns: [t.TargetGroupArn!] }));
    expect(byArn.TargetGroups?.[0]?.TargetGroupName).toBe('tg-modify');
    const attrs = await elb().send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: t.TargetGroupArn,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
      }),
    );
    expect(attrs.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '30' });
    const bad = await rejection(
      elb().send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: t.TargetGroupArn,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '9999' }],
        }),
      ),
    );
    expect(bad.name).toBe('ValidationError');
    expect(bad.message).toContain('between 0 and 3600');
    const unknownKey = await rejection(
      elb().send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: t.TargetGroupArn,
          Attributes: [{ Key: 'x.y', Value: '1' }],
        }),
      ),
    );
    expect(unknownKey.message).toContain("'x.y' is not recognized");
    const missing = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/gone/0123456789abcdef';
    for (const send of [
      () => elb().send(new DescribeTargetGroupsCommand({ Names: ['gone'] })),
      () => elb().send(new DescribeTargetGroupsCommand({ TargetGroupArns: [missing] })),
      () => elb().send(new ModifyTargetGroupCommand({ TargetGroupArn: missing, HealthCheckPath: '/' })),
      () => elb().send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: missing })),
      () => elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: missing })),
      () => elb().send(new RegisterTargetsCommand({ TargetGroupArn: missing, Targets: [{ Id: 'i-1' }] })),
    ]) {
      expect((await rejection(send())).name).toBe('TargetGroupNotFoundException');
    }
  });

  it('creates, describes, modifies and deletes listeners with forward actions', async () => {
    const alb = await lb('listen-alb');
    const blue = await tg('listen-blue');
    const green = await tg('listen-green');
    const l = await listener(alb.LoadBalancerArn!, blue.TargetGroupArn!);
    expect(l.ListenerArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:000000000000:listener\/app\/listen-alb\/[0-9a-f]{16}\/[0-9a-f]{16}$/,
    );
    expect(l.DefaultActions?.[0]).toMatchObject({
      Type: 'forward',
      TargetGroupArn: blue.TargetGroupArn,
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue.TargetGroupArn, Weight: 1 }] },
    });
    const usedBy = await elb().send(
      new DescribeTargetGroupsCommand({ LoadBalancerArn: alb.LoadBalancerArn }),
    );
    expect(usedBy.TargetGroups?.map((t) => t.TargetGroupName)).toEqual(['listen-blue']);
    expect(usedBy.TargetGroups?.[0]?.LoadBalancerArns).toEqual([alb.LoadBalancerArn]);
    expect((await listener(alb.LoadBalancerArn!, blue.TargetGroupArn!)).ListenerArn).toBe(l.ListenerArn);
    const dup = await rejection(listener(alb.LoadBalancerArn!, green.TargetGroupArn!));
    expect(dup.name).toBe('DuplicateListenerException');
    const described = await elb().send(
      new DescribeListenersCommand({ LoadBalancerArn: alb.LoadBalancerArn }),
    );
    expect(described.Listeners?.map((x) => x.Port)).toEqual([80]);
    const weighted = await elb().send(
      new ModifyListenerCommand({
        ListenerArn: l.ListenerArn,
        DefaultActions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: blue.TargetGroupArn, Weight: 1 },
                { TargetGroupArn: green.TargetGroupArn, Weight: 3 },
              ],
            },
          },
        ],
      }),
    );
    expect(weighted.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups).toHaveLength(2);
    const inUse = await rejection(
      elb().send(new DeleteTargetGroupCommand({ TargetGroupArn: green.TargetGroupArn })),
    );
    expect(inUse.name).toBe('ResourceInUseException');
    expect(inUse.message).toBe(
      `Target group '${green.TargetGroupArn}' is currently in use by a listener or a rule`,
    );
    await elb().send(
      new ModifyListenerCommand({
        ListenerArn: l.ListenerArn,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: blue.TargetGroupArn }],
      }),
    );
    await elb().send(new DeleteTargetGroupCommand({ TargetGroupArn: green.TargetGroupArn }));
    await elb().send(new DeleteListenerCommand({ ListenerArn: l.ListenerArn }));
    const gone = await rejection(elb().send(new DeleteListenerCommand({ ListenerArn: l.ListenerArn })));
    expect(gone.name).toBe('ListenerNotFoundException');
    const notFound = await rejection(
      elb().send(new DescribeListenersCommand({ ListenerArns: [l.ListenerArn!] })),
    );
    expect(notFound.name).toBe('ListenerNotFoundException');
  });

  it('answers listener errors as AWS does', async () => {
    const alb = await lb('err-alb');
    const other = await lb('err-other');
    const t = await tg('err-tg');
    await listener(alb.LoadBalancerArn!, t.TargetGroupArn!);
    const shared = await rejection(listener(other.LoadBalancerArn!, t.TargetGroupArn!));
    expect(shared.name).toBe('TargetGroupAssociationLimitException');
    const https = await rejection(
      elb().send(
        new CreateListenerCommand({
          LoadBalancerArn: alb.LoadBalancerArn,
          Protocol: 'HTTPS',
          Port: 443,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: t.TargetGroupArn }],
        }),
      ),
    );
    expect(https.name).toBe('ValidationError');
    expect(https.message).toContain('certificate');
    const badCert = await rejection(
      elb().send(
        new CreateListenerCommand({
          LoadBalancerArn: alb.LoadBalancerArn,
          Protocol: 'HTTPS',
          Port: 443,
          Certificates: [{ CertificateArn: 'my-cert' }],
          DefaultActions: [{ Type: 'forward', TargetGroupArn: t.TargetGroupArn }],
        }),
      ),
    );
    expect(badCert.name).toBe('CertificateNotFoundException');
    const cert = 'arn:aws:acm:us-east-1:000000000000:certificate/0f1e2d3c-0000-4000-8000-000000000000';
    const httpsListener = await elb().send(
      new CreateListenerCommand({
        LoadBalancerArn: alb.LoadBalancerArn,
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: cert }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: t.TargetGroupArn }],
      }),
    );
    expect(httpsListener.Listeners?.[0]).toMatchObject({
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: cert }],
      SslPolicy: 'ELBSecurityPolicy-2016-08',
    });
    const toHttp = await elb().send(
      new ModifyListenerCommand({
        ListenerArn: httpsListener.Listeners![0]!.ListenerArn,
        Protocol: 'HTTP',
        Port: 8080,
      }),
    );
    expect(toHttp.Listeners?.[0]?.Certificates).toBeUndefined();
    expect(toHttp.Listeners?.[0]?.SslPolicy).toBeUndefined();
    const badPolicy = await rejection(
      elb().send(
        new ModifyListenerCommand({
          ListenerArn: httpsListener.Listeners![0]!.ListenerArn,
          Protocol: 'HTTPS',
          Certificates: [{ CertificateArn: cert }],
          SslPolicy: 'Modern',
        }),
      ),
    );
    expect(badPolicy.name).toBe('SSLPolicyNotFoundException');
    const tcp = await rejection(
      elb().send(
        new CreateListenerCommand({
          LoadBalancerArn: alb.LoadBalancerArn,
          Protocol: 'TCP',
          Port: 81,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: t.TargetGroupArn }],
        }),
      ),
    );
    expect(tcp.name).toBe('UnsupportedProtocolException');
    const noTg = await rejection(
      listener(
        alb.LoadBalancerArn!,
        'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/0123456789abcdef',
        82,
      ),
    );
    expect(noTg.name).toBe('TargetGroupNotFoundException');
    const noLb = await rejection(
      listener(
        'arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/0123456789abcdef',
        t.TargetGroupArn!,
      ),
    );
    expect(noLb.name).toBe('LoadBalancerNotFoundException');
    const neither = await rejection(elb().send(new DescribeListenersCommand({})));
    expect(neither.name).toBe('ValidationError');
  });

  it('describes and modifies load balancer attributes; deletion protection blocks DeleteLoadBalancer', async () => {
    const alb = await lb('attr-alb');
    const attrs = await elb().send(
      new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: alb.LoadBalancerArn }),
    );
    const map = Object.fromEntries(attrs.Attributes!.map((a) => [a.Key, a.Value]));
    expect(map).toMatchObject({
      'deletion_protection.enabled': 'false',
      'idle_timeout.timeout_seconds': '60',
    });
    await elb().send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: alb.LoadBalancerArn,
        Attributes: [{ Key: 'deletion_protection.enabled', Value: 'true' }],
      }),
    );
    const refused = await rejection(
      elb().send(new DeleteLoadBalancerCommand({ LoadBalancerArn: alb.LoadBalancerArn })),
    );
    expect(refused.name).toBe('OperationNotPermittedException');
    const bad = await rejection(
      elb().send(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerArn: alb.LoadBalancerArn,
          Attributes: [{ Key: 'idle_timeout.timeout_seconds', Value: '0' }],
        }),
      ),
    );
    expect(bad.name).toBe('ValidationError');
    expect(bad.message).toContain('between 1 and 4000');
    await elb().send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: alb.LoadBalancerArn,
        Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }],
      }),
    );
    await elb().send(new DeleteLoadBalancerCommand({ LoadBalancerArn: alb.LoadBalancerArn }));
  });

  it('deletes a load balancer with its listeners, freeing its target groups; unknown ones succeed', async () => {
    const alb = await lb('del-alb');
    const t = await tg('del-tg');
    await listener(alb.LoadBalancerArn!, t.TargetGroupArn!);
    await elb().send(new DeleteLoadBalancerCommand({ LoadBalancerArn: alb.LoadBalancerArn }));
    await elb().send(new DeleteLoadBalancerCommand({ LoadBalancerArn: alb.LoadBalancerArn }));
    const after = await elb().send(new DescribeTargetGroupsCommand({ Names: ['del-tg'] }));
    expect(after.TargetGroups?.[0]?.LoadBalancerArns).toEqual([]);
    const missing = await rejection(
      elb().send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [alb.LoadBalancerArn!] })),
    );
    expect(missing.name).toBe('LoadBalancerNotFoundException');
    await elb().send(new DeleteTargetGroupCommand({ TargetGroupArn: t.TargetGroupArn }));
  });

  it('registers instances of the fleet, reports unused/NotInUse without a listener, and refuses unknown ids', async () => {
    const t = await tg('reg-tg');
    const instance = await sb.sandbox.services.fleet.launch();
    await elb().send(
      new RegisterTargetsCommand({
        TargetGroupArn: t.TargetGroupArn,
        Targets: [{ Id: instance.instanceId }],
      }),
    );
    const health = await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: t.TargetGroupArn }));
    expect(health.TargetHealthDescriptions).toEqual([
      {
        Target: { Id: instance.instanceId, Port: 80 },
        HealthCheckPort: '80',
        TargetHealth: {
          State: 'unused',
          Reason: 'Target.NotInUse',
          Description: 'Target group is not configured to receive traffic from the load balancer',
        },
      },
    ]);
    const asked = await elb().send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: t.TargetGroupArn,
        Targets: [{ Id: instance.instanceId, Port: 81 }],
      }),
    );
    expect(asked.TargetHealthDescriptions?.[0]?.TargetHealth).toMatchObject({
      State: 'unused',
      Reason: 'Target.NotRegistered',
    });
    const invalid = await rejection(
      elb().send(
        new RegisterTargetsCommand({
          TargetGroupArn: t.TargetGroupArn,
          Targets: [{ Id: 'i-00000000000000000' }],
        }),
      ),
    );
    expect(invalid.name).toBe('InvalidTargetException');
    expect(invalid.message).toContain('i-00000000000000000');
    // Not in use: nothing to drain, the target is gone at once; deregistering it again succeeds.
    await elb().send(
      new DeregisterTargetsCommand({
        TargetGroupArn: t.TargetGroupArn,
        Targets: [{ Id: instance.instanceId }],
      }),
    );
    await elb().send(
      new DeregisterTargetsCommand({
        TargetGroupArn: t.TargetGroupArn,
        Targets: [{ Id: instance.instanceId }],
      }),
    );
    const empty = await elb().send(new DescribeTargetHealthCommand({ TargetGroupArn: t.TargetGroupArn }));
    expect(empty.TargetHealthDescriptions).toEqual([]);
    await sb.sandbox.services.fleet.terminate(instance.instanceId);
  });

  it('adds, describes and removes tags on load balancers, target groups and listeners', async () => {
    const alb = await lb('tag-alb');
    const t = await tg('tag-tg', { Tags: [{ Key: 'team', Value: 'web' }] });
    const l = await listener(alb.LoadBalancerArn!, t.TargetGroupArn!);
    const arns = [alb.LoadBalancerArn!, t.TargetGroupArn!, l.ListenerArn!];
    await elb().send(new AddTagsCommand({ ResourceArns: arns, Tags: [{ Key: 'env', Value: 'test' }] }));
    const described = await elb().send(new DescribeTagsCommand({ ResourceArns: arns }));
    expect(described.TagDescriptions?.map((d) => d.Tags?.map((x) => `${x.Key}=${x.Value}`))).toEqual([
      ['env=test'],
      ['team=web', 'env=test'],
      ['env=test'],
    ]);
    await elb().send(new RemoveTagsCommand({ ResourceArns: [t.TargetGroupArn!], TagKeys: ['team'] }));
    const after = await elb().send(new DescribeTagsCommand({ ResourceArns: [t.TargetGroupArn!] }));
    expect(after.TagDescriptions?.[0]?.Tags).toEqual([{ Key: 'env', Value: 'test' }]);
    const dupKeys = await rejection(
      elb().send(
        new AddTagsCommand({
          ResourceArns: [t.TargetGroupArn!],
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'a', Value: '2' },
          ],
        }),
      ),
    );
    expect(dupKeys.name).toBe('DuplicateTagKeysException');
    const unknownLb = await rejection(
      elb().send(
        new DescribeTagsCommand({
          ResourceArns: [
            'arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/0123456789abcdef',
          ],
        }),
      ),
    );
    expect(unknownLb.name).toBe('LoadBalancerNotFoundException');
  });

  it('answers the AWS CLI (describe-target-health, describe-load-balancers, wire error codes)', async () => {
    const alb = await lb('cli-alb');
    const t = await tg('cli-tg');
    const instance = await sb.sandbox.services.fleet.launch();
    await elb().send(
      new RegisterTargetsCommand({
        TargetGroupArn: t.TargetGroupArn,
        Targets: [{ Id: instance.instanceId }],
      }),
    );
    const health = await awsCli(sb.sandbox.endpoint, [
      'elbv2',
      'describe-target-health',
      '--target-group-arn',
      t.TargetGroupArn!,
    ]);
    expect(health.code).toBe(0);
    expect(health.json.TargetHealthDescriptions[0].Target).toEqual({ Id: instance.instanceId, Port: 80 });
    expect(health.json.TargetHealthDescriptions[0].TargetHealth.State).toBe('unused');
    const lbs = await awsCli(sb.sandbox.endpoint, ['elbv2', 'describe-load-balancers', '--names', 'cli-alb']);
    expect(lbs.json.LoadBalancers[0].DNSName).toBe(alb.DNSName);
    const available = await awsCli(sb.sandbox.endpoint, [
      'elbv2',
      'wait',
      'load-balancer-available',
      '--names',
      'cli-alb',
    ]);
    expect(available).toMatchObject({ code: 0, stderr: '' });
    const missing = await awsCli(sb.sandbox.endpoint, ['elbv2', 'describe-target-groups', '--names', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.errorCode).toBe('TargetGroupNotFound');
    const inUse = await awsCli(sb.sandbox.endpoint, [
      'elbv2',
      'create-listener',
      '--load-balancer-arn',
      alb.LoadBalancerArn!,
      '--protocol',
      'HTTP',
      '--port',
      '80',
      '--default-actions',
      `Type=forward,TargetGroupArn=${t.TargetGroupArn}`,
    ]);
    expect(inUse.code).toBe(0);
    const del = await awsCli(sb.sandbox.endpoint, [
      'elbv2',
      'delete-target-group',
      '--target-group-arn',
      t.TargetGroupArn!,
    ]);
    expect(del.errorCode).toBe('ResourceInUse');
    await sb.sandbox.services.fleet.terminate(instance.instanceId);
  });
});
