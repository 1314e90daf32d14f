/**
 * Runs the real AWS CLI installed on the machine against an endpoint with fake credentials.
 *
 * @example
 * const r = await awsCli(sandbox.endpoint, ['codecommit', 'get-repository', '--repository-name', 'web']);
 * expect(r.json.repositoryMetadata.repositoryName).toBe('web');
 */
import { execFile } from 'node:child_process';
import { devNull } from 'node:os';

export interface AwsCliResult {
  /** Exit code (0 on success; the CLI answers 254/255 for service errors). */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON (the CLI prints nothing for operations without output). */
  json: any;
  /** The wire error code from `An error occurred (<Code>) when calling ...`, when the call failed. */
  errorCode?: string;
}

export interface AwsCliOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** Kill the CLI after this long. @default 60_000 (60 s) */
  timeoutMs?: number;
  /** Working directory (for `file://` arguments). */
  cwd?: string;
  /** Output format. @default 'json' */
  output?: 'json' | 'text';
  /** What the CLI signs with. @default test/test (the sandbox's default) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Runs `aws --endpoint-url <endpoint> <args> --output json`; never rejects on a non-zero exit. */
export function awsCli(
  endpoint: string,
  args: readonly string[],
  options: AwsCliOptions = {},
): Promise<AwsCliResult> {
  const region = options.region ?? 'us-east-1';
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ACCESS_KEY_ID: options.credentials?.accessKeyId ?? 'test',
    AWS_SECRET_ACCESS_KEY: options.credentials?.secretAccessKey ?? 'test',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Keep the developer's own profile and any instance metadata out of the test.
    AWS_CONFIG_FILE: devNull,
    AWS_SHARED_CREDENTIALS_FILE: devNull,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
  };
  const argv = ['--endpoint-url', endpoint, ...args, '--output', options.output ?? 'json'];
  return new Promise((resolve, reject) => {
    execFile(
      'aws',
      argv,
      { env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new Error(`aws ${args.join(' ')} did not run: ${error.message}\n${stderr}`, { cause: error }),
          );
          return;
        }
        let json: any;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        const errorCode = /An error occurred \(([^)]+)\)/.exec(stderr)?.[1];
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr, json, errorCode });
      },
    );
  });
}
