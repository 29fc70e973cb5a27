import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleReport } from '../../infra/bundling.ts';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { routes } from '../../lib/routes.ts';
import { startDevStack } from '../support/dev-stack.ts';
import { localDocumentClient, seedConversation } from '../support/seed.ts';

/**
 * `npm run bench`: prints numbers, asserts nothing. Bundle sizes per route, then latencies of
 * the local stack over HTTP on 127.0.0.1 (bounded: a fixed number of requests, then it stops).
 */
const HISTORY_MESSAGES = 2_000;
const REPEATS = 40;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};
const summary = (values: number[]) =>
  `p50 ${quantile(values, 0.5).toFixed(1)} ms, p95 ${quantile(values, 0.95).toFixed(1)} ms (n=${values.length})`;

console.log('Bundles (esbuild, as deployed: ESM, minified, AWS SDK bundled)');
for (const route of routes) {
  const report = await bundleReport(route.handler);
  console.log(
    `  ${route.handler.padEnd(16)} ${kb(report.bytes).padStart(11)}  gzip ${kb(report.gzipBytes).padStart(10)}  ${report.packages.length} packages${report.packages.includes('openai') ? ' (openai)' : ''}`,
  );
}

const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
const secret = 'bench-secret-0123456789abcdef0123456789ab';
const stack = await startDevStack({
  DATA_DIR: dataDir,
  JWT_SECRET: secret,
  POWERTOOLS_LOG_LEVEL: 'WARN',
  RATE_LIMIT_PER_MINUTE: '0',
});
try {
  const user = 'bench-user';
  const token = await signDevToken(user, secret);
  const call = async (method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status}`);
    return performance.now() - started;
  };

  console.log('\nLocal stack over HTTP (offline model, DynamoDB Local, local KMS)');
  const sends: number[] = [];
  for (let i = 0; i < REPEATS; i++)
    sends.push(await call('POST', '/api/chat/ai/send', { message: `bench ${i}` }));
  console.log(`  send (store, context, model, store)      ${summary(sends)}`);

  const firstDeltas: number[] = [];
  const wholeStreams: number[] = [];
  for (let i = 0; i < 10; i++) {
    const begun = performance.now();
    const response = await fetch(`${stack.url}/api/chat/ai/stream`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: `stream ${i}` }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (firstDeltas.length === i && text.includes('event: delta'))
        firstDeltas.push(performance.now() - begun);
    }
    wholeStreams.push(performance.now() - begun);
  }
  console.log(`  stream: first delta                      ${summary(firstDeltas)}`);
  console.log(`  stream: whole reply (offline model, ~15 ms per word)  ${summary(wholeStreams)}`);

  const started = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      call('POST', '/api/chat/ai/send', { message: `burst ${i}` }),
    ),
  );
  console.log(
    `  10 concurrent sends                      ${(performance.now() - started).toFixed(0)} ms in all`,
  );

  // Seed a long history straight into DynamoDB Local, then compare the first and last pages.
  const room = 'long';
  await seedConversation(
    localDocumentClient(stack.dynamoEndpoint),
    'ai-chat-history',
    user,
    room,
    HISTORY_MESSAGES,
  );
  const lastPage = HISTORY_MESSAGES / 50;
  for (const page of [1, lastPage / 2, lastPage]) {
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      times.push(
        await call('GET', `/api/chat/ai/history/${user}?room_id=${room}&page=${page}&limit=50`),
      );
    }
    console.log(
      `  history page ${String(page).padEnd(3)} of ${lastPage} (limit 50)        ${summary(times)}`,
    );
  }
  const clears = await call('DELETE', `/api/chat/ai/history/${user}?room_id=${room}`);
  console.log(`  clear ${HISTORY_MESSAGES} messages                      ${clears.toFixed(0)} ms`);
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
