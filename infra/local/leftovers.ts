import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
    return execFileSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return '';
  }
};

/** Java running DynamoDB Local (not its watchdog shell, whose arguments name the jar too). */
const isDynamoDbLocal = (command: string) => /^\S*java\s.*DynamoDBLocal/.test(command.trim());

/**
 * The DynamoDB Locals serving the database folder `dbPath`, whoever started them: a run that
 * left one behind may have left no record of it.
 */
function servingFolder(dbPath: string): number[] {
  let listing = '';
  try {
    listing = execFileSync('ps', ['-A', '-ww', '-o', 'pid=,command='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return listing
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .filter(([, , command = '']) => isDynamoDbLocal(command))
    .filter(([, , command = '']) => `${command} `.includes(` -dbPath ${dbPath} `))
    .map(([, pid]) => Number(pid));
}

/** Still running as DynamoDB Local (a zombie, or a pid reused by another program, is not). */
const runningDynamoDbLocal = (pid: number) => alive(pid) && isDynamoDbLocal(commandOf(pid));

/**
 * Stops a DynamoDB Local and resolves once it is gone: SIGTERM (it shuts down in about a
 * second), then SIGKILL.
 */
export async function stopDynamoDbLocal(pid: number, graceMs = 5_000): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGTERM', graceMs],
    ['SIGKILL', 2_000],
  ] as const) {
    if (!runningDynamoDbLocal(pid)) return;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    const until = Date.now() + waitMs;
    while (runningDynamoDbLocal(pid) && Date.now() < until) await sleep(100);
  }
  if (runningDynamoDbLocal(pid)) throw new Error(`DynamoDB Local (pid ${pid}) did not stop`);
}

/**
 * Looks for an earlier run from the same DATA_DIR. One still running is refused (its
 * database and ports are in use) with how to stop it. A DynamoDB Local an earlier run left
 * behind, the one it recorded or any serving `dbPath`, is stopped (and said so) before this run
 * starts its own on the same data.
 */
export async function checkLeftovers(
  file: string,
  dbPath: string | undefined,
  say: (line: string) => void,
): Promise<void> {
  const earlier: Partial<RunFile> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  if (
    earlier.pid !== undefined &&
    earlier.pid !== process.pid &&
    alive(earlier.pid) &&
    /dev\.ts/.test(commandOf(earlier.pid))
  ) {
    throw new Error(
      `Another npm run dev is already running from this DATA_DIR (pid ${earlier.pid}${earlier.url ? `, ${earlier.url}` : ''}). ` +
        `Stop it (Ctrl-C in its terminal, or kill ${earlier.pid}), or start this one with another DATA_DIR.`,
    );
  }
  const recorded = earlier.javaPid ? [earlier.javaPid] : [];
  for (const pid of new Set([...recorded, ...(dbPath ? servingFolder(dbPath) : [])])) {
    if (!runningDynamoDbLocal(pid)) continue;
    await stopDynamoDbLocal(pid);
    say(`stopped a DynamoDB Local left running by an earlier run (pid ${pid})`);
  }
  rmSync(file, { force: true });
}

/** Records this run, so that the next start can tell. */
export function recordRun(file: string, run: RunFile) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(run));
}

/** Removes the record once everything this run started is stopped. */
export function forgetRun(file: string) {
  rmSync(file, { force: true });
}
