import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apiUrl, call, newUser, type TestUser } from '../support/api.ts';

const SMOKE = fileURLToPath(new URL('../../infra/smoke.ts', import.meta.url));
const STEPS = [
  'health',
  'key status',
  'send',
  'stream',
  'follow',
  'stop',
  'history pages',
  'rooms',
  'export',
  'clear',
  'cleanup',
];

/** Runs `npm run smoke`'s script as a deployer would, against the local stack. */
function runSmoke(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [SMOKE, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => done({ code, output }));
  });
}

/** The smoke conversations left in the user's rooms list. */
async function smokeRoomsOf(user: TestUser) {
  const rooms = await call('GET', '/api/chat/ai/rooms?limit=100', { token: user.token });
  return rooms.body.rooms.filter((room: { room_id: string }) => room.room_id.startsWith('smoke-'));
}

describe('npm run smoke (the post-deploy check), against the local stack', () => {
  it('passes every step, a line each with its latency, and leaves no conversation behind', async () => {
    const user = await newUser();

    const { code, output } = await runSmoke(['--url', apiUrl, '--token', user.token], {
      // The test model writes slowly on request, so the stop lands while the reply is written.
      SMOKE_STOP_MESSAGE: '[[slow:300]] Smoke test: a reply long enough to be stopped midway',
    });

    expect(output, output).toMatch(/smoke: all 10 steps passed/);
    expect(code).toBe(0);
    for (const step of STEPS) {
      expect(output).toMatch(new RegExp(`^ok +${step} +\\d+ ms  \\S`, 'm'));
    }
    expect(output).toMatch(/^ok +stop .*stopped while being written/m);
    expect(output).toMatch(/^ok +history pages .*6 messages in 3 pages/m);
    expect(output).not.toContain(user.token);
    expect(await smokeRoomsOf(user)).toEqual([]);
    const room = /room (smoke-\S+) deleted/.exec(output)?.[1] as string;
    const left = await call('GET', `/api/chat/ai/rooms/${encodeURIComponent(room)}`, {
      token: user.token,
    });
    expect(left.status).toBe(404);
  });

  it('takes the URL and the token from SMOKE_URL and SMOKE_TOKEN too', async () => {
    const user = await newUser();

    const { code, output } = await runSmoke([], {
      SMOKE_URL: `${apiUrl}/`,
      SMOKE_TOKEN: user.token,
    });

    expect(output, output).toMatch(/smoke: all 10 steps passed/);
    expect(code).toBe(0);
  });

  it('exits non-zero at the first failing step, says why, runs no later step and still cleans up', async () => {
    // No stored key and no fallback key on this stack: the send is refused.
    const user = await newUser({ withKey: false });

    const { code, output } = await runSmoke(['--url', apiUrl, '--token', user.token]);

    expect(code).toBe(1);
    expect(output).toMatch(/^ok +key status .*no key stored/m);
    expect(output).toMatch(
      /^FAIL +send +\d+ ms {2}POST \/api\/chat\/ai\/send answered 400: No API key/m,
    );
    for (const later of ['stream', 'follow', 'stop', 'history pages', 'export', 'clear']) {
      expect(output).not.toMatch(new RegExp(`^(ok|FAIL) +${later} `, 'm'));
    }
    expect(output).toMatch(/^ok +cleanup /m);
    expect(output).toMatch(/smoke: failed after 2 steps/);
    expect(await smokeRoomsOf(user)).toEqual([]);
  });

  it('fails at the first authenticated step with a token the API refuses', async () => {
    const user = await newUser({ withKey: false });
    const forged = `${user.token.slice(0, -4)}AAAA`;

    const { code, output } = await runSmoke(['--url', apiUrl, '--token', forged]);

    expect(code).toBe(1);
    expect(output).toMatch(/^ok +health /m);
    expect(output).toMatch(/^FAIL +key status .*answered 401/m);
    // Nothing was written, so there is nothing to clean up.
    expect(output).not.toMatch(/cleanup/);
  });

  it('says why when the API cannot be reached', async () => {
    const closed = await new Promise<number>((done) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => done(port));
      });
    });
    const user = await newUser({ withKey: false });

    const { code, output } = await runSmoke([
      '--url',
      `http://127.0.0.1:${closed}`,
      '--token',
      user.token,
    ]);

    expect(code).toBe(1);
    expect(output).toMatch(/^FAIL +health +\d+ ms {2}fetch failed: .*ECONNREFUSED/m);
  });

  it('says how to call it when the URL or the token is missing', async () => {
    const { code, output } = await runSmoke(['--url', apiUrl]);

    expect(code).toBe(2);
    expect(output).toMatch(/usage: npm run smoke -- --url <ApiUrl output> --token <JWT>/);
  });
});
