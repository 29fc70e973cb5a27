import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BUNDLE, entryFor, PROJECT_ROOT, shipRankTables } from '../../infra/bundling.ts';
import { newUser, type TestUser } from '../support/api.ts';

/**
 * The send function as deployed: bundled with the stack's esbuild options into a folder of its
 * own, run in a fresh Node process against the local stack's DynamoDB, KMS and model.
 */
const dirs: string[] = [];
let bare: string;
let shipped: string;

async function bundleInto(withRanks: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-bundle-'));
  dirs.push(dir);
  await build({
    entryPoints: [entryFor('send-message')],
    outfile: join(dir, 'index.mjs'),
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
  if (withRanks) execFileSync('bash', ['-c', shipRankTables(PROJECT_ROOT, dir).join(' && ')]);
  writeFileSync(
    join(dir, 'invoke.mjs'),
    `const { handler } = await import('./index.mjs');
const event = JSON.parse(process.env.EVENT);
const result = await handler(event, { awsRequestId: 'bundle', functionName: 'bundle', getRemainingTimeInMillis: () => 30000 });
console.log('RESULT ' + JSON.stringify({ statusCode: result.statusCode, body: JSON.parse(result.body) }));`,
  );
  return dir;
}

function invoke(dir: string, user: TestUser, message: string, env: Record<string, string> = {}) {
  const event = {
    httpMethod: 'POST',
    resource: '/api/chat/ai/send',
    path: '/api/chat/ai/send',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message }),
    isBase64Encoded: false,
  };
  const output = execFileSync(process.execPath, [join(dir, 'invoke.mjs')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_KMS: inject('kmsEndpoint'),
      OPENAI_BASE_URL: inject('modelBaseUrl'),
      OPENAI_MAX_RETRIES: '0',
      TABLE_NAME: inject('tableName'),
      KMS_KEY_ID: 'alias/ai-chat-history',
      JWT_SECRET: inject('jwtSecret'),
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      EVENT: JSON.stringify(event),
      ...env,
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(/^RESULT (.*)$/m.exec(output)?.[1] ?? 'null');
}

beforeAll(async () => {
  [bare, shipped] = await Promise.all([bundleInto(false), bundleInto(true)]);
}, 60_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the deployed send bundle', () => {
  it('answers a send that needs no token count without the tokenizer tables anywhere in reach', async () => {
    const user = await newUser();

    const first = invoke(bare, user, 'hello');
    const second = invoke(bare, user, 'and again');

    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.body.ai_message).toMatchObject({ status: 'complete' });
  });

  it('loads the tables from beside the bundle only when a count is needed', async () => {
    const user = await newUser();
    const tight = { CONTEXT_TOKEN_BUDGET: '60' };
    invoke(shipped, user, 'a question long enough to need a real token count');

    const withTables = invoke(shipped, user, 'one more question please', tight);
    const withoutTables = invoke(bare, user, 'one more question please', tight);

    expect(withTables.statusCode).toBe(200);
    expect(withoutTables.statusCode).toBe(500);
  });
});
