/**
 * Regions: one sandbox serves every AWS region at once, on one edge port, as AWS keeps each region its own
 * world (aws-semantics-events-auth-regions §6). A region's services (its own stores, fleet and data
 * directory, a runtime whose `region` is that region) are built the first time a call lands there; the
 * account id, the clock, the event log, the process tracker and the faults are shared.
 *
 * Where a request lands:
 * - an API call: the region of its SigV4 credential scope (`Credential=<key>/<date>/<region>/<service>/…`);
 *   an unsigned call lands in the default region;
 * - git and build-log URLs: a leading `/<region>/` path segment (`http://127.0.0.1:<port>/eu-west-1/v1/repos/web`),
 *   without one the default region (so the default region's URLs are unchanged);
 * - load-balancer traffic: the region in the Host (`<name>-<n>.<region>.elb.localhost`).
 *
 * @example
 * const regions = new Regions({ defaultRegion: 'us-east-1', runtime: (region) => runtimeFor(region), build: buildRegion });
 * regions.get('eu-west-1').services.codepipeline; // built on first use
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AutoScalingService } from './autoscaling/index.ts';
import { CloudFormationService } from './cloudformation/index.ts';
import { CodeBuildService } from './codebuild/index.ts';
import { CodeCommitService } from './codecommit/index.ts';
import { CodeDeployService } from './codedeploy/index.ts';
import { CodePipelineService } from './codepipeline/index.ts';
import { Elbv2Service } from './elbv2/index.ts';
import { EventBridgeService, SqsService } from './events/index.ts';
import { Fleet } from './fleet/index.ts';
import { LogsService } from './logs/index.ts';
import { ServiceError } from './protocol/errors.ts';
import { type RegionalS3, S3Service } from './s3/index.ts';
import type { HttpRoute, SandboxRuntime, SandboxService, ServiceName } from './types.ts';

/** The service instances of one region, for in-process use (tests, the harness's sandbox adapter). */
export interface SandboxServices {
  readonly fleet: Fleet;
  readonly autoscaling: AutoScalingService;
  readonly elbv2: Elbv2Service;
  readonly codedeploy: CodeDeployService;
  readonly codecommit: CodeCommitService;
  readonly logs: LogsService;
  readonly codebuild: CodeBuildService;
  readonly codepipeline: CodePipelineService;
  /** The sandbox's one S3 as this region sees it (bucket names are global; buckets created here live here). */
  readonly s3: RegionalS3;
  /** Stacks from templates onto this region's services. */
  readonly cloudformation: CloudFormationService;
  /** EventBridge: rules on the default bus; CodePipeline and CodeDeploy publish their state changes to it. */
  readonly events: EventBridgeService;
  /** SQS: the queues EventBridge rules deliver to. */
  readonly sqs: SqsService;
}

/** What building one region needs besides its runtime. */
export interface RegionBuildOptions {
  /** CodeDeploy's rollback link delay (AWS ms), see `SandboxOptions.rollbackLinkDelayMs`. */
  readonly rollbackLinkDelayMs?: number;
  /** Another region's services (built on first use), for what AWS lets cross regions: cross-region pipeline actions. */
  readonly region?: (name: string) => SandboxServices;
  /** The sandbox's one S3 (global, served on the edge port); without it the region gets an S3 of its own. */
  readonly s3?: S3Service;
}

/** One region's services: `services` by name, `list` in build order (the order they are reset and stopped in reverse). */
export interface RegionServices {
  readonly services: SandboxServices;
  readonly list: readonly SandboxService[];
}

/**
 * Builds the services of one region: the one place the sandbox's services are constructed and wired
 * together (a service that calls another gets that region's instance, so nothing crosses regions).
 * A new regional service registers here.
 *
 * @example
 * const { services, list } = buildRegionServices(runtime, {});
 * services.codecommit.cloneUrlHttp('web'); // http://127.0.0.1:4566/eu-west-1/v1/repos/web for eu-west-1
 */
export function buildRegionServices(runtime: SandboxRuntime, options: RegionBuildOptions): RegionServices {
  const fleet = new Fleet(runtime);
  const autoscaling = new AutoScalingService(runtime, { fleet });
  const elbv2 = new Elbv2Service(runtime, { fleet });
  const codedeploy = new CodeDeployService(
    runtime,
    { fleet, autoscaling, elbv2 },
    options.rollbackLinkDelayMs !== undefined ? { rollbackLinkDelayMs: options.rollbackLinkDelayMs } : {},
  );
  const codecommit = new CodeCommitService(runtime);
  const logs = new LogsService(runtime);
  const codebuild = new CodeBuildService(runtime, { logs });
  const other = options.region;
  const s3 = (options.s3 ?? new S3Service(runtime)).inRegion(runtime.region);
  const codepipeline = new CodePipelineService(runtime, {
    codecommit,
    codedeploy,
    codebuild,
    s3,
    ...(other ? { codedeployIn: (name: string) => other(name).codedeploy } : {}),
  });
  const sqs = new SqsService(runtime);
  const events = new EventBridgeService(runtime, { sqs, codepipeline, codedeploy });
  const cloudformation = new CloudFormationService(runtime, {
    codecommit,
    elbv2,
    autoscaling,
    codedeploy,
    codepipeline,
    logs,
    s3,
    sqs,
    events,
  });
  return {
    services: {
      fleet,
      autoscaling,
      elbv2,
      codedeploy,
      codecommit,
      logs,
      codebuild,
      codepipeline,
      s3,
      cloudformation,
      events,
      sqs,
    },
    // CloudFormation last: stopped first, so no stack operation runs while the services it calls stop.
    list: [
      sqs,
      events,
      autoscaling,
      elbv2,
      codedeploy,
      codecommit,
      logs,
      codebuild,
      codepipeline,
      cloudformation,
    ],
  };
}

/**
 * AWS region names: `us-east-1`, `eu-central-2`, `ap-southeast-5`, `us-gov-west-1`, `il-central-1`.
 * Anything else in a credential scope is refused as AWS refuses it.
 */
export const REGION_NAME = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** Whether `name` has the shape of an AWS region name. */
export function isRegionName(name: string): boolean {
  return REGION_NAME.test(name);
}

/** A region's leading path segment on the edge port: `/eu-west-1/v1/repos/web`. */
const REGION_PATH = /^\/([a-z]{2}(?:-[a-z]+)+-\d{1,2})(\/.*)$/;
/** A load balancer's Host: `<name>-<n>.<region>.elb.localhost`. */
const REGION_HOST = /\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.elb\.localhost$/;

/** One region of a running sandbox. */
export interface Region extends RegionServices {
  readonly name: string;
  readonly runtime: SandboxRuntime;
}

export interface RegionsOptions {
  /** Where calls without a region (unsigned API calls, URLs without a region) land. */
  readonly defaultRegion: string;
  /** The runtime of a region (shared clock, events, processes; its own `region`, `dataDir`, `edgeUrl`). */
  readonly runtime: (region: string) => SandboxRuntime;
  /** Builds a region's services; `region` reaches another region's. @default buildRegionServices */
  readonly build?: (runtime: SandboxRuntime, region: (name: string) => SandboxServices) => RegionServices;
}

/**
 * The error AWS answers for a credential scope naming no region (§4.2): `InvalidSignatureException` (400) from
 * JSON services, `SignatureDoesNotMatch` (403) from Query ones.
 */
export function invalidRegion(region: string, protocol: 'json' | 'query'): ServiceError {
  const [code, status] =
    protocol === 'json' ? ['InvalidSignatureException', 400] : ['SignatureDoesNotMatch', 403];
  return new ServiceError(
    code,
    `Credential should be scoped to a valid region, not '${region.slice(0, 64)}'. ` +
      'The sandbox serves every AWS region name (e.g. us-east-1, eu-west-1); set the client region to one.',
    { status },
  );
}

/**
 * Every region of one sandbox: the default one is built at once, others on first use.
 *
 * @example
 * const regions = new Regions({ defaultRegion: 'us-east-1', runtime: runtimeOf });
 * regions.get('eu-west-1').services.elbv2.store.loadBalancers.size; // 0: regions share nothing
 */
export class Regions {
  readonly #options: RegionsOptions;
  readonly #regions = new Map<string, Region>();
  readonly #picked = new WeakMap<IncomingMessage, { route: HttpRoute; url: URL }>();
  #stopped = false;

  constructor(options: RegionsOptions) {
    if (!isRegionName(options.defaultRegion)) {
      throw new RangeError(
        `region must be an AWS region name such as us-east-1 or eu-west-1, got '${options.defaultRegion}'`,
      );
    }
    this.#options = options;
    this.get(options.defaultRegion);
  }

  /** The default region's name. */
  get defaultName(): string {
    return this.#options.defaultRegion;
  }

  /** The default region (always built). */
  get default(): Region {
    return this.#regions.get(this.#options.defaultRegion)!;
  }

  /**
   * A region, built on first use. Throws a RangeError for a name that is no AWS region name, and once the
   * sandbox stopped for a region not built yet.
   */
  get(name: string): Region {
    const existing = this.#regions.get(name);
    if (existing) return existing;
    if (!isRegionName(name)) {
      throw new RangeError(`'${name.slice(0, 64)}' is not an AWS region name (e.g. us-east-1, eu-west-1)`);
    }
    if (this.#stopped) throw new Error(`the sandbox has stopped; region ${name} cannot be started`);
    const runtime = this.#options.runtime(name);
    const other = (regionName: string) => this.get(regionName).services;
    const build = this.#options.build ?? ((r, region) => buildRegionServices(r, { region }));
    const built = build(runtime, other);
    const region: Region = { name, runtime, ...built };
    this.#regions.set(name, region);
    return region;
  }

  /** A region if it was built, else undefined (never builds one). */
  peek(name: string): Region | undefined {
    return this.#regions.get(name);
  }

  /** The regions built so far, the default one first. */
  all(): Region[] {
    return [...this.#regions.values()];
  }

  /**
   * The region an API call lands in: its credential scope's region, else the default one. Throws the error
   * AWS answers for a scope naming no region ({@link invalidRegion}).
   */
  forRequest(scopeRegion: string | undefined, protocol: 'json' | 'query' = 'json'): Region {
    if (scopeRegion === undefined || scopeRegion === '') return this.default;
    if (!isRegionName(scopeRegion)) throw invalidRegion(scopeRegion, protocol);
    return this.get(scopeRegion);
  }

  /** The instance of a service in a region. */
  service(region: Region, name: ServiceName): SandboxService | undefined {
    return region.list.find((s) => s.name === name);
  }

  /**
   * Every region's raw routes (git, build logs, load-balancer traffic) as one route that picks the region
   * first: the leading `/<region>/` path segment (removed before the region's routes see the URL), else the
   * region in a `*.<region>.elb.localhost` Host, else the default region.
   */
  route(): HttpRoute {
    return {
      match: (req, url) => {
        const picked = this.#pick(req, url);
        if (picked) this.#picked.set(req, picked);
        return picked !== undefined;
      },
      handle: (req: IncomingMessage, res: ServerResponse, url: URL) => {
        const picked = this.#picked.get(req) ?? this.#pick(req, url);
        this.#picked.delete(req);
        if (!picked) {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`Nothing at ${url.pathname} in the sandbox\n`);
          return;
        }
        return picked.route.handle(req, res, picked.url);
      },
    };
  }

  #pick(req: IncomingMessage, url: URL): { route: HttpRoute; url: URL } | undefined {
    let region: Region | undefined;
    let routed = url;
    const path = REGION_PATH.exec(url.pathname);
    if (path) {
      region = this.#stopped ? this.peek(path[1]!) : this.get(path[1]!);
      routed = new URL(url);
      routed.pathname = path[2]!;
    } else {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
      const inHost = REGION_HOST.exec(host);
      region = inHost ? this.peek(inHost[1]!) : this.default;
    }
    if (!region) return undefined;
    for (const service of region.list) {
      for (const route of service.routes ?? []) {
        if (route.match(req, routed)) return { route, url: routed };
      }
    }
    return undefined;
  }

  /** Every region's services forget their resources (reverse build order in each region). */
  async reset(): Promise<void> {
    for (const region of this.all()) {
      for (const s of [...region.list].reverse()) await s.reset();
    }
  }

  /**
   * Stops every region's services (reverse build order), then each region's fleet. Runs all of it and
   * reports each failure to `attempt`'s caller through the returned list.
   */
  async stop(attempt: (what: string, fn: () => unknown) => Promise<void>): Promise<void> {
    this.#stopped = true;
    for (const region of this.all()) {
      const where = region.name === this.defaultName ? '' : ` (${region.name})`;
      for (const s of [...region.list].reverse()) await attempt(`stopping ${s.name}${where}`, () => s.stop());
      const fleet = region.services.fleet as { stop?: () => Promise<void> };
      if (typeof fleet.stop === 'function') {
        const stopFleet = fleet.stop;
        await attempt(`stopping the fleet${where}`, () => stopFleet.call(region.services.fleet));
      }
    }
  }
}
