/**
 * Starts one sandbox for a test file and stops it after: `const sb = useSandbox();` at the top of a
 * `describe`, then `sb.sandbox.endpoint` / `sb.clients.codepipeline` inside tests.
 *
 * @example
 * describe('pipelines', () => {
 *   const sb = useSandbox({ timeScale: 0.01 });
 *   it('lists none', async () => {
 *     const out = await sb.clients.codepipeline.send(new ListPipelinesCommand({}));
 *     expect(out.pipelines).toEqual([]);
 *   });
 * });
 */
import { afterAll, beforeAll } from 'vitest';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../../src/sandbox/index.ts';
import { type SdkClientOptions, type SdkClients, sdkClients } from './clients.ts';

export interface SandboxFixture {
  readonly sandbox: Sandbox;
  readonly clients: SdkClients;
}

export function useSandbox(
  options: SandboxOptions = {},
  clientOptions: SdkClientOptions = {},
): SandboxFixture {
  let sandbox: Sandbox | undefined;
  let clients: SdkClients | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
    clients = sdkClients(sandbox.endpoint, clientOptions);
  });
  afterAll(async () => {
    clients?.destroy();
    await sandbox?.stop();
  });
  return {
    get sandbox() {
      if (!sandbox)
        throw new Error('useSandbox(): the sandbox is not started yet (use it inside a test or hook)');
      return sandbox;
    },
    get clients() {
      if (!clients)
        throw new Error('useSandbox(): the clients are not ready yet (use them inside a test or hook)');
      return clients;
    },
  };
}
