/**
 * Which leftovers belong to exactly one run. The leak check finds candidates broadly (by name prefix
 * `cph-<run id>-`, by the run tag, by `CodeDeploy_*` copies); a prefix alone would give run `ci` the resources of
 * runs `ci-2` and `ci-nightly` too (`cph-ci-2-repo` starts with `cph-ci-`). This keeps only what is the run's:
 * the run tag with exactly the run id as value, or exactly one of the names `stackNames(runId)` makes.
 */
import { isRunResourceName } from '../stack/names.ts';
import type { LeakReport, Leftover } from './leaks.ts';

/** The name inside an ELBv2 ARN (`…:loadbalancer/app/<name>/<id>`, `…:targetgroup/<name>/<id>`). */
function elbName(arn: string): string | undefined {
  return /:(?:loadbalancer\/(?:app|net|gwy)|targetgroup)\/([^/]+)\/[^/]+$/.exec(arn)?.[1];
}

/**
 * A predicate keeping the leftovers that belong to run `runId` exactly. Tagged leftovers count (the leak check
 * compares the tag's value for equality); named ones must be exactly `cph-<run id>-<suffix>`; a blue/green copy
 * `CodeDeploy_<group>_<deployment>` must be of exactly the run's deployment group. Kinds the leak check finds
 * by id rather than by name (executions, deployments, branches) are kept.
 *
 * @example
 * ```ts
 * const mine = (await checkLeaks(clients, { key: RUN_TAG, value: 'ci' }, { namePrefix: 'cph-ci-' })).leftovers
 *   .filter(runMatcher('ci')); // never cph-ci-2-* or cph-ci-nightly-*
 * ```
 */
export function runMatcher(runId: string): (item: Leftover) => boolean {
  const named = (name: string | undefined) => name !== undefined && isRunResourceName(name, runId);
  return (item) => {
    if (item.reason === 'tag') return true;
    switch (item.kind) {
      case 'pipeline':
      case 'application':
      case 'repository':
        return named(item.id);
      case 'deployment-group': {
        const slash = item.id.indexOf('/');
        return named(item.id.slice(0, slash)) && named(item.id.slice(slash + 1));
      }
      case 'load-balancer':
      case 'target-group':
        return named(elbName(item.id));
      case 'auto-scaling-group': {
        if (item.reason !== 'codedeploy-copy') return named(item.id);
        // CodeDeploy_<deployment group>_<deployment id>; deployment ids (d-XXXXXXXXX) hold no underscore.
        const rest = item.id.slice('CodeDeploy_'.length);
        return named(rest.slice(0, rest.lastIndexOf('_')));
      }
      default:
        return true;
    }
  };
}

/** A leak report narrowed to what `keep` accepts. */
export function narrowReport(report: LeakReport, keep: (item: Leftover) => boolean): LeakReport {
  const leftovers = report.leftovers.filter(keep);
  return { clean: leftovers.length === 0, leftovers };
}
