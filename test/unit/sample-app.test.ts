import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const appDir = join(import.meta.dirname, '..', '..', 'sample-app');
const scripts = readdirSync(join(appDir, 'scripts')).filter((f) => f.endsWith('.sh'));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Plays the agent on a scratch instance root: copies the revision as appspec `files` would, runs one hook. */
function instance(options: { unhealthy?: boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'sample-app-instance-'));
  const revision = join(root, 'revision');
  cpSync(appDir, revision, { recursive: true, filter: (src) => !src.includes('node_modules') });
  if (options.unhealthy) writeFileSync(join(revision, 'config', 'health.json'), '{ "healthy": false }\n');
  return {
    root,
    revision,
    install() {
      cpSync(revision, join(root, 'opt', 'awscicd-app'), { recursive: true });
    },
    hook(script: string, env: Record<string, string>) {
      return run('bash', [join(revision, 'scripts', script)], {
        env: {
          ...process.env,
          DEPLOY_ROOT: root,
          LIFECYCLE_EVENT: script,
          VALIDATE_TIMEOUT_SECONDS: '10',
          ...env,
        },
        timeout: 30_000,
      });
    },
    pid(): number | undefined {
      const file = join(root, 'var', 'run', 'awscicd-app', 'app.pid');
      return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
    },
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('sample-app hook scripts', () => {
  it.each(scripts)('%s is valid bash (bash -n)', async (script) => {
    await expect(run('bash', ['-n', join(appDir, 'scripts', script)])).resolves.toBeDefined();
  });

  it('starts, validates and stops the app on a scratch instance root', async () => {
    const inst = instance();
    cleanups.push(() => rmSync(inst.root, { recursive: true, force: true }));
    const port = String(await freePort());
    const env = { PORT: port, INSTANCE_ID: 'i-0123456789abcdef0' };
    await inst.hook('application_stop.sh', env); // nothing running yet: must succeed
    await inst.hook('before_install.sh', env);
    inst.install();
    await inst.hook('after_install.sh', env);
    await inst.hook('application_start.sh', env);
    const pid = inst.pid();
    cleanups.push(() => pid && alive(pid) && process.kill(pid, 'SIGKILL'));
    const validate = await inst.hook('validate_service.sh', env);
    expect(validate.stdout).toContain('healthy, serving v1');

    const res = await fetch(`http://127.0.0.1:${port}/version`);
    expect(await res.json()).toEqual({ version: 'v1', instanceId: 'i-0123456789abcdef0' });
    expect(res.headers.get('x-instance-id')).toBe('i-0123456789abcdef0');

    await inst.hook('application_stop.sh', env);
    expect(pid && alive(pid)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('fails ValidateService fast when the health switch is off, naming the answer', async () => {
    const inst = instance({ unhealthy: true });
    cleanups.push(() => rmSync(inst.root, { recursive: true, force: true }));
    const env = { PORT: String(await freePort()), INSTANCE_ID: 'i-0bad' };
    await inst.hook('before_install.sh', env);
    inst.install();
    await inst.hook('application_start.sh', env);
    const pid = inst.pid();
    cleanups.push(() => pid && alive(pid) && process.kill(pid, 'SIGKILL'));
    const failure = await inst
      .hook('validate_service.sh', env)
      .catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain(
      'unhealthy: GET /health answered 500 three times in a row',
    );
    await inst.hook('application_stop.sh', env);
  });

  it('passes its own unit tests with node --test, as the buildspec runs them', async () => {
    const { stdout } = await run('node', ['--test', '--test-reporter=tap'], { cwd: appDir });
    expect(stdout).toMatch(/# pass [1-9]/);
    expect(stdout).toContain('# fail 0');
  });
});
