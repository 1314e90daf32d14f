/**
 * Local instances: an id (`i-` + 17 hex digits, as EC2), a root directory under `<dataDir>/fleet/<id>/`, a port on
 * 127.0.0.1 reserved for the app the hooks start there, and every process group started on the instance
 * (owner `instance:<id>` in the runtime's {@link ProcessTracker}). Terminating an instance ends those groups
 * (including an app a hook left running in the background), frees the port and removes the directory, as
 * terminating an EC2 instance ends everything on it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { reservePort } from './ports.ts';
import type { SandboxRuntime } from '../types.ts';

export interface Instance {
  readonly instanceId: string;
  /** The instance's root directory: appspec absolute destinations are mapped under it. */
  readonly root: string;
  /** The port the app on this instance listens on (127.0.0.1). */
  readonly port: number;
  state: 'pending' | 'running' | 'terminated';
  readonly launchedAt: Date;
}

/** Where an instance listens (the ELBv2 target resolver contract). */
export interface InstanceAddress {
  host: string;
  port: number;
}

/** EC2 instance id: `i-` + 17 lowercase hex digits. */
export function instanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/**
 * The sandbox's instances.
 *
 * @example
 * const fleet = new Fleet(runtime);
 * const i = await fleet.launch();
 * runtime.processes.spawn(`instance:${i.instanceId}`, 'node', ['server.js'], { env: { PORT: String(i.port) } });
 * await fleet.terminate(i.instanceId); // the server is gone, the port is free, the directory removed
 */
export class Fleet {
  readonly runtime: SandboxRuntime;
  readonly #instances = new Map<string, Instance>();
  /** Ports handed to live instances, so two instances never share one between reservation and bind. */
  readonly #ports = new Set<number>();

  constructor(runtime: SandboxRuntime) {
    this.runtime = runtime;
  }

  /** The process-tracker owner of everything started on an instance. */
  static owner(id: string): string {
    return `instance:${id}`;
  }

  /** Starts an instance: its directory exists and its port is reserved when this resolves. */
  async launch(): Promise<Instance> {
    const id = instanceId();
    const root = join(this.runtime.dataDir, 'fleet', id);
    const port = await reservePort(this.#ports);
    this.#ports.add(port);
    const instance: Instance = {
      instanceId: id,
      root,
      port,
      state: 'pending',
      launchedAt: this.runtime.clock.now(),
    };
    this.#instances.set(id, instance);
    this.#event(id, 'pending', `port ${port}`);
    await mkdir(root, { recursive: true });
    instance.state = 'running';
    this.#event(id, 'running', `port ${port}`);
    return instance;
  }

  /**
   * Ends every process group started on the instance, frees its port and removes its directory.
   * Terminating an unknown or terminated instance is a no-op.
   */
  async terminate(id: string): Promise<void> {
    const instance = this.#instances.get(id);
    if (!instance || instance.state === 'terminated') return;
    instance.state = 'terminated';
    this.#event(id, 'shutting-down');
    await this.runtime.processes.kill(Fleet.owner(id));
    this.#ports.delete(instance.port);
    await rm(instance.root, { recursive: true, force: true });
    this.#instances.delete(id);
    this.#event(id, 'terminated');
  }

  get(id: string): Instance | undefined {
    return this.#instances.get(id);
  }

  list(): Instance[] {
    return [...this.#instances.values()];
  }

  /** ELBv2's target resolver: where a running instance listens, or undefined. */
  resolve(id: string): InstanceAddress | undefined {
    const instance = this.#instances.get(id);
    return instance?.state === 'running' ? { host: '127.0.0.1', port: instance.port } : undefined;
  }

  /** Terminates every instance. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.list().map((i) => this.terminate(i.instanceId)));
  }

  #event(id: string, status: string, detail?: string): void {
    this.runtime.events.append({
      service: 'autoscaling',
      kind: 'instance',
      status,
      targetId: id,
      ...(detail ? { detail } : {}),
    });
  }
}
