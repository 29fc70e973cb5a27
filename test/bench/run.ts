import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MESSAGE_OVERHEAD_TOKENS, tokenCounter } from '#chat/tokens.ts';
import { bundleReport } from '../../infra/bundling.ts';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { ensureTable, startDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';
import { localDocumentClient, seedConversation } from '../support/seed.ts';
import { readEvents } from '../support/sse-client.ts';
import { startCapacityProxy, type Tally } from './capacity-proxy.ts';
import { coldImports, IMPORTED } from './imports.ts';
import { benchInFlight } from './in-flight.ts';

/**
 * `npm run bench`: prints numbers beside the goals the issues set, asserts nothing. Everything
 * runs on 127.0.0.1 and stops by itself: bundle sizes, cold imports (fresh processes,
 * alternating), then the local stack over HTTP with a proxy in front of DynamoDB Local that
 * counts every call and the capacity units DynamoDB Local reports.
 */
const QUICK = process.argv.includes('--quick');
const IMPORT_RUNS = QUICK ? 5 : 21;
const REPEATS = QUICK ? 10 : 40;
const DEEP_HISTORY = QUICK ? 10_000 : 100_000;
const TABLE = 'ai-chat-history';
const secret = 'bench-secret-0123456789abcdef0123456789ab';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const median = (values: number[]) => quantile(values, 0.5);
function quantile(values: number[], q: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
const ms = (value: number) => `${value.toFixed(1)} ms`;
const summary = (values: number[]) =>
  `p50 ${ms(median(values))}, p95 ${ms(quantile(values, 0.95))} (n=${values.length})`;
const line = (label: string, value: string, goal = '') =>
  console.log(`  ${label.padEnd(58)} ${value}${goal ? `   [goal: ${goal}]` : ''}`);
const work = (t: Tally) =>
  `${t.calls} calls, ${t.units} units (${t.readUnits} read, ${t.writeUnits} write)`;

/** Progress while a long step runs: one updating line on a terminal, a line a quarter otherwise. */
function progress(what: string) {
  const started = performance.now();
  let shown = -1;
  return (done: number, total: number) => {
    const pct = Math.floor((100 * done) / total);
    const secs = ((performance.now() - started) / 1000).toFixed(0);
    const text = `  ... ${what}: ${done.toLocaleString()} of ${total.toLocaleString()} (${pct}%, ${secs} s)`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${text}${done >= total ? '\n' : ''}`);
    } else if (Math.floor(pct / 25) > shown) {
      shown = Math.floor(pct / 25);
      console.log(text);
    }
  };
}

console.log(
  'Bundles (esbuild as deployed: ESM, minified, AWS SDK bundled, tokenizer tables beside)',
);
const routesToShow = (await import('#api/routes.ts')).routes;
for (const route of routesToShow) {
  const report = await bundleReport(route.handler);
  const goal = route.model ? '<= 1,200,000 bytes' : '';
  line(
    route.handler,
    `${report.bytes.toLocaleString()} bytes (${kb(report.bytes)}, gzip ${kb(report.gzipBytes)})`,
    goal,
  );
}

console.log(
  `\nCold import in a fresh Node process (${IMPORT_RUNS} alternating runs each, medians)`,
);
const imports = await coldImports(IMPORT_RUNS);
const clientsMs = median(imports.clients.ms);
for (const [name, label] of Object.entries(IMPORTED) as [keyof typeof IMPORTED, string][]) {
  const { ms: times, rssMiB } = imports[name];
  const over = name === 'clients' ? '' : `, ${(median(times) / clientsMs).toFixed(2)}x its clients`;
  line(label, `${ms(median(times))}, peak ${median(rssMiB).toFixed(1)} MiB${over}`);
}
line(
  'ratio, send to its clients',
  `${(median(imports.send.ms) / clientsMs).toFixed(2)}x`,
  '<= 1.15x',
);

const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
const db = await startDynamoDbLocal({});
await ensureTable(db.endpoint, TABLE);
const proxy = await startCapacityProxy(db.endpoint);
const model = await startFakeModel();
const stacks: DevStack[] = [];
const stackEnv = (extra: Record<string, string> = {}) => ({
  // One DATA_DIR per stack: the local stack refuses a second run from a directory in use.
  DATA_DIR: mkdtempSync(join(dataDir, 'stack-')),
  TABLE_NAME: TABLE,
  AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
  JWT_SECRET: secret,
  OPENAI_BASE_URL: model.baseUrl,
  OPENAI_API_KEY: 'bench-key',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  ...extra,
});
try {
  const stack = await startDevStack(stackEnv());
  stacks.push(stack);
  const token = await signDevToken('bench-user', secret);
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    on = stack,
  ) => {
    const started = performance.now();
    const response = await fetch(`${on.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status}`);
    return { ms: performance.now() - started, json };
  };
  const send = (room: string, message: string, headers: Record<string, string> = {}) =>
    call('POST', '/api/chat/ai/send', { message, room_id: room }, headers);
  const question = (i: number) => `${i} `.padEnd(400, 'lorem ipsum dolor sit amet ');

  console.log('\nDynamoDB work per request (ReturnConsumedCapacity through a proxy)');
  for (let i = 0; i < 10; i++) await send('ten', question(i));
  proxy.take();
  await send('ten', question(10));
  line(
    'send, room of 10 exchanges, 400-character messages',
    work(proxy.take()),
    '<= 7 calls, <= 10 units',
  );
  await send('ten', question(11), { 'Idempotency-Key': 'bench-1' });
  line('the same with Idempotency-Key', work(proxy.take()), '<= 9 calls');
  await send('other', question(12));
  proxy.take();
  await send('ten', question(13));
  line('send that moves its room back to the top of the list', work(proxy.take()));
  await readEvents(`${stack.url}/api/chat/ai/stream`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: question(14), room_id: 'ten' }),
  });
  line('stream (short reply: no saves while it streams)', work(proxy.take()));

  const counter = await tokenCounter('gpt-4o-mini');
  const followerProxy = await startCapacityProxy(db.endpoint);
  const followerStack = await startDevStack(
    stackEnv({ AWS_ENDPOINT_URL_DYNAMODB: followerProxy.endpoint }),
  );
  stacks.push(followerStack);
  await benchInFlight({
    writer: { url: stack.url, proxy },
    follower: { url: followerStack.url, proxy: followerProxy },
    token,
    count: counter,
    line,
    quick: QUICK,
  });
  proxy.take();

  // History at depth: page 1 of a short conversation against page 2,000 of a long one.
  const seed = progress(`seeding ${DEEP_HISTORY.toLocaleString()} messages`);
  const documents = localDocumentClient(db.endpoint);
  await seedConversation(documents, TABLE, 'bench-user', 'short', 100);
  await seedConversation(documents, TABLE, 'bench-user', 'deep', DEEP_HISTORY, undefined, seed);
  const deepPage = DEEP_HISTORY / 50;
  const shallow: number[] = [];
  const deep: number[] = [];
  let shallowWork: Tally | undefined;
  let deepWork: Tally | undefined;
  for (let i = 0; i < REPEATS; i++) {
    proxy.take();
    shallow.push((await call('GET', '/api/chat/ai/history/bench-user?room_id=short&limit=50')).ms);
    shallowWork ??= proxy.take();
    deep.push(
      (await call('GET', `/api/chat/ai/history/bench-user?room_id=deep&limit=50&page=${deepPage}`))
        .ms,
    );
    deepWork ??= proxy.take();
  }
  line(
    'history page 1 of 100 messages (limit 50)',
    `${summary(shallow)}; ${work(shallowWork as Tally)}`,
  );
  line(
    `history page ${deepPage.toLocaleString()} of ${DEEP_HISTORY.toLocaleString()} messages`,
    `${summary(deep)}; ${work(deepWork as Tally)}`,
  );
  line(
    'time ratio, deep to shallow',
    `${(median(deep) / median(shallow)).toFixed(2)}x`,
    'about 1x',
  );

  // Export of the deep conversation: streamed while it is read, so the stack's memory stays flat.
  const rssMiB = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${stack.child.pid}/status`, 'utf8'))?.[1]) /
    1024;
  const rssBefore = rssMiB();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMiB());
  }, 50);
  proxy.take();
  const exportStarted = performance.now();
  const exported = await fetch(`${stack.url}/api/chat/ai/export?format=jsonl&room_id=deep`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  let exportBytes = 0;
  let exportLines = 0;
  const reader = (exported.body as ReadableStream<Uint8Array>).getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    exportBytes += read.value.byteLength;
    for (const byte of read.value) if (byte === 10) exportLines += 1;
  }
  clearInterval(sampler);
  const exportWork = proxy.take();
  line(
    `export ${DEEP_HISTORY.toLocaleString()} messages as JSONL`,
    `${ms(performance.now() - exportStarted)}, ${exportLines.toLocaleString()} lines, ${(exportBytes / 1024 / 1024).toFixed(1)} MiB; ${exportWork.calls} calls, ${exportWork.readUnits} read units; stack memory ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB at most`,
  );
  proxy.take();
  const clearStarted = performance.now();
  const cleared = await call('DELETE', '/api/chat/ai/history/bench-user?room_id=short');
  line(
    'clear 100 messages',
    `${ms(performance.now() - clearStarted)}; ${work(proxy.take())}; deleted_count ${cleared.json.deleted_count}`,
  );

  // Long conversations: what a send reads, and what it sends, with the default budget.
  console.log('\nA send into long conversations (defaults: budget 16,000 tokens, 100 messages)');
  const sizes = QUICK ? [20, 500] : [20, 500, 5_000];
  const firstSends: Record<string, number> = {};
  const contextWork: Record<string, Tally> = {};
  const countStored = { encoding: 'o200k_base', count: counter };
  const cases = [
    ...sizes.map((size) => ({ size, label: `${size.toLocaleString()} messages`, counted: true })),
    {
      size: sizes.at(-1) as number,
      label: `${(sizes.at(-1) as number).toLocaleString()}, no stored counts (worst case)`,
      counted: false,
    },
  ];
  for (const { size, label, counted } of cases) {
    const user = `conv-${size}-${counted}`;
    const userToken = await signDevToken(user, secret);
    const seeding =
      size > 1_000 ? progress(`seeding ${size.toLocaleString()} messages`) : undefined;
    await seedConversation(
      documents,
      TABLE,
      user,
      'c',
      size,
      (i) => question(i),
      seeding,
      counted ? countStored : undefined,
    );
    // A fresh process: the first send pays every cold cost there is.
    const fresh = await startDevStack(stackEnv());
    stacks.push(fresh);
    proxy.take();
    const started = performance.now();
    const response = await fetch(`${fresh.url}/api/chat/ai/send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${userToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'what did we talk about? [[echo]]', room_id: 'c' }),
    });
    firstSends[label] = performance.now() - started;
    contextWork[label] = proxy.take();
    const answer = (await response.json()) as { ai_message: { content: string } };
    const sent = JSON.parse(answer.ai_message.content) as { role: string; content: string }[];
    const tokens = sent
      .filter((m) => m.role !== 'system')
      .reduce((sum, m) => sum + counter(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
    const reads = (contextWork[label] as Tally).log.filter((c) => c.operation === 'Query');
    line(
      label,
      `first send ${ms(firstSends[label] as number)}; ${reads.length} Queries, ${(contextWork[label] as Tally).readUnits} read units; ${sent.length - 2} earlier messages, ${tokens.toLocaleString()} tokens sent`,
      'tokens <= 16,000',
    );
    await fresh.stop();
    stacks.pop();
  }
  const largest = `${(sizes.at(-1) as number).toLocaleString()} messages`;
  const [small, middle] = ['20 messages', '500 messages'];
  const ratio = (a: number | undefined, b: number | undefined) =>
    `${((a ?? 0) / (b ?? 1)).toFixed(2)}x`;
  line(
    `read units, ${largest} vs ${small}`,
    ratio(contextWork[largest]?.readUnits, contextWork[small]?.readUnits),
    '<= 1.5x',
  );
  line(
    `read units, ${largest} vs ${middle}`,
    ratio(contextWork[largest]?.readUnits, contextWork[middle]?.readUnits),
  );
  line(
    `first-send time, ${largest} vs ${small}`,
    ratio(firstSends[largest], firstSends[small]),
    '<= 1.5x',
  );

  console.log('\nCounting tokens in hostile text (bounded pieces)');
  const tokensModule = import.meta.resolve('#chat/tokens.ts');
  const loads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const script = `const t = performance.now(); const { tokenCounter } = await import(${JSON.stringify(tokensModule)}); await tokenCounter('gpt-4o-mini'); console.log(performance.now() - t);`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    loads.push(Number(output.trim()));
  }
  line('loading the o200k encoding in a fresh process', `median ${ms(median(loads))} (n=5)`);
  const count = counter;
  for (const [label, text] of [
    ['16,000 emoji, no spaces (the longest message)', '😀'.repeat(16_000)],
    ['16,000 CJK characters, no punctuation', '漢字仮名交じり文'.repeat(2_000)],
    ['16,000 characters of English', 'The quick brown fox jumps. '.repeat(593)],
  ] as const) {
    const started = performance.now();
    const tokens = count(text);
    line(label, `${ms(performance.now() - started)} for ${tokens.toLocaleString()} tokens`);
  }

  console.log(
    '\nLatency over HTTP (test model, DynamoDB Local; a user per 10 requests, under the rate limit)',
  );
  const sends: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const as = await signDevToken(`latency-${Math.floor(i / 10)}`, secret);
    sends.push(
      (
        await call(
          'POST',
          '/api/chat/ai/send',
          { message: `bench ${i}` },
          { Authorization: `Bearer ${as}` },
        )
      ).ms,
    );
  }
  line('send', summary(sends));
  const firstDeltas: number[] = [];
  for (let i = 0; i < (QUICK ? 5 : 10); i++) {
    const as = await signDevToken('latency-streams', secret);
    const streamed = await readEvents(`${stack.url}/api/chat/ai/stream`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${as}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: `stream ${i}`, room_id: 'latency' }),
    });
    const delta = streamed.events.find((e) => e.event === 'delta');
    if (delta) firstDeltas.push(delta.at);
  }
  line('stream: first delta', summary(firstDeltas));
  for (const [label, users] of [
    ['10 concurrent sends, 10 users', 10],
    ['10 concurrent sends, one user (its account item contended)', 1],
  ] as const) {
    const tokens = await Promise.all(
      Array.from({ length: users }, (_, i) => signDevToken(`burst-${users}-${i}`, secret)),
    );
    const burst = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(
          'POST',
          '/api/chat/ai/send',
          { message: `burst ${i}` },
          { Authorization: `Bearer ${tokens[i % users]}` },
        ),
      ),
    );
    line(label, `${ms(performance.now() - burst)} in all`);
  }
} finally {
  for (const stack of stacks) await stack.stop();
  await model.close();
  await proxy.close();
  await db.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
