import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEV = join(ROOT, 'infra/local/dev.ts');
const DEV_SECRET = 'local-dev-secret-change-me-0123456789abcdef';
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-local-'));
  dirs.push(dir);
  return dir;
};

/** The process groups started as a terminal starts them (each test stops its own). */
const groups: number[] = [];

/** SIGKILL, to a pid or (negative) a process group that may be gone already. */
const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already, as it should be.
  }
};

afterAll(async () => {
  // A test that failed halfway leaves no stack running.
  for (const group of groups) kill(-group);
  for (const dir of dirs) {
    for (const pid of running(dir).split('\n').filter(Boolean)) kill(Number(pid));
    await gone(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `pgrep`'s answer, or '' when nothing matches. */
const pgrep = (...args: string[]) => {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

/** The processes (DynamoDB Local's Java and its watchdog) still running for a data dir. */
const running = (dir: string) => pgrep('-f', dir);

/** The Java processes serving a data dir, by pid. */
const javas = (dir: string) =>
  pgrep('-af', dir)
    .split('\n')
    .filter((line) => /^\d+ \S*java /.test(line))
    .map((line) => Number(line.split(' ')[0]));

/** Whether nothing runs any more for a data dir, nor in a process group, within a few seconds. */
async function gone(dir: string, group?: number, withinMs = 10_000) {
  const left = () => running(dir) + (group ? pgrep('-g', String(group)) : '');
  const until = Date.now() + withinMs;
  while (left() && Date.now() < until) await sleep(200);
  return left() === '';
}

/** Run as a test stack is: without the endpoints another test may have set in this worker. */
function stackEnv(env: Record<string, string>) {
  const inherited = { ...process.env };
  for (const name of Object.keys(inherited)) {
    if (name.startsWith('AWS_ENDPOINT_URL_') || name === 'OPENAI_BASE_URL') delete inherited[name];
  }
  // npm's own `node` is the first on PATH: this one.
  const path = `${dirname(process.execPath)}${delimiter}${process.env.PATH}`;
  return { ...inherited, PATH: path, PORT: '0', ...env };
}

/** Runs `npm run dev`'s entry point until it exits; what it printed, and its exit code. */
function runDev(env: Record<string, string>, timeoutMs = 60_000) {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [DEV], {
      env: stackEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/**
 * Starts `npm run dev`, or its entry point, as a terminal starts a command: the leader of a
 * process group of its own, which is what Ctrl-C signals. Resolves once it listens.
 */
async function startInTerminal(how: 'npm run dev' | 'node', env: Record<string, string>) {
  const [command, args] = how === 'node' ? [process.execPath, [DEV]] : ['npm', ['run', 'dev']];
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    env: stackEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  groups.push(child.pid as number);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  for (let i = 0; i < 300 && !output.includes('listening on'); i++) await sleep(200);
  expect(output).toContain('listening on');
  return { pid: child.pid as number, output: () => output, exited };
}

async function occupy(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '0.0.0.0', done));
  return { port: (server.address() as AddressInfo).port, server };
}

describe('npm run dev, as a newcomer meets it', () => {
  it('names a taken port and the variable that picks another, stops what it started, and prints no stack trace', async () => {
    const { port, server } = await occupy();
    const dir = dataDir();

    const api = await runDev({ DATA_DIR: dir, PORT: String(port) });
    const kms = await runDev({ DATA_DIR: dir, PORT: '0', KMS_PORT: String(port) });
    server.close();

    expect(api.code).toBe(1);
    expect(api.output).toContain(`Port ${port} on 127.0.0.1 (for the API) is already in use`);
    expect(api.output).toContain('PORT=<port>');
    expect(api.output).not.toMatch(/\n\s+at /);
    expect(kms.output).toContain('(for the local KMS)');
    expect(kms.output).toContain('KMS_PORT=<port>');
    expect(await gone(dir)).toBe(true);
  }, 60_000);

  it('refuses a DYNAMODB_PORT that something else already listens on, rather than use its data', async () => {
    const { port, server } = await occupy();

    const refused = await runDev({ DATA_DIR: dataDir(), PORT: '0', DYNAMODB_PORT: String(port) });
    server.close();

    expect(refused.code).toBe(1);
    expect(refused.output).toContain(
      `Port ${port} on 127.0.0.1 (for DynamoDB Local) is already in use`,
    );
    expect(refused.output).toContain('DYNAMODB_PORT=<port>');
  }, 60_000);

  it('refuses a second run from the same DATA_DIR, saying which process holds it, and a third too', async () => {
    const dir = dataDir();
    const first = await startDevStack({ DATA_DIR: dir });
    try {
      const second = await runDev({ DATA_DIR: dir, PORT: '0' });
      const third = await runDev({ DATA_DIR: dir, PORT: '0' });

      for (const refused of [second, third]) {
        expect(refused.code).toBe(1);
        expect(refused.output).toContain(
          `Another npm run dev is already running from this DATA_DIR (pid ${first.child.pid}`,
        );
      }
      expect(javas(dir)).toHaveLength(1);
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
    } finally {
      await first.stop();
    }
  }, 60_000);

  it('leaves nothing running when the process that started it is killed (as npm is by an IDE’s stop button)', async () => {
    const dir = dataDir();
    // A parent that, like npm, does not pass its signal on.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${DEV}" & wait`], {
      env: stackEnv({ DATA_DIR: dir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    parent.stdout.on('data', (chunk) => (output += chunk));
    for (let i = 0; i < 100 && !output.includes('listening on'); i++) await sleep(200);
    expect(output).toContain('listening on');
    expect(running(dir)).not.toBe('');

    parent.kill('SIGTERM');

    expect(await gone(dir)).toBe(true);
  }, 60_000);

  it.each([
    {
      way: 'Ctrl-C in its terminal (SIGINT to its process group)',
      how: 'node',
      signal: 'SIGINT',
      group: true,
    },
    {
      way: 'Ctrl-C in the terminal of npm run dev',
      how: 'npm run dev',
      signal: 'SIGINT',
      group: true,
    },
    {
      way: 'its terminal closing (SIGHUP to its process group)',
      how: 'node',
      signal: 'SIGHUP',
      group: true,
    },
    { way: 'SIGINT to its process alone', how: 'node', signal: 'SIGINT', group: false },
    { way: 'SIGTERM to its process alone', how: 'node', signal: 'SIGTERM', group: false },
    {
      way: 'SIGTERM to npm, which does not pass it on (as `timeout` sends it)',
      how: 'npm run dev',
      signal: 'SIGTERM',
      group: false,
    },
  ] as const)(
    'leaves nothing running, DynamoDB Local’s Java included, when stopped by $way',
    async ({ how, signal, group }) => {
      const dir = dataDir();
      const stack = await startInTerminal(how, { DATA_DIR: dir });
      expect(javas(dir)).toHaveLength(1);

      process.kill(group ? -stack.pid : stack.pid, signal);
      await stack.exited;

      expect(await gone(dir, stack.pid)).toBe(true);
      expect(stack.output()).toMatch(/\[dev\] stopped: /);
    },
    90_000,
  );

  it('after a kill -9, starts again on the same data with one DynamoDB Local, and stops it', async () => {
    const dir = dataDir();
    const first = await startInTerminal('node', { DATA_DIR: dir });
    const [before] = javas(dir);

    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const second = await startDevStack({ DATA_DIR: dir });
    try {
      expect(javas(dir)).toHaveLength(1);
      expect(javas(dir)).not.toContain(before);
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
    } finally {
      await second.stop();
    }

    expect(await gone(dir)).toBe(true);
  }, 90_000);

  it('stops a DynamoDB Local left running on the same data with no record of its run, and says so, before starting its own', async () => {
    const dir = dataDir();
    const first = await startInTerminal('node', { DATA_DIR: dir });
    const [left] = javas(dir);
    const watchdog = Number(pgrep('-P', String(first.pid), 'sh'));
    // What a run could leave before the watchdog was kept apart from the terminal: its Java
    // alone, with the record of the run deleted as if it had stopped.
    process.kill(watchdog, 'SIGKILL');
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    rmSync(join(dir, 'dev-run.json'), { force: true });
    expect(javas(dir)).toEqual([left]);

    const second = await startDevStack({ DATA_DIR: dir });
    try {
      expect(second.output()).toContain(
        `stopped a DynamoDB Local left running by an earlier run (pid ${left})`,
      );
      expect(javas(dir)).toHaveLength(1);
      expect(javas(dir)).not.toContain(left);
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
    } finally {
      await second.stop();
    }

    expect(await gone(dir)).toBe(true);
  }, 90_000);
});

describe('npm run dev with the offline responder', () => {
  let stack: DevStack;
  beforeAll(async () => {
    stack = await startDevStack({ DATA_DIR: dataDir(), OPENAI_BASE_URL: '' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const send = async (message: string) => {
    const token = await signDevToken('newcomer', DEV_SECRET);
    const response = await fetch(`${stack.url}/api/chat/ai/send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    return (await response.json()) as { ai_message: { ai_model: string; content: string } };
  };

  it('labels the offline responder’s replies as offline, not as a real model', async () => {
    const body = await send('hello');

    expect(body.ai_message.ai_model).toBe('offline');
    expect(body.ai_message.content).toContain('(offline model)');
  });

  it('prints where the offline model listens, and it answers there', async () => {
    const baseUrl = /offline responder at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(
      stack.output(),
    )?.[1];

    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'offline', messages: [{ role: 'user', content: 'hi' }] }),
    });

    expect(baseUrl).toBeDefined();
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain('(offline model)');
  });

  it('prints no metric lines for a model call: metrics are off locally unless asked for', async () => {
    const before = stack.output().length;

    await send('count me');
    // The route writes its metrics before the server logs its answer.
    for (let i = 0; i < 50 && !stack.output().includes('POST /api/chat/ai/send 200', before); i++)
      await sleep(100);

    expect(stack.output().slice(before)).toContain('POST /api/chat/ai/send 200');
    expect(stack.output()).not.toContain('"_aws"');
    expect(stack.output()).not.toContain('CloudWatchMetrics');
  });

  it('says that DynamoDB Local listens on every network interface', () => {
    expect(stack.output()).toContain('listens on every network interface');
  });
});
