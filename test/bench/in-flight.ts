import { performance } from 'node:perf_hooks';
import { seqOf } from '#store/message-id.ts';
import { readEvents } from '../support/sse-client.ts';
import type { CapacityProxy, Tally } from './capacity-proxy.ts';

/**
 * What a reply costs while it is written, and how far behind a follower is (issue 23's goals):
 * the writer's write units against the floor (the finished reply written once), a follower's
 * read units per look, and the delay from the model writing a piece to a follower on another
 * stack (another container) seeing it. The writer and the follower run on stacks with proxies
 * of their own, so each one's work is counted apart.
 */
export interface InFlightSetup {
  writer: { url: string; proxy: CapacityProxy };
  follower: { url: string; proxy: CapacityProxy };
  token: string;
  /** Tokens in a text, as the model's encoding counts them. */
  count: (text: string) => number;
  line: (label: string, value: string, goal?: string) => void;
  quick: boolean;
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ??
  Number.NaN;

export async function benchInFlight(setup: InFlightSetup) {
  const { writer, follower, line } = setup;
  console.log(
    '\nA reply while it is written (defaults: a look every 100 ms; a save every 100 ms while followed, 1 s otherwise)',
  );
  const sizes = setup.quick ? [250, 4_000] : [250, 1_000, 4_000, 8_000];
  for (const tokens of sizes) {
    const words = wordsFor(tokens, setup.count);
    for (const followed of [false, true]) {
      writer.proxy.take();
      follower.proxy.take();
      // About 200 pieces a second: the units do not depend on the pace, only the saves do.
      const { reply } = await streamReply(setup, `[[words:${words}:5]]`, followed);
      const written = writer.proxy.take();
      const read = follower.proxy.take();
      const writes = replyWrites(written, reply.seq);
      const saves = writes.filter(
        (c) => c.operation === 'PutItem' || c.kind === 'heartbeat',
      ).length;
      const units = writes.reduce((sum, c) => sum + c.units, 0);
      const floor = Math.ceil((Buffer.byteLength(reply.content, 'utf8') + 400) / 1024);
      line(
        `${reply.tokens.toLocaleString()}-token reply, ${followed ? 'followed' : 'not followed'}: writer`,
        `${units} write units in ${saves} saves (floor ${floor})`,
        `<= saves + 2 x floor = ${saves + 2 * floor}`,
      );
      if (followed) {
        const looks = read.log.filter((c) => c.operation === 'Query');
        const perLook = looks.reduce((sum, c) => sum + c.units, 0) / Math.max(1, looks.length);
        line(
          `  the follower: read units per look for new pieces`,
          `${perLook.toFixed(2)} (${looks.length} looks, ${read.readUnits} read units in all)`,
          'flat from 250 to 8,000 tokens',
        );
      }
    }
  }

  // The lag at the pace of a real model: ~50 pieces a second, for ~1,000 tokens.
  const lags: number[] = [];
  const runs = setup.quick ? 1 : 3;
  for (let i = 0; i < runs; i++) {
    const { lag } = await streamReply(setup, `[[words:${wordsFor(1_000, setup.count)}:20]]`, true);
    lags.push(...lag);
  }
  line(
    'delay from the model writing a piece to a follower seeing it',
    `p50 ${quantile(lags, 0.5).toFixed(0)} ms, p95 ${quantile(lags, 0.95).toFixed(0)} ms (n=${lags.length})`,
    'p50 <= 150 ms, p95 <= 300 ms',
  );
}

/** How many words (`w0 w1 ...`) the test model writes for a reply of about `tokens` tokens. */
function wordsFor(tokens: number, count: (text: string) => number) {
  const text = (n: number) => Array.from({ length: n }, (_, i) => `w${i} `).join('');
  let words = tokens;
  for (let i = 0; i < 4; i++) words = Math.round((words * tokens) / count(text(words)));
  return words;
}

/** Streams a reply from the writer's stack; with `followed`, follows it from the other's. */
async function streamReply(setup: InFlightSetup, message: string, followed: boolean) {
  const { writer, follower, token } = setup;
  const written = new Map<number, number>();
  const lag: number[] = [];
  let following: Promise<unknown> | undefined;
  const seen: { offset: number; at: number }[] = [];
  const answer = await readEvents(
    `${writer.url}/api/chat/ai/stream`,
    {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message, room_id: 'in-flight' }),
    },
    (event) => {
      if (event.event === 'delta' && event.id) written.set(Number(event.id), performance.now());
      if (event.event === 'ai_message_started' && followed) {
        following = readEvents(
          `${follower.url}/api/chat/ai/stream/${event.data.id}`,
          { headers: { Authorization: `Bearer ${token}` } },
          (got) => {
            if (got.event === 'delta' && got.id)
              seen.push({ offset: Number(got.id), at: performance.now() });
            return false;
          },
        );
      }
      return false;
    },
  );
  await following;
  // Each piece the model wrote, against the first follower event that covered it.
  for (const [offset, at] of written) {
    const covered = seen.find((event) => event.offset >= offset);
    if (covered) lag.push(covered.at - at);
  }
  const stored = answer.events.find((event) => event.event === 'ai_message')?.data as {
    id: string;
    content: string;
  };
  return {
    reply: { ...stored, seq: seqOf(stored.id) ?? 0, tokens: setup.count(stored.content) },
    lag,
  };
}

/** The writes of one reply: its pieces, and the updates of its own item (heartbeats, its end). */
function replyWrites(tally: Tally, seq: number) {
  const digits = String(seq).padStart(15, '0');
  return tally.log
    .filter(
      (c) =>
        (c.operation === 'PutItem' && c.sk?.startsWith('PIECE#') && c.sk.includes(`#${digits}#`)) ||
        (c.operation === 'UpdateItem' && c.sk?.startsWith('MSG#') && c.sk.endsWith(`#${digits}`)),
    )
    .map((c, i, all) => ({
      ...c,
      // The last update of the item is the end; the others are promises of life.
      kind:
        c.operation === 'UpdateItem' && i !== all.findLastIndex((x) => x.operation === 'UpdateItem')
          ? 'heartbeat'
          : 'other',
    }));
}
