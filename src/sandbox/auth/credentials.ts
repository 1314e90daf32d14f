/**
 * The sandbox's one access key: the default (`test`/`test`), fresh random ones (`--credentials random`), the ones
 * the environment names, and the check of given ones.
 */
import { randomBytes } from 'node:crypto';

/** The one access key the sandbox accepts. It has no session tokens. */
export interface SandboxCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** `test`/`test`: what every emulator client and example uses, so they keep working unchanged. */
export const DEFAULT_CREDENTIALS: SandboxCredentials = Object.freeze({
  accessKeyId: 'test',
  secretAccessKey: 'test',
});

/** The env vars a sandbox (and a harness run on the sandbox target) read the credentials from. */
export const CREDENTIALS_ENV = {
  accessKeyId: 'HARNESS_SANDBOX_ACCESS_KEY_ID',
  secretAccessKey: 'HARNESS_SANDBOX_SECRET_ACCESS_KEY',
} as const;

/**
 * Fresh credentials shaped like an IAM user's access key: `AKIA` + 16 base-32 characters, and a 40-character
 * secret (30 random bytes, base64url), from the OS's CSPRNG.
 *
 * @example
 * const sandbox = await startSandbox({ credentials: randomCredentials() });
 */
export function randomCredentials(): SandboxCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64url') };
}

/**
 * The credentials `HARNESS_SANDBOX_ACCESS_KEY_ID` / `HARNESS_SANDBOX_SECRET_ACCESS_KEY` name; undefined when
 * neither is set. Throws naming the missing one when only one is.
 *
 * @example
 * const credentials = credentialsFromEnv(process.env) ?? DEFAULT_CREDENTIALS;
 */
export function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): SandboxCredentials | undefined {
  const accessKeyId = env[CREDENTIALS_ENV.accessKeyId]?.trim() || undefined;
  const secretAccessKey = env[CREDENTIALS_ENV.secretAccessKey] || undefined;
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    const missing = accessKeyId ? CREDENTIALS_ENV.secretAccessKey : CREDENTIALS_ENV.accessKeyId;
    throw new Error(
      `${missing} is not set while ${accessKeyId ? CREDENTIALS_ENV.accessKeyId : CREDENTIALS_ENV.secretAccessKey} is: set both (the sandbox's access key id and secret) or neither (test/test)`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * Checks given credentials; throws a TypeError naming the field that is wrong.
 *
 * @example
 * assertCredentials({ accessKeyId: 'AKIA…', secretAccessKey: '' }); // TypeError: credentials.secretAccessKey must be a non-empty string
 */
export function assertCredentials(credentials: SandboxCredentials, what = 'credentials'): void {
  if (typeof credentials?.accessKeyId !== 'string' || !/^[\w.+=@-]{1,128}$/.test(credentials.accessKeyId)) {
    throw new TypeError(
      `${what}.accessKeyId must be 1-128 letters, digits or _.+=@- (like AKIA... or test), got ${JSON.stringify(credentials?.accessKeyId)?.slice(0, 40)}`,
    );
  }
  if (typeof credentials.secretAccessKey !== 'string' || credentials.secretAccessKey.length === 0) {
    throw new TypeError(`${what}.secretAccessKey must be a non-empty string`);
  }
}
