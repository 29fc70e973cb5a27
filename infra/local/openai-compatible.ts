import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeServer, listenOnLoopback, readBody } from './net.ts';

/** What a client sent to `/v1/chat/completions`. */
export interface CompletionRequest {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens?: number;
  temperature?: number;
  stream?: boolean;
  /** The bearer token (the API key) the client sent. */
  apiKey: string;
}

/** A reply, written in `chunks` when streaming; or an HTTP error. */
export type CompletionResult =
  | {
      content: string;
      /** The pieces a streamed reply is sent in. Default: the whole content at once. */
      chunks?: string[];
      /** Pause before each piece. Default: none. */
      chunkDelayMs?: number;
      /** Drop the connection after this many pieces (to test a failing upstream). */
      dropAfterChunks?: number;
      /** Go silent after this many pieces, keeping the connection open (a hung upstream). */
      hangAfterChunks?: number;
      /** Send each piece as an array of text parts, or as a number (odd servers). */
      shape?: 'parts' | 'number';
      /** The model name to answer with. Default: the one asked for. */
      model?: string;
      /** Reasoning streamed before the text, a chunk each, as reasoning models' servers do. */
      reasoning?: string[];
      /** The delta field reasoning travels in (servers differ). Default: `reasoning_content`. */
      reasoningField?: 'reasoning_content' | 'reasoning';
    }
  | { status: number; error: string };

export type Responder = (
  request: CompletionRequest,
) => CompletionResult | Promise<CompletionResult>;

/** What a streamed answer got to before its connection closed (for tests). */
export interface StreamClosed {
  request: CompletionRequest;
  /** Pieces written before the connection closed. */
  sent: string[];
  /** The client closed it before the answer was complete. */
  early: boolean;
  at: number;
}

export interface OpenAICompatibleServer {
  /** Base URL for the openai client (`.../v1`). */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * A minimal OpenAI-compatible server (`POST /v1/chat/completions`, plain and streamed) around a
 * responder function: the local stack's offline model and the tests' model double.
 */
export async function startOpenAICompatible(
  respond: Responder,
  port = 0,
  onStreamClosed?: (closed: StreamClosed) => void,
): Promise<OpenAICompatibleServer> {
  const server = createServer((req, res) => {
    handle(respond, req, res, onStreamClosed).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'responder failed');
      else res.destroy();
    });
  });
  const bound = await listenOnLoopback(server, {
    port,
    what: 'the offline model',
    variable: 'OFFLINE_MODEL_PORT',
  });
  return { baseUrl: `http://127.0.0.1:${bound}/v1`, close: () => closeServer(server) };
}

async function handle(
  respond: Responder,
  req: IncomingMessage,
  res: ServerResponse,
  onStreamClosed?: (closed: StreamClosed) => void,
) {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat/completions')) {
    sendError(res, 404, `No route for ${req.method} ${req.url}`);
    return;
  }
  const body = JSON.parse((await readBody(req)) ?? '{}') as Omit<CompletionRequest, 'apiKey'>;
  const apiKey = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
  const result = await respond({ ...body, apiKey });
  if ('status' in result) {
    sendError(res, result.status, result.error);
    return;
  }
  const id = `chatcmpl-${randomUUID()}`;
  const model = result.model ?? body.model;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: body.messages.reduce((sum, m) => sum + Math.ceil(m.content.length / 4), 0),
    completion_tokens: Math.ceil(result.content.length / 4),
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if (!body.stream) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: result.content },
            finish_reason: 'stop',
          },
        ],
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const written: string[] = [];
  res.once('close', () =>
    onStreamClosed?.({
      request: { ...body, apiKey },
      sent: written,
      early: !res.writableFinished,
      at: Date.now(),
    }),
  );
  const event = (delta: Record<string, unknown>, finish: string | null, extra = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`,
    );
  event({ role: 'assistant', content: '' }, null);
  for (const thought of result.reasoning ?? []) {
    if (result.chunkDelayMs) await sleep(result.chunkDelayMs);
    if (res.destroyed) return;
    event({ [result.reasoningField ?? 'reasoning_content']: thought }, null);
  }
  let sent = 0;
  for (const piece of result.chunks ?? [result.content]) {
    if (sent === result.hangAfterChunks) {
      await new Promise((done) => res.once('close', done));
      return;
    }
    if (result.chunkDelayMs) await sleep(result.chunkDelayMs);
    // A client that hung up (a stopped reply) gets nothing more.
    if (res.destroyed) return;
    if (sent === result.dropAfterChunks) {
      // Let what was written reach the client before the connection drops.
      await sleep(100);
      res.destroy();
      return;
    }
    const content =
      result.shape === 'parts'
        ? [{ type: 'text', text: piece }]
        : result.shape === 'number'
          ? 42
          : piece;
    event({ content }, null);
    written.push(piece);
    sent += 1;
  }
  event({}, 'stop', { usage });
  res.end('data: [DONE]\n\n');
}

function sendError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: status } }));
}
