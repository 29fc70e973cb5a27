import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE, entryFor, PROJECT_ROOT } from '../../infra/bundling.ts';

export interface ImportTimes {
  /** Milliseconds to import the module in a fresh process, one per run. */
  ms: number[];
  /** Peak resident memory of those processes, MiB. */
  rssMiB: number[];
}

/** A bundle holding only the clients the send route uses, built the same way. */
const CLIENTS_ONLY = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import OpenAI from 'openai';
export const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new KMSClient({}), new OpenAI({ apiKey: 'x' })];
`;

async function bundle(entry: string | { contents: string }, outfile: string) {
  await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: PROJECT_ROOT, loader: 'js' as const } }),
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE.target,
    minify: true,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    external: [...BUNDLE.external],
    logLevel: 'silent',
  });
}

function importOnce(file: string): { ms: number; rssMiB: number } {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS }));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'bench',
      KMS_KEY_ID: 'alias/bench',
      JWT_SECRET: 'bench-secret-0123456789abcdef0123456789ab',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { ms, rss } = JSON.parse(output.trim().split('\n').at(-1) as string);
  return { ms, rssMiB: rss / 1024 };
}

/**
 * Imports the send bundle (as deployed) and a bundle of only its clients in fresh processes,
 * alternating, `runs` times each: what the tokenizer and the rest cost at a cold start.
 */
export async function coldImports(
  runs: number,
): Promise<{ send: ImportTimes; clients: ImportTimes }> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-imports-'));
  try {
    await bundle(entryFor('send-message'), join(dir, 'send.mjs'));
    await bundle({ contents: CLIENTS_ONLY }, join(dir, 'clients.mjs'));
    const send: ImportTimes = { ms: [], rssMiB: [] };
    const clients: ImportTimes = { ms: [], rssMiB: [] };
    for (let i = 0; i < runs; i++) {
      for (const [file, into] of [
        ['send.mjs', send],
        ['clients.mjs', clients],
      ] as const) {
        const { ms, rssMiB } = importOnce(join(dir, file));
        into.ms.push(ms);
        into.rssMiB.push(rssMiB);
      }
    }
    return { send, clients };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
