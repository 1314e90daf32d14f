/**
 * Records what a set of SDK clients asked and saw, without touching the code that uses them: a middleware at
 * the `deserialize` step counts every HTTP attempt (retries included) by operation, and one at `initialize`
 * turns every response into observations of pipeline execution, stage, action and deployment statuses, stamped
 * with the time the caller got them. Detection latency is then "event time in the sandbox's log → first
 * response the client received that showed it".
 *
 * @example
 * const recorder = new ApiRecorder();
 * const codedeploy = recorder.attach(new CodeDeployClient(config));
 * await codedeploy.send(new GetDeploymentCommand({ deploymentId }));
 * recorder.calls.length; // 1
 */

/** One HTTP attempt. */
export interface CallRecord {
  /** Epoch ms when the answer (or failure) arrived. */
  at: number;
  operation: string;
  ok: boolean;
}

/** One state seen in a response: `key` names the entity (see {@link entityKey}). */
export interface Observation {
  at: number;
  key: string;
  status: string;
}

/** The part of an SDK v3 client the recorder needs. */
interface StackClient {
  middlewareStack: { add: (...args: any[]) => unknown };
}

/** Entity keys shared by observations and sandbox events. */
export const entityKey = {
  execution: (executionId: string) => `execution|${executionId}`,
  stage: (executionId: string, stage: string) => `stage|${executionId}|${stage}`,
  action: (executionId: string, stage: string, action: string) => `action|${executionId}|${stage}|${action}`,
  deployment: (deploymentId: string) => `deployment|${deploymentId}`,
};

export class ApiRecorder {
  readonly calls: CallRecord[] = [];
  readonly observations: Observation[] = [];

  /** Adds the counting and observing middleware to `client`; returns it. */
  attach<C extends StackClient>(client: C): C {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
          try {
            // Below the deserializer: `result.response` is the raw HTTP answer of this attempt.
            const result = (await next(args)) as { response?: { statusCode?: number } };
            const status = result.response?.statusCode ?? 200;
            this.calls.push({ at: Date.now(), operation, ok: status < 300 });
            return result;
          } catch (error) {
            this.calls.push({ at: Date.now(), operation, ok: false });
            throw error;
          }
        },
      { step: 'deserialize', name: 'benchCountAttempts', priority: 'low' },
    );
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<{ output: unknown }>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const result = await next(args);
          this.#observe((context.commandName ?? '').replace(/Command$/, ''), result.output, Date.now());
          return result;
        },
      { step: 'initialize', name: 'benchObserveStates', priority: 'high' },
    );
    return client;
  }

  /** Calls whose answer arrived in [from, to]. */
  callsBetween(from: number, to: number): CallRecord[] {
    return this.calls.filter((c) => c.at >= from && c.at <= to);
  }

  #see(at: number, key: string, status: unknown): void {
    if (typeof status === 'string' && status) this.observations.push({ at, key, status });
  }

  #observe(operation: string, output: any, at: number): void {
    if (!output || typeof output !== 'object') return;
    switch (operation) {
      case 'GetPipelineState':
        for (const stage of output.stageStates ?? []) {
          const executionId = stage.latestExecution?.pipelineExecutionId;
          if (!executionId || !stage.stageName) continue;
          this.#see(at, entityKey.stage(executionId, stage.stageName), stage.latestExecution?.status);
          for (const action of stage.actionStates ?? []) {
            if (!action.actionName) continue;
            this.#see(
              at,
              entityKey.action(executionId, stage.stageName, action.actionName),
              action.latestExecution?.status,
            );
          }
        }
        return;
      case 'GetPipelineExecution': {
        const e = output.pipelineExecution;
        if (e?.pipelineExecutionId) this.#see(at, entityKey.execution(e.pipelineExecutionId), e.status);
        return;
      }
      case 'ListPipelineExecutions':
        for (const e of output.pipelineExecutionSummaries ?? []) {
          if (e.pipelineExecutionId) this.#see(at, entityKey.execution(e.pipelineExecutionId), e.status);
        }
        return;
      case 'ListActionExecutions':
        for (const a of output.actionExecutionDetails ?? []) {
          if (a.pipelineExecutionId && a.stageName && a.actionName) {
            this.#see(at, entityKey.action(a.pipelineExecutionId, a.stageName, a.actionName), a.status);
          }
        }
        return;
      case 'GetDeployment': {
        const d = output.deploymentInfo;
        if (d?.deploymentId) this.#see(at, entityKey.deployment(d.deploymentId), d.status);
        return;
      }
      case 'BatchGetDeployments':
        for (const d of output.deploymentsInfo ?? []) {
          if (d.deploymentId) this.#see(at, entityKey.deployment(d.deploymentId), d.status);
        }
        return;
      default:
        return;
    }
  }
}

/** Calls by operation, most frequent first. */
export function countByOperation(calls: readonly CallRecord[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.operation, (counts.get(c.operation) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
