/**
 * The watchdog process a sandbox starts next to itself (src/sandbox/watchdog.ts): it holds the read end of a pipe
 * whose write end only the sandbox holds, so the sandbox's death, however it dies, reaches it at once as the end of
 * its stdin; a check of the sandbox's pid every 2 s backs that up. Then it ends the process groups the sandbox
 * recorded under its data dir, writes what it ended to `<dataDir>/processes/watchdog.log`, removes a temporary data
 * dir, and exits. A sandbox that stops normally writes `stop` first: the watchdog exits without doing anything else.
 *
 * While it watches, and until it has finished with the data dir, `<dataDir>/processes/watchdog.json` names it (pid,
 * start time, its sandbox).
 *
 * Usage: node watchdog-process.js <dataDir> <sandbox pid> <sandbox start time|-> [--remove-data-dir]
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeEnded, endLeftovers, identityOf, isAlive, recordsDir } from './process-records.ts';

const [dataDir, pidText, startText, flag] = process.argv.slice(2);
if (!dataDir || !pidText || !startText) {
  process.stderr.write(
    'usage: watchdog-process <dataDir> <sandbox pid> <sandbox start time|-> [--remove-data-dir]\n',
  );
  process.exit(2);
}
const sandbox = { pid: Number(pidText), startTime: startText === '-' ? null : startText };
let stopRequested = false;
let finishing = false;

const selfFile = join(recordsDir(dataDir), 'watchdog.json');

/** Removes `watchdog.json` when it still names this process. */
function forgetSelf(): void {
  try {
    if ((JSON.parse(readFileSync(selfFile, 'utf8')) as { pid?: number }).pid === process.pid)
      rmSync(selfFile, { force: true });
  } catch {
    // not there
  }
}

async function finish(why: string): Promise<void> {
  if (finishing) return;
  finishing = true;
  clearInterval(check);
  if (stopRequested) {
    forgetSelf();
    process.exit(0);
  }
  const { ended } = await endLeftovers(dataDir!, { sandbox });
  // `watchdog.json` names this process until its work under the data dir is done (whoever waits for it to
  // finish, a test removing the dir or a sweep, reads it there).
  if (flag === '--remove-data-dir') {
    rmSync(dataDir!, { recursive: true, force: true, maxRetries: 3 });
  } else if (ended.length > 0) {
    mkdirSync(recordsDir(dataDir!), { recursive: true });
    appendFileSync(
      join(recordsDir(dataDir!), 'watchdog.log'),
      `${new Date().toISOString()} sandbox pid ${sandbox.pid} ${why}; ended ${ended.length} process group(s):\n` +
        ended.map((e) => `  ${describeEnded(e)}\n`).join(''),
    );
  }
  forgetSelf();
  process.exit(0);
}

process.stdin.on('data', (chunk: Buffer) => {
  if (chunk.toString().includes('stop')) stopRequested = true;
});
process.stdin.on('end', () => void finish('is gone (its end of the pipe closed)'));
process.stdin.on('error', () => void finish('is gone (the pipe broke)'));
const check = setInterval(() => {
  if (!isAlive(sandbox)) void finish('is gone');
}, 2000);
// Ctrl-C and a closed terminal are the sandbox's to handle: it stops normally and tells us.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
// Ready: say who watches (tests and `ps` readers find it here; gone again when it exits).
mkdirSync(recordsDir(dataDir), { recursive: true });
writeFileSync(`${selfFile}.tmp`, `${JSON.stringify({ ...identityOf(process.pid), sandbox })}\n`);
renameSync(`${selfFile}.tmp`, selfFile);
