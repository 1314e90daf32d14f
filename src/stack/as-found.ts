/**
 * Leaving a team's stack exactly as found (stack `existing`): before the first push the branch head is recorded
 * (its undo: the tree put back with one commit on top, and released), every execution the run starts gets an
 * undo that closes it (approval rejected, execution stopped and abandoned, deployment stopped), and the leak check
 * looks, by id, at exactly those.
 */
import type { HarnessClients } from '../aws/clients.ts';
import type { HarnessConfig } from '../config.ts';
import { closeExecution } from '../pipeline/close.ts';
import type { ExecutionRef, PipelineContext } from '../pipeline/observe.ts';
import { gitAuthFor, redact } from '../source/git.ts';
import type { PushResult } from '../source/push.ts';
import { type BranchHead, branchHead, restoreBranch, treeOf } from '../source/restore.ts';
import type { LeakReport } from '../teardown/leaks.ts';
import type { Ledger } from '../teardown/ledger.ts';
import { checkOpenWork } from '../teardown/open-work.ts';
import { assertPipelineSource, type PipelineShape } from './pipeline-shape.ts';

/** The source a run pushes to. */
export interface PushTarget {
  repoUrl: string;
  branch: string;
  appDir: string;
}

/** What {@link AsFound} needs of the run. */
export interface AsFoundOptions {
  config: HarnessConfig;
  clients: HarnessClients;
  ledger: Ledger;
  /** The pipeline's context (its name, clients, poll pace). */
  pipeline: () => PipelineContext;
  shape: () => Promise<PipelineShape>;
  /** Follows a pushed commit through the pipeline to every target (the restoring release). */
  release: (push: PushResult) => Promise<unknown>;
  log: (line: string) => void;
}

/**
 * The undo of everything a run does to a stack it did not create.
 *
 * @example
 * ```ts
 * const asFound = new AsFound({ config, clients, ledger, pipeline: () => ctx, shape, release, log });
 * await asFound.beforePush(source);      // guard + branch head recorded, its undo in the ledger
 * asFound.started(execution);            // closed by teardown whatever happens
 * ```
 */
export class AsFound {
  readonly #options: AsFoundOptions;
  #before: Promise<BranchHead> | undefined;
  #source: PushTarget | undefined;
  #lastReleased: string | undefined;
  readonly #executionIds = new Set<string>();
  /** While teardown runs, executions it starts (the restoring release) are followed, not closed. */
  tearingDown = false;

  constructor(options: AsFoundOptions) {
    this.#options = options;
  }

  /**
   * Before anything is pushed: the push goes to the pipeline's own source (guard), and the branch head is recorded
   * once, with its undo in the ledger.
   *
   * @throws GuardRefusedError when the repository or branch is not the one the pipeline's Source action watches.
   */
  async beforePush(source: PushTarget): Promise<void> {
    const { config, ledger } = this.#options;
    assertPipelineSource(await this.#options.shape(), source.repoUrl, source.branch);
    if (this.#before) {
      await this.#before;
      return;
    }
    this.#source = source;
    const branch = { repoUrl: source.repoUrl, branch: source.branch, auth: gitAuthFor(config) };
    this.#before = branchHead(branch);
    const before = await this.#before;
    ledger.add({
      kind: 'branch',
      id: `${redact(source.repoUrl)}#${source.branch}`,
      describe: `branch ${source.branch} restored ${config.keepLastRelease ? 'to the last release' : 'as found'} and released`,
      delete: async () => {
        const commitId = this.#target(before);
        const restored = await restoreBranch({
          ...branch,
          commitId,
          runId: config.runId,
          appDir: source.appDir,
        });
        if (!restored) return;
        this.#options.log(
          `restored ${source.branch} to the tree of ${commitId.slice(0, 12)} as ${restored.commitId.slice(0, 10)}`,
        );
        await this.#options.release(restored);
      },
    });
  }

  /** A release the run followed to every target (with `keepLastRelease`, the tree the branch keeps). */
  released(commitId: string): void {
    this.#lastReleased = commitId;
  }

  /** An execution the run started: whatever happens, teardown leaves nothing of it open. */
  started(execution: ExecutionRef): void {
    const { config, clients, ledger } = this.#options;
    this.#executionIds.add(execution.pipelineExecutionId);
    if (this.tearingDown) return;
    ledger.add({
      kind: 'execution',
      id: execution.pipelineExecutionId,
      describe: `execution ${execution.pipelineExecutionId} closed`,
      delete: async () => {
        const done = await closeExecution(this.#options.pipeline(), execution, {
          codedeploy: clients.codedeploy,
          approvalStage: config.stages.approval,
          approvalAction: config.approvalActionName,
          reason: `codepipeline-harness run ${config.runId}: teardown`,
          timeout: config.timeouts.stage,
        });
        for (const line of done) this.#options.log(line);
      },
    });
  }

  /**
   * By id and without listing the account: an execution, approval or deployment of the run still open, a
   * `CodeDeploy_*` fleet of a deployment of ours that did not go live, the branch not holding the tree it must.
   */
  async checkLeaks(deploymentGroupName: string): Promise<LeakReport> {
    const { clients, config } = this.#options;
    const before = await this.#before?.catch(() => undefined);
    const source = this.#source;
    const auth = gitAuthFor(config);
    const branch =
      before && source
        ? {
            id: `${redact(source.repoUrl)}#${source.branch}`,
            treeBefore:
              this.#target(before) === before.commitId
                ? before.tree
                : await treeOf({ ...source, auth, commitId: this.#target(before) }),
            treeNow: async () => (await branchHead({ ...source, auth })).tree,
          }
        : undefined;
    return checkOpenWork(clients, {
      pipelineName: this.#options.pipeline().pipelineName,
      executionIds: [...this.#executionIds],
      deploymentGroupName,
      ...(branch ? { branch } : {}),
    });
  }

  /** The commit whose tree the branch must hold after the run (see `keepLastRelease`). */
  #target(before: BranchHead): string {
    return this.#options.config.keepLastRelease && this.#lastReleased ? this.#lastReleased : before.commitId;
  }
}
