import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

/**
 * The post-deploy check: `npm run smoke -- --url <ApiUrl output> --token <JWT>` (or
 * SMOKE_URL and SMOKE_TOKEN). It uses the API as a frontend does, end to end, in a
 * conversation of its own (a fresh room id), prints a line per step with its latency, stops at
 * the first failure, and always deletes the conversation it made. It needs nothing but `fetch`.
 *
 * The token's user needs a stored API key, or the deployment a fallback key: the check never
 * stores or deletes a key (that would overwrite or remove the user's own).
 */
export interface SmokeOptions {
  /** The API's base URL (the stack's `ApiUrl` output, with its stage). */
  url: string;
  /** A bearer token of the user the check runs as. */
  token: string;
  /**
   * The message whose reply the stop step stops while it is written. Default: a request for a
   * reply long enough that a stop arrives before its end.
   */
  stopMessage?: string;
  /** Longest a request may take before its step fails. Default: 120 s. */
  timeoutMs?: number;
  /** Where each line goes. Default: stdout. */
  print?: (line: string) => void;
}

const DEFAULT_STOP_MESSAGE =
  'Smoke test: write the numbers from 1 to 300 in words, one per line, and nothing else.';

/** A failed step, with what the API said. */
class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, checked field by field
  body: any;
  text: string;
}

interface SseEvent {
  event: string;
  id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, checked field by field
  data: any;
}

/** Runs the check; resolves to true when every step passed (and the cleanup did). */
export async function smoke(options: SmokeOptions): Promise<boolean> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const started = performance.now();
  const userId = subjectOf(options.token);
  if (!userId) {
    print(
      `FAIL  ${'token'.padEnd(14)} ${ms(started)}  the token is not a JWT with a subject (sub)`,
    );
    return false;
  }
  const room = `smoke-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const roomQuery = `room_id=${encodeURIComponent(room)}`;
  const historyPath = `api/chat/ai/history/${encodeURIComponent(userId)}`;
  const auth = { Authorization: `Bearer ${options.token}` };
  let passed = 0;

  const step = async (name: string, run: () => Promise<string>) => {
    const at = performance.now();
    try {
      const detail = await run();
      print(`ok    ${name.padEnd(14)} ${ms(at)}  ${detail}`);
      passed += 1;
    } catch (error) {
      print(`FAIL  ${name.padEnd(14)} ${ms(at)}  ${reasonOf(error)}`);
      throw new StepError(name);
    }
  };

  const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(new URL(path, base), {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (an export, an event stream read whole): `text` has it.
    }
    return { status: response.status, headers: response.headers, body: json, text };
  };

  /** Expects a 200 `{ success: true }`; otherwise fails with the status and the API's error. */
  const ok = (answer: Answer, what: string) => {
    if (answer.status === 200 && answer.body?.success === true) return answer.body;
    const error = answer.body?.error ?? answer.text.slice(0, 200);
    throw new StepError(`${what} answered ${answer.status}: ${error || '(no body)'}`);
  };

  let allPassed = true;
  // From the first send on, the conversation may exist and must go.
  let wrote = false;
  try {
    await step('health', async () => {
      const answer = await call('GET', 'health');
      return `status ${ok(answer, 'GET /health').status}`;
    });
    await step('key status', async () => {
      const body = ok(await call('GET', 'api/chat/ai/api-key'), 'GET /api/chat/ai/api-key');
      return body.has_key ? 'a key is stored' : 'no key stored (the fallback key must answer)';
    });
    await step('send', async () => {
      wrote = true;
      const body = ok(
        await call('POST', 'api/chat/ai/send', {
          message: 'Smoke test: answer in one short sentence.',
          room_id: room,
        }),
        'POST /api/chat/ai/send',
      );
      expect(body.user_message?.room_id === room, 'the question was stored in another room');
      expect(body.ai_message?.status === 'complete', `the reply is ${body.ai_message?.status}`);
      expect(Boolean(body.ai_message?.content), 'the reply is empty');
      return `reply of ${codePoints(body.ai_message.content)} characters from ${body.ai_message.ai_model}`;
    });

    let reply = { id: '', content: '' };
    await step('stream', async () => {
      const events = await stream('POST', 'api/chat/ai/stream', 'POST /api/chat/ai/stream', {
        message: 'Smoke test: count from 1 to 5.',
        room_id: room,
      });
      const started = events.find((e) => e.event === 'ai_message_started');
      const end = events.find((e) => e.event === 'ai_message');
      expect(Boolean(started), 'no ai_message_started event');
      expect(
        end?.data.status === 'complete',
        `the reply ended ${end?.data.status ?? 'without ai_message'}`,
      );
      const written = deltasOf(events);
      expect(written === end?.data.content, 'the deltas do not add up to the stored reply');
      reply = { id: end?.data.id, content: end?.data.content };
      return `${events.filter((e) => e.event === 'delta').length} deltas, ${codePoints(written)} characters`;
    });
    await step('follow', async () => {
      const half = Math.floor(codePoints(reply.content) / 2);
      const events = await stream(
        'GET',
        `api/chat/ai/stream/${encodeURIComponent(reply.id)}?offset=${half}`,
        'GET /api/chat/ai/stream/{messageId}',
      );
      const end = events.find((e) => e.event === 'ai_message');
      expect(end?.data.id === reply.id, 'the follow did not end with the reply');
      const rest = deltasOf(events);
      expect(
        rest === '' || rest === Array.from(reply.content).slice(half).join(''),
        `from offset ${half} the follow sent text the reply does not have there`,
      );
      return `resumed at ${half} of ${codePoints(reply.content)} characters`;
    });
    await step('stop', async () => {
      let stopping: Promise<Answer> | undefined;
      const events = await stream(
        'POST',
        'api/chat/ai/stream',
        'POST /api/chat/ai/stream',
        { message: options.stopMessage ?? DEFAULT_STOP_MESSAGE, room_id: room },
        (event) => {
          // Stopped from beside the stream, as a second tab would; the stream reads on.
          if (event.event === 'ai_message_started' && !stopping) {
            stopping = call('POST', `api/chat/ai/stream/${encodeURIComponent(event.data.id)}/stop`);
          }
        },
      );
      if (!stopping) throw new StepError('the stream sent no ai_message_started to stop');
      const end = events.find((e) => e.event === 'ai_message');
      const body = ok(await stopping, 'POST /api/chat/ai/stream/{messageId}/stop');
      expect(
        body.message?.status === end?.data.status,
        'the stop and the stream disagree on how the reply ended',
      );
      if (body.stopped) {
        expect(body.message.status === 'stopped', `a stopped reply is ${body.message.status}`);
        return `stopped while being written, after ${codePoints(body.message.content)} characters`;
      }
      return `the reply had already ended (${body.message?.status}) when the stop arrived`;
    });

    let total = 0;
    let ids: string[] = [];
    await step('history pages', async () => {
      let cursor: string | undefined;
      let pages = 0;
      const seen: string[] = [];
      do {
        const query = `${roomQuery}&order=desc&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const body = ok(
          await call('GET', `${historyPath}?${query}`),
          'GET /api/chat/ai/history/{userId}',
        );
        pages += 1;
        total = body.pagination.total;
        seen.push(...body.messages.map((m: { id: string }) => m.id));
        cursor = body.pagination.next_cursor ?? undefined;
      } while (cursor && pages < 50);
      expect(total === 6, `the conversation holds ${total} messages, not the 6 this check wrote`);
      expect(
        seen.length === total && new Set(seen).size === total,
        'the pages skipped or repeated a message',
      );
      ids = seen;
      return `${total} messages in ${pages} pages, newest first`;
    });
    await step('rooms', async () => {
      const list = ok(await call('GET', 'api/chat/ai/rooms?limit=100'), 'GET /api/chat/ai/rooms');
      expect(
        list.rooms.some((r: { room_id: string }) => r.room_id === room),
        'the conversation is not in the rooms list',
      );
      const one = ok(
        await call('GET', `api/chat/ai/rooms/${encodeURIComponent(room)}`),
        'GET /api/chat/ai/rooms/{roomId}',
      );
      expect(
        one.room.message_count === total,
        `the room counts ${one.room.message_count} messages`,
      );
      return `listed, titled ${JSON.stringify(one.room.title)}`;
    });
    await step('export', async () => {
      const answer = await call('GET', `api/chat/ai/export?format=jsonl&${roomQuery}`);
      if (answer.status !== 200)
        throw new StepError(
          `GET /api/chat/ai/export answered ${answer.status}: ${answer.body?.error ?? answer.text.slice(0, 200)}`,
        );
      expect(
        /attachment/.test(answer.headers.get('content-disposition') ?? ''),
        'the export is not a download',
      );
      const lines = answer.text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      expect(lines.length === total, `the export holds ${lines.length} messages`);
      expect(
        lines.every(
          (m: { id: string; room_id: string }) => m.room_id === room && ids.includes(m.id),
        ),
        'the export holds messages history does not show',
      );
      return `${lines.length} messages, ${answer.text.length} bytes of JSONL`;
    });
    await step('clear', async () => {
      const cleared = ok(
        await call('DELETE', `${historyPath}?${roomQuery}`),
        'DELETE /api/chat/ai/history/{userId}',
      );
      expect(
        cleared.deleted_count === total,
        `the clear deleted ${cleared.deleted_count} messages`,
      );
      const after = ok(
        await call('GET', `${historyPath}?${roomQuery}`),
        'GET /api/chat/ai/history/{userId}',
      );
      expect(
        after.pagination.total === 0,
        `history still holds ${after.pagination.total} messages`,
      );
      return `${cleared.deleted_count} messages cleared, history empty`;
    });
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    allPassed = false;
  }
  // Whatever passed or failed, the conversation goes (404: the send never stored it).
  if (wrote) {
    const at = performance.now();
    try {
      const answer = await call('DELETE', `api/chat/ai/rooms/${encodeURIComponent(room)}`);
      if (answer.status !== 404) ok(answer, 'DELETE /api/chat/ai/rooms/{roomId}');
      const done = answer.status === 404 ? 'was never stored' : 'deleted';
      print(`ok    ${'cleanup'.padEnd(14)} ${ms(at)}  room ${room} ${done}`);
    } catch (error) {
      print(
        `FAIL  ${'cleanup'.padEnd(14)} ${ms(at)}  ${reasonOf(error)}; delete room ${room} by hand`,
      );
      allPassed = false;
    }
  }
  print(
    allPassed
      ? `smoke: all ${passed} steps passed against ${base} in ${ms(started).trim()}`
      : `smoke: failed after ${passed} steps against ${base}`,
  );
  return allPassed;

  /** A response's server-sent events, read to their end; `onEvent` sees each as it comes. */
  async function stream(
    method: string,
    path: string,
    what: string,
    body?: unknown,
    onEvent: (event: SseEvent) => void = () => undefined,
  ): Promise<SseEvent[]> {
    const response = await fetch(new URL(path, base), {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
      const text = await response.text();
      let error = text.slice(0, 200) || '(no body)';
      try {
        error = JSON.parse(text).error ?? error;
      } catch {
        // Not the API's JSON: the text says what it is.
      }
      throw new StepError(`${what} answered ${response.status} without an event stream: ${error}`);
    }
    const events: SseEvent[] = [];
    for await (const event of readSse(response.body as ReadableStream<Uint8Array>)) {
      events.push(event);
      onEvent(event);
    }
    return events;
  }
}

/** What went wrong, with the cause `fetch` hides behind "fetch failed" (refused, DNS, TLS). */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function expect(condition: boolean, why: string): asserts condition {
  if (!condition) throw new StepError(why);
}

/**
 * Server-sent events as the spec parses them: lines end at CR, LF or CRLF (never at U+2028,
 * which a reply may hold), `data` lines join with LF, a blank line ends an event.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = { name: '', id: undefined as string | undefined, data: [] as string[] };
  const lines = async function* () {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let match = /\r\n|\r|\n/.exec(buffer);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      while (match && !(match[0] === '\r' && match.index === buffer.length - 1)) {
        yield buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        match = /\r\n|\r|\n/.exec(buffer);
      }
    }
    buffer += decoder.decode();
    if (buffer) yield* buffer.split(/\r\n|\r|\n/);
  };
  for await (const line of lines()) {
    if (line === '') {
      if (event.data.length > 0) {
        yield {
          event: event.name || 'message',
          ...(event.id === undefined ? {} : { id: event.id }),
          data: JSON.parse(event.data.join('\n')),
        };
      }
      event = { name: '', id: undefined, data: [] };
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.name = value;
    else if (field === 'data') event.data.push(value);
    else if (field === 'id') event.id = value;
  }
}

/** The token's `sub`, read without verifying it (the API verifies it). */
function subjectOf(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof sub === 'string' || typeof sub === 'number' ? String(sub) : undefined;
  } catch {
    return undefined;
  }
}

const deltasOf = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'delta')
    .map((e) => e.data.content)
    .join('');
const codePoints = (text: string) => Array.from(text ?? '').length;
const ms = (since: number) => `${String(Math.round(performance.now() - since)).padStart(6)} ms`;

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'stop-message': { type: 'string' },
    },
  });
  const url = values.url ?? process.env.SMOKE_URL;
  const token = values.token ?? process.env.SMOKE_TOKEN;
  if (!url || !token) {
    console.error(
      'usage: npm run smoke -- --url <ApiUrl output> --token <JWT>   (or SMOKE_URL, SMOKE_TOKEN)',
    );
    process.exit(2);
  }
  const stopMessage = values['stop-message'] ?? process.env.SMOKE_STOP_MESSAGE;
  process.exitCode = (await smoke({ url, token, ...(stopMessage ? { stopMessage } : {}) })) ? 0 : 1;
}
