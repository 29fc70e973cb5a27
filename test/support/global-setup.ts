import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevStack } from './dev-stack.ts';
import { startFakeModel } from './fake-model.ts';

declare module 'vitest' {
  interface ProvidedContext {
    apiUrl: string;
    dynamoEndpoint: string;
    kmsEndpoint: string;
    s3Endpoint: string;
    modelBaseUrl: string;
    jwtSecret: string;
    tableName: string;
    logFile: string;
  }
}

/** Small, so that context-fitting shows after a few messages. */
export const CONTEXT_TOKEN_BUDGET = 300;
export const TEST_JWT_SECRET = 'integration-test-secret-0123456789abcdef0123';
const TABLE_NAME = 'chat-history-test';

/** One local stack (as `npm run dev` starts it) for the integration tests, with a fake model. */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-it-'));
  const model = await startFakeModel();
  const stack = await startDevStack({
    DATA_DIR: dataDir,
    // Three times faster than on disk; restart.test.ts checks what survives a restart.
    DYNAMODB_IN_MEMORY: 'true',
    JWT_SECRET: TEST_JWT_SECRET,
    TABLE_NAME,
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_MAX_RETRIES: '0',
    OPENAI_API_KEY: '',
    ALLOWED_ORIGINS: 'http://app.example',
    ALLOWED_MODELS: 'gpt-4o-mini,test-model-b',
    CONTEXT_TOKEN_BUDGET: String(CONTEXT_TOKEN_BUDGET),
    // The limits have their own stack (limits.test.ts); here they stay out of the way.
    RATE_LIMIT_PER_MINUTE: '10000',
  });
  const logFile = join(dataDir, 'stack.log');
  project.provide('apiUrl', stack.url);
  project.provide('dynamoEndpoint', stack.dynamoEndpoint);
  project.provide('kmsEndpoint', stack.kmsEndpoint);
  project.provide('s3Endpoint', stack.s3Endpoint);
  project.provide('modelBaseUrl', model.baseUrl);
  project.provide('jwtSecret', TEST_JWT_SECRET);
  project.provide('tableName', TABLE_NAME);
  project.provide('logFile', logFile);
  const flush = setInterval(() => writeFileSync(logFile, stack.output()), 200);

  return async () => {
    clearInterval(flush);
    await stack.stop();
    await model.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
