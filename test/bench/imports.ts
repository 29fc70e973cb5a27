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

/**
 * The clients the send route uses, as deployed: DynamoDB, KMS for users' keys, the model, and
 * Secrets Manager, from which every function fetches the JWT secret at its cold start.
 */
const CLIENTS = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import OpenAI from 'openai';
export const clients = [DynamoDBDocumentClient.from(new DynamoDBClient({})), new KMSClient({}), new SecretsManagerClient({}), new OpenAI({ apiKey: 'x' })];
`;

/**
 * The bundles measured, each built the same way: the send bundle, only its clients, and its
 * clients with one of the libraries the send carries besides, so the gap between the first two
 * is shown piece by piece.
 */
export const IMPORTED = {
  send: 'the send bundle',
  clients: 'only its clients (DynamoDB, KMS, Secrets Manager, openai)',
  zod: 'its clients + zod and lib/api/schemas.ts',
  jose: 'its clients + jose (JWT verification, JWKS)',
  powertools: 'its clients + Powertools Logger and Metrics, middy',
} as const;

const SOURCES: Record<Exclude<keyof typeof IMPORTED, 'send'>, string> = {
  clients: CLIENTS,
  zod: `${CLIENTS}export * from './lib/api/schemas.ts';\n`,
  jose: `${CLIENTS}export { createRemoteJWKSet, errors, jwtVerify } from 'jose';\n`,
  powertools: `${CLIENTS}export { logger } from './lib/commons/logger.ts';\nexport * from './lib/commons/metrics.ts';\nexport { default as middy } from '@middy/core';\n`,
};

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
 * Imports each bundle of IMPORTED in fresh processes, alternating, `runs` times each: what the
 * send's code and libraries cost at a cold start over its clients.
 */
export async function coldImports(
  runs: number,
): Promise<Record<keyof typeof IMPORTED, ImportTimes>> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-imports-'));
  try {
    await bundle(entryFor('send-message'), join(dir, 'send.mjs'));
    for (const [name, contents] of Object.entries(SOURCES)) {
      await bundle({ contents }, join(dir, `${name}.mjs`));
    }
    const names = Object.keys(IMPORTED) as (keyof typeof IMPORTED)[];
    const times = Object.fromEntries(
      names.map((name) => [name, { ms: [], rssMiB: [] } as ImportTimes]),
    ) as Record<keyof typeof IMPORTED, ImportTimes>;
    for (let i = 0; i < runs; i++) {
      for (const name of names) {
        const { ms, rssMiB } = importOnce(join(dir, `${name}.mjs`));
        times[name].ms.push(ms);
        times[name].rssMiB.push(rssMiB);
      }
    }
    return times;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
