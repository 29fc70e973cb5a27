import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { startDevStack } from '../support/dev-stack.ts';

const DEV = fileURLToPath(new URL('../../infra/local/dev.ts', import.meta.url));
const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-local-'));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The processes (DynamoDB Local's Java among them) still running for a data dir. */
const running = (dir: string) => {
  try {
    return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

async function gone(dir: string, withinMs = 8_000) {
  const until = Date.now() + withinMs;
  while (running(dir) && Date.now() < until) await sleep(200);
  return running(dir) === '';
}

/** Runs `npm run dev`'s entry point until it exits; what it printed, and its exit code. */
function runDev(env: Record<string, string>, timeoutMs = 60_000) {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [DEV], {
      env: { ...process.env, ...env },
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

  it('refuses a second run from the same DATA_DIR, saying which process holds it', async () => {
    const dir = dataDir();
    const first = await startDevStack({ DATA_DIR: dir });
    try {
      const second = await runDev({ DATA_DIR: dir, PORT: '0' });

      expect(second.code).toBe(1);
      expect(second.output).toContain(
        `Another npm run dev is already running from this DATA_DIR (pid ${first.child.pid}`,
      );
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
    } finally {
      await first.stop();
    }
  }, 60_000);

  it('leaves nothing running when the process that started it is killed (as npm is by an IDE’s stop button)', async () => {
    const dir = dataDir();
    // A parent that, like npm, does not pass its signal on.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${DEV}" & wait`], {
      env: { ...process.env, DATA_DIR: dir, PORT: '0' },
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

  it('labels the offline responder’s replies as offline, not as a real model', async () => {
    const stack = await startDevStack({ DATA_DIR: dataDir(), OPENAI_BASE_URL: '' });
    try {
      const token = await signDevToken('newcomer', 'local-dev-secret-change-me-0123456789abcdef');
      const response = await fetch(`${stack.url}/api/chat/ai/send`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'hello' }),
      });
      const body = (await response.json()) as { ai_message: { ai_model: string; content: string } };

      expect(body.ai_message.ai_model).toBe('offline');
      expect(body.ai_message.content).toContain('(offline model)');
      expect(stack.output()).toContain('listens on every network interface');
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
