/**
 * The `/_sandbox/*` control routes (JSON): what tests, benchmarks and the CLI use to look inside the
 * sandbox without the AWS API. The edge server lets only requests signed (SigV4, any service name in the scope,
 * e.g. `sandbox`) with the sandbox's credentials reach them; GET only reads, state changes take PUT/POST/DELETE.
 *
 * - `GET /_sandbox/health` → `{ status: 'ok', services, regions, uptimeSeconds }` (`regions`: those called so far)
 * - `GET /_sandbox/faults`, `PUT /_sandbox/faults` (body: a fault spec), `DELETE /_sandbox/faults`
 * - `GET /_sandbox/events?after=N` → the events with `seq > N`, oldest first
 * - `POST /_sandbox/reset` → every service of every region forgets its resources
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLog } from './events.ts';
import { FaultSpecError, type Faults } from './faults.ts';
import { type ControlRoute, readBody } from './server.ts';
import type { SandboxService } from './types.ts';

export interface ControlOptions {
  faults: Faults;
  events: EventLog;
  services: () => readonly SandboxService[];
  /** The regions built so far (default first). @default none listed */
  regions?: () => readonly string[];
  reset: () => Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function problem(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { __type: code, message });
}

async function readJson(req: IncomingMessage, body?: Buffer): Promise<unknown> {
  const text = (body ?? (await readBody(req, 1024 * 1024))).toString('utf8').trim();
  return text === '' ? {} : JSON.parse(text);
}

/** The control routes as one {@link HttpRoute} matching `/_sandbox` and below. */
export function controlRoute(options: ControlOptions): ControlRoute {
  const startedAt = Date.now();
  return {
    match: (_req, url) => url.pathname === '/_sandbox' || url.pathname.startsWith('/_sandbox/'),
    async handle(req, res, url, body?: Buffer) {
      const method = req.method ?? 'GET';
      const path = url.pathname.replace(/\/+$/, '');
      const allow = (methods: string[]): boolean => {
        if (methods.includes(method)) return true;
        problem(res, 405, 'MethodNotAllowed', `${path} accepts ${methods.join(', ')}, not ${method}`);
        return false;
      };
      switch (path) {
        case '/_sandbox/health':
          if (!allow(['GET', 'HEAD'])) return;
          json(res, 200, {
            status: 'ok',
            services: options.services().map((s) => s.name),
            regions: options.regions?.() ?? [],
            uptimeSeconds: (Date.now() - startedAt) / 1000,
          });
          return;
        case '/_sandbox/faults': {
          if (!allow(['GET', 'PUT', 'POST', 'DELETE'])) return;
          if (method === 'DELETE') options.faults.clear();
          if (method === 'PUT' || method === 'POST') {
            let spec: unknown;
            try {
              spec = await readJson(req, body);
            } catch (error) {
              problem(
                res,
                400,
                'SerializationException',
                `PUT /_sandbox/faults needs a JSON fault spec: ${(error as Error).message}`,
              );
              return;
            }
            try {
              options.faults.set(spec);
            } catch (error) {
              if (error instanceof FaultSpecError) {
                problem(res, 400, 'ValidationException', error.message);
                return;
              }
              throw error;
            }
          }
          json(res, 200, options.faults.get());
          return;
        }
        case '/_sandbox/events': {
          if (!allow(['GET'])) return;
          const raw = url.searchParams.get('after') ?? '0';
          const after = Number(raw);
          if (!/^\d+$/.test(raw) || !Number.isSafeInteger(after)) {
            problem(
              res,
              400,
              'ValidationException',
              `after must be a whole number (the last seq you saw), got '${raw.slice(0, 50)}'`,
            );
            return;
          }
          json(res, 200, options.events.since(after));
          return;
        }
        case '/_sandbox/reset':
          if (!allow(['POST'])) return;
          await options.reset();
          json(res, 200, { status: 'reset', services: options.services().map((s) => s.name) });
          return;
        default:
          problem(
            res,
            404,
            'NotFound',
            `No control route ${path}; try /_sandbox/health, /_sandbox/faults, /_sandbox/events?after=N, /_sandbox/reset`,
          );
      }
    },
  };
}
