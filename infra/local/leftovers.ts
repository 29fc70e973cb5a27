import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a running `npm run dev` leaves in its DATA_DIR: who runs, and where. */
interface RunFile {
  pid: number;
  javaPid?: number;
  url?: string;
}

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process's command line, or '' (`ps` is on Linux and macOS). */
const commandOf = (pid: number) => {
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return '';
  }
};

/**
 * Looks for an earlier run from the same DATA_DIR. One still running is refused (its
 * database and ports are in use) with how to stop it; a DynamoDB Local it left behind (a killed
 * run, before the watchdog existed) is stopped, and said so.
 */
export function checkLeftovers(file: string, say: (line: string) => void) {
  if (!existsSync(file)) return;
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  if (earlier.pid !== process.pid && alive(earlier.pid) && /dev\.ts/.test(commandOf(earlier.pid))) {
    throw new Error(
      `Another npm run dev is already running from this DATA_DIR (pid ${earlier.pid}${earlier.url ? `, ${earlier.url}` : ''}). ` +
        `Stop it (Ctrl-C in its terminal, or kill ${earlier.pid}), or start this one with another DATA_DIR.`,
    );
  }
  if (alive(earlier.javaPid) && /DynamoDBLocal/.test(commandOf(earlier.javaPid as number))) {
    process.kill(earlier.javaPid as number, 'SIGTERM');
    say(`stopped a DynamoDB Local left running by an earlier run (pid ${earlier.javaPid})`);
  }
  rmSync(file, { force: true });
}

/** Records this run, so that the next start can tell. */
export function recordRun(file: string, run: RunFile) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(run));
}

export function forgetRun(file: string) {
  rmSync(file, { force: true });
}
