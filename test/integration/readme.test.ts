import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSettings, limitSettings, modelSettings, replySettings } from '#commons/config.ts';
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

/** A `node` on PATH older than 24 (a machine's own, as a newcomer's terminal finds it), if any. */
function olderNode(): string | undefined {
  const found = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' }).stdout ?? '';
  return found
    .split('\n')
    .filter(Boolean)
    .find((node) => {
      const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
      return Number(version.stdout?.split('.')[0]) < 24;
    });
}

describe("README's words", () => {
  const quickstart = readme.slice(
    readme.indexOf('## Quickstart'),
    readme.indexOf('## The local stack'),
  );

  it('tell a newcomer on an older Node how to get Node 24 before the quickstart’s npm install', () => {
    const bootstrap = quickstart.indexOf('npm install --prefix .tools --no-save');
    const install = quickstart.indexOf('```sh\nnpm install\n');

    expect(bootstrap).toBeGreaterThan(-1);
    expect(install).toBeGreaterThan(bootstrap);
    expect(quickstart.slice(0, bootstrap)).toContain('EBADENGINE');
  });

  const old = olderNode();
  it.skipIf(!old)(
    'name the error npm stops with on an older Node, before it installs anything',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'chat-old-node-'));
      try {
        // What a fresh clone has; with its lockfile, npm needs no registry to refuse.
        for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
          copyFileSync(join(ROOT, file), join(dir, file));
        }
        const npm = spawnSync(
          'npm',
          ['install', '--dry-run', '--offline', '--logs-max=0', '--no-audit', '--no-fund'],
          {
            cwd: dir,
            encoding: 'utf8',
            env: {
              ...process.env,
              PATH: `${dirname(old as string)}${delimiter}${process.env.PATH}`,
            },
          },
        );

        expect(npm.status).not.toBe(0);
        expect(npm.stderr).toContain('EBADENGINE');
        expect(npm.stderr).toContain('Required: {"node":">=24"}');
        expect(quickstart).toContain('Required: {"node":">=24"}');
        expect(existsSync(join(dir, 'node_modules'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('give every setting’s default as lib/commons/config.ts has it', () => {
    const defaults: Record<string, unknown> = {
      ...modelSettings({}),
      ...limitSettings({}),
      ...replySettings({}),
      ...httpSettings({}),
    };
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` +\| `([^`]+)`/gm)].filter(
      ([, name = '']) => defaults[name] !== undefined && `${defaults[name]}` !== '',
    );

    for (const [, name = '', documented] of rows)
      expect(documented, name).toBe(`${defaults[name]}`);
    expect(rows.length).toBeGreaterThan(15);
  });

  it('name the tokenizer the service depends on', () => {
    const named = /Tokens are counted with ([\w@/.-]+)/.exec(readme)?.[1];
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

    expect(Object.keys(dependencies)).toContain(named);
  });
});
