/**
 * The first stdout line of a child process that matches a pattern: how a test learns that a process it started
 * (a sandbox CLI, a run) is ready, without sleeping.
 *
 * @example
 * const endpoint = (await lineOf(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1];
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Resolves the first stdout line matching `pattern`; rejects at the deadline or when the child exits first, with its output. */
export function lineOf(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  let output = '';
  child.stderr?.on('data', (d) => {
    output += d;
  });
  // The wait ends on the line, on the child's exit, or at the deadline: no sleep, only a deadline.
  const deadline = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const expired = () =>
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output: ${output}`));
    deadline.addEventListener('abort', expired, { once: true });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      const m = pattern.exec(line);
      if (m) {
        deadline.removeEventListener('abort', expired);
        resolve(m);
      }
    });
    child.once('exit', (code, signal) => {
      deadline.removeEventListener('abort', expired);
      reject(new Error(`exited (${code ?? signal}) before printing ${pattern}; output: ${output}`));
    });
  });
}
