import { join, resolve } from 'node:path';
import { DEV_JWT_SECRET } from './dev-token.ts';
import { startLocalKms } from './kms-server.ts';
import { checkLeftovers, forgetRun, recordRun } from './leftovers.ts';
import { startOfflineModel } from './offline-model.ts';
import { webClient } from './web-client.ts';

/**
 * `npm run dev`: the whole service on 127.0.0.1 with nothing but Node and Java. DynamoDB Local,
 * the local KMS and the local S3 keep their data under DATA_DIR, so history and files survive a
 * restart. Every setting of the service is honoured; the ones only a deployment has get local
 * defaults here.
 */
const env = process.env;
const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);

const port = Number(env.PORT ?? 3000);
const dataDir = resolve(env.DATA_DIR ?? '.data');
env.AWS_REGION ??= 'us-east-1';
env.AWS_ACCESS_KEY_ID ??= 'local';
env.AWS_SECRET_ACCESS_KEY ??= 'local';
env.TABLE_NAME ??= 'ai-chat-history';
env.KMS_KEY_ID ??= 'alias/ai-chat-history';
env.FILES_BUCKET ??= 'ai-chat-files';
// The metric lines (CloudWatch's embedded format) are for CloudWatch, not for a person reading
// this terminal; POWERTOOLS_METRICS_DISABLED=false prints them.
env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const devSecret = !env.JWT_SECRET && !env.JWT_SECRET_ARN && !env.JWKS_URL;
if (devSecret) env.JWT_SECRET = DEV_JWT_SECRET;

// Modules of lib/ read their settings when they load (lib/commons/metrics.ts builds its Metrics,
// which read POWERTOOLS_METRICS_DISABLED, as it is imported), so whatever reaches lib/ is imported
// only now that the environment above is set; the modules imported statically reach none.
const { ensureTable, startDynamoDbLocal } = await import('./dynamodb-local.ts');
const { loadRoutes, startHttpServer } = await import('./http-server.ts');
// Loading s3rver takes about 0.4 s: begun now, it is done while DynamoDB Local starts.
const localS3 = import('./local-s3.ts');

const runFile = join(dataDir, 'dev-run.json');
/** Whether the record in runFile is this run's (a refused start leaves the other's alone). */
let recorded = false;
const stops: (() => Promise<void>)[] = [];
let stopping = false;
async function stopAll(code: number, why?: string) {
  if (stopping) return;
  stopping = true;
  const failures: string[] = [];
  for (const stop of stops.reverse()) {
    await stop().catch((error: Error) => failures.push(error.message));
  }
  if (failures.length > 0) {
    // The record of the run stays, so that the next start finds what may still run.
    say(`could not stop everything: ${failures.join('; ')}`);
    process.exit(1);
  }
  if (recorded) forgetRun(runFile);
  if (why) say(why);
  process.exit(code);
}
const stopped = 'stopped: the API, the model, S3, KMS and DynamoDB Local';
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void stopAll(0, stopped));
}
// `npm run dev` stopped with SIGTERM (an IDE's stop button, `timeout`) does not pass the signal
// on: when the process that started this one goes away, stop too, rather than serve on alone.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent)
    void stopAll(0, 'stopped: the process that started npm run dev is gone');
}, 1_000).unref();

try {
  // An explicit endpoint (another DynamoDB Local, or a measuring proxy in front of one) is used
  // as it is; otherwise the stack starts its own.
  const external = env.AWS_ENDPOINT_URL_DYNAMODB;
  const inMemory = env.DYNAMODB_IN_MEMORY === 'true';
  const dbPath = external || inMemory ? undefined : join(dataDir, 'dynamodb');
  await checkLeftovers(runFile, dbPath, say);
  // Recorded before DynamoDB Local starts, so that a second start meanwhile is refused rather
  // than taking this run's Java for a leftover.
  recordRun(runFile, { pid: process.pid });
  recorded = true;
  const db = external
    ? { endpoint: external, stop: async () => undefined, pid: undefined }
    : await startDynamoDbLocal({
        dataDir: dbPath,
        ...(env.DYNAMODB_PORT ? { port: Number(env.DYNAMODB_PORT) } : {}),
      });
  stops.push(db.stop);
  recordRun(runFile, { pid: process.pid, javaPid: db.pid });
  await ensureTable(db.endpoint, env.TABLE_NAME);
  env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;

  // Likewise an explicit KMS endpoint (a test's fault proxy in front of a local KMS).
  const kmsAlias = env.KMS_KEY_ID.startsWith('alias/') ? [env.KMS_KEY_ID] : [];
  const kms = env.AWS_ENDPOINT_URL_KMS
    ? { endpoint: env.AWS_ENDPOINT_URL_KMS, close: async () => undefined }
    : await startLocalKms({
        keyFile: join(dataDir, 'kms-keys.json'),
        aliases: kmsAlias,
        port: Number(env.KMS_PORT ?? 0),
      });
  stops.push(kms.close);
  env.AWS_ENDPOINT_URL_KMS = kms.endpoint;

  // Likewise an explicit S3 endpoint; otherwise a local S3 that refuses a wrong signature, size
  // or type as S3 does (local-s3.ts says what it checks), with the files' bucket made at start.
  const s3External = env.AWS_ENDPOINT_URL_S3;
  const s3Data = join(dataDir, 's3');
  const s3 = s3External
    ? {
        endpoint: s3External,
        setCorsOrigins: async () => undefined,
        close: async () => undefined,
      }
    : await (await localS3).startLocalS3({
        directory: s3Data,
        port: Number(env.S3_PORT ?? 0),
        region: env.AWS_REGION,
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        },
        buckets: [env.FILES_BUCKET],
      });
  stops.push(s3.close);
  env.AWS_ENDPOINT_URL_S3 = s3.endpoint;

  if (!env.OPENAI_BASE_URL) {
    const offline = await startOfflineModel(Number(env.OFFLINE_MODEL_PORT ?? 0));
    stops.push(offline.close);
    env.OPENAI_BASE_URL = offline.baseUrl;
    env.OPENAI_API_KEY ??= 'offline';
    say(
      `model: built-in offline responder at ${offline.baseUrl} (set OPENAI_BASE_URL for a real one)`,
    );
  } else {
    say(`model: ${env.OPENAI_BASE_URL}`);
  }

  // Settings are read when the handlers load, so this import comes after the env is complete.
  const { httpSettings } = await import('#commons/config.ts');
  const { buildOpenApi } = await import('#api/openapi.ts');
  const openApi = JSON.stringify(buildOpenApi(process.env.npm_package_version ?? 'local'));
  const http = await startHttpServer({
    routes: await loadRoutes(),
    extras: {
      ...webClient(devSecret ? DEV_JWT_SECRET : undefined),
      '/openapi.json': () => ({
        statusCode: 200,
        headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
        body: openApi,
      }),
    },
    port,
    allowedOrigins: httpSettings().ALLOWED_ORIGINS,
    log: (line) => say(line),
  });
  stops.push(http.close);
  // Browsers PUT and GET files straight to S3, from the web client (whose port is known only
  // now: PORT may be 0) and from the origins the API allows.
  await s3.setCorsOrigins([
    http.url,
    http.url.replace('127.0.0.1', 'localhost'),
    ...httpSettings().ALLOWED_ORIGINS,
  ]);

  const where = external
    ? 'AWS_ENDPOINT_URL_DYNAMODB'
    : inMemory
      ? 'in memory'
      : `data in ${join(dataDir, 'dynamodb')}`;
  say(`DynamoDB Local: ${db.endpoint} (${where})`);
  if (!external) {
    // The engine has no option to bind to 127.0.0.1 alone; say so rather than pretend.
    say(
      `  note: DynamoDB Local listens on every network interface, so its port ${new URL(db.endpoint).port} is reachable from your network unless a firewall blocks it; keep no real data in it`,
    );
  }
  say(`KMS (local): ${kms.endpoint}, key ${env.KMS_KEY_ID}`);
  const s3Where = s3External ? 'AWS_ENDPOINT_URL_S3' : `data in ${s3Data}`;
  say(`S3 (local): ${s3.endpoint}, bucket ${env.FILES_BUCKET} (${s3Where})`);
  if (devSecret)
    say(`JWT: HS256 with the dev secret "${DEV_JWT_SECRET}"; npm run token -- <userId>`);
  say(`web client: ${http.url}/ (the API's reference frontend)`);
  say(`listening on ${http.url}`);
  recordRun(runFile, { pid: process.pid, javaPid: db.pid, url: http.url });
} catch (error) {
  console.error(`[dev] could not start: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll(1);
}
