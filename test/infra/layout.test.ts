import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The folders of lib/ (README's "Layout"): each answers one question, and the tests mirror them. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FOLDERS = ['adapters', 'api', 'chat', 'client', 'commons', 'http', 'store', 'wiring'];
const MAX_LINES = 400;

const filesIn = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length));

/** Runs the project's Biome, with its configuration, over a probe file at `path`. */
function lintProbe(path: string, source: string) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-layout-'));
  try {
    copyFileSync(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), source);
    return spawnSync(
      join(ROOT, 'node_modules/.bin/biome'),
      ['lint', '--vcs-enabled=false', '--colors=off', path],
      { cwd: dir, encoding: 'utf8' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const AWS_PROBE = `import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';

export const probe = (context: Context) => [QueryCommand, context];
`;

describe('the layout of lib/', () => {
  it('keeps the AWS SDK and aws-lambda out of lib/chat/: the lint fails a file there that imports them', () => {
    const inChat = lintProbe('lib/chat/probe.ts', AWS_PROBE);
    const inStore = lintProbe('lib/store/probe.ts', AWS_PROBE);

    expect(inChat.status, inChat.stdout + inChat.stderr).toBe(1);
    expect(inChat.stdout + inChat.stderr).toContain('no AWS SDK here');
    expect(inChat.stdout + inChat.stderr).toContain('no Lambda types here');
    expect(inStore.status, inStore.stdout + inStore.stderr).toBe(0);
  });

  it('has no loose source files, only its folders', () => {
    const loose = readdirSync(join(ROOT, 'lib'), { withFileTypes: true }).filter((e) => e.isFile());
    const folders = readdirSync(join(ROOT, 'lib'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);

    expect(loose.map((entry) => entry.name)).toEqual([]);
    expect(folders.sort()).toEqual(FOLDERS);
  });

  it(`keeps every source file of lib/ and functions/ within ${MAX_LINES} lines (generated files aside)`, () => {
    const long = [...filesIn('lib'), ...filesIn('functions')]
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => ({
        file,
        lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1,
      }))
      .filter(({ lines }) => lines > MAX_LINES);

    expect(long).toEqual([]);
  });

  it('is mirrored by the unit tests, which import lib/ by its aliases only', () => {
    const units = readdirSync(join(ROOT, 'test/unit'), { withFileTypes: true });
    const tests = filesIn('test').filter((file) => file.endsWith('.ts'));

    expect(units.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
    for (const entry of units) expect(FOLDERS, entry.name).toContain(entry.name);
    for (const file of tests) {
      expect(readFileSync(join(ROOT, file), 'utf8'), file).not.toMatch(/['"](\.\.\/)+lib\//);
    }
  });
});
