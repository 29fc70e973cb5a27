import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';

/**
 * README's shell examples, run as written, in order, against a local stack started as the
 * quickstart starts it (the dev secret, the offline responder): an example that stops working
 * fails here. Only the address changes, to this stack's port.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .map((match) => match[1] as string)
  .filter((block) => block.includes('127.0.0.1:3000'));
const dataDir = mkdtempSync(join(tmpdir(), 'chat-readme-'));
let stack: DevStack;

beforeAll(async () => {
  stack = await startDevStack({
    DATA_DIR: dataDir,
    DYNAMODB_IN_MEMORY: 'true',
    OPENAI_BASE_URL: '',
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  // The export example saves a file where it runs.
  rmSync(join(ROOT, 'chats.jsonl'), { force: true });
});

describe("README's shell examples", () => {
  it('run as written against the local stack, in order, and none answers an error', () => {
    const script = ['set -eu', ...examples]
      .join('\n')
      .replaceAll('http://127.0.0.1:3000', stack.url);

    const output = execFileSync('bash', ['-c', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
    });

    expect(examples.length).toBeGreaterThan(10);
    expect(output).not.toContain('"success":false');
    expect(output).toContain('"message":"All your data was deleted"');
    expect(output).toContain('event: ai_message');
    expect(output).toContain('"last4":"here"');
  }, 60_000);
});
