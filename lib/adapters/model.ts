import OpenAI from 'openai';
import type { ModelSettings } from '#commons/config.ts';
import { ModelKeyRejectedError, ModelUnavailableError } from '#commons/errors.ts';
import { prefetchSecret } from './secrets.ts';

/** Tokens a model call used, as the upstream reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ModelRequest {
  apiKey: string;
  /** A model from ALLOWED_MODELS. */
  model: string;
  messages: ChatTurn[];
  /** For a stream: how long it may run in all. Default: the model's stream timeout. */
  deadlineMs?: number;
  /** Aborts the call (its owner stopped the reply): the upstream connection is closed. */
  signal?: AbortSignal;
}

export interface Completion {
  content: string;
  /** The model that answered, as the upstream reports it. */
  model: string;
  usage?: TokenUsage;
}

/**
 * One step of a streamed reply: a piece of text, a piece of the model's reasoning (servers that
 * show it stream it beside the text), then the end with the model, usage and finish reason.
 */
export type StreamEvent =
  | { type: 'delta'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'done'; model: string; usage?: TokenUsage; finishReason?: string };

/** An OpenAI-compatible chat model. */
export interface ChatModel {
  complete(request: ModelRequest): Promise<Completion>;
  /** Throws `ModelKeyRejectedError` or `ModelUnavailableError`, possibly after some deltas. */
  stream(request: ModelRequest): AsyncIterable<StreamEvent>;
}

/**
 * The server-wide fallback key: `OPENAI_API_KEY`, or the Secrets Manager secret named by
 * `OPENAI_API_KEY_SECRET_ARN` (fetched once, starting now), or none.
 */
export function fallbackKey(settings: ModelSettings): () => Promise<string | undefined> {
  const { OPENAI_API_KEY: key, OPENAI_API_KEY_SECRET_ARN: arn } = settings;
  if (key || !arn) return async () => key;
  return prefetchSecret(arn);
}

export interface OpenAIChatModelOptions {
  settings: ModelSettings;
  /** Deadline of a streamed call, which may outlast the gateway's 29 s. Default: 10 minutes. */
  streamTimeoutMs?: number;
}

/**
 * Calls `/chat/completions` with the official client. One deadline (`OPENAI_TIMEOUT_MS`)
 * bounds a plain call and all its retries, so a send always answers inside the gateway's timeout.
 */
export class OpenAIChatModel implements ChatModel {
  readonly #settings: ModelSettings;
  readonly #streamTimeoutMs: number;

  constructor({ settings, streamTimeoutMs = 600_000 }: OpenAIChatModelOptions) {
    this.#settings = settings;
    this.#streamTimeoutMs = streamTimeoutMs;
  }

  async complete({ apiKey, model, messages }: ModelRequest): Promise<Completion> {
    const s = this.#settings;
    try {
      const response = await this.#client(apiKey, s.OPENAI_TIMEOUT_MS).chat.completions.create(
        { model, messages, max_tokens: s.OPENAI_MAX_TOKENS, temperature: s.OPENAI_TEMPERATURE },
        { signal: AbortSignal.timeout(s.OPENAI_TIMEOUT_MS) },
      );
      const content = textOf(response.choices[0]?.message?.content);
      if (!content) throw new ModelUnavailableError('The model returned an empty reply');
      return { content, model: response.model || model, usage: usageOf(response.usage) };
    } catch (error) {
      throw classify(error);
    }
  }

  async *stream({
    apiKey,
    model,
    messages,
    deadlineMs,
    signal,
  }: ModelRequest): AsyncIterable<StreamEvent> {
    const s = this.#settings;
    const timeout = Math.min(deadlineMs ?? this.#streamTimeoutMs, this.#streamTimeoutMs);
    // A model that accepts the call and then says nothing must not hold the reply for minutes.
    const watchdog = new AbortController();
    let silence: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const expect = (ms: number, why: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silence = why;
        watchdog.abort();
      }, ms);
    };
    let answeredBy = model;
    let usage: TokenUsage | undefined;
    let finishReason: string | undefined;
    const aborted = AbortSignal.any([
      watchdog.signal,
      AbortSignal.timeout(timeout),
      ...(signal ? [signal] : []),
    ]);
    try {
      expect(s.STREAM_FIRST_TOKEN_TIMEOUT_MS, 'The model did not start answering in time');
      const chunks = await this.#client(apiKey, timeout).chat.completions.create(
        {
          model,
          messages,
          max_tokens: s.OPENAI_MAX_TOKENS,
          temperature: s.OPENAI_TEMPERATURE,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: aborted },
      );
      for await (const chunk of chunks) {
        answeredBy = chunk.model || answeredBy;
        usage = usageOf(chunk.usage) ?? usage;
        const choice = chunk.choices[0];
        finishReason = choice?.finish_reason ?? finishReason;
        const reasoning = reasoningOf(choice?.delta);
        if (reasoning) {
          expect(s.STREAM_IDLE_TIMEOUT_MS, 'The model stopped answering');
          yield { type: 'reasoning', content: reasoning };
        }
        const content = textOf(choice?.delta?.content);
        if (content) {
          // Only text counts as an answer: a role header followed by silence is still silence.
          expect(s.STREAM_IDLE_TIMEOUT_MS, 'The model stopped answering');
          yield { type: 'delta', content };
        }
      }
      // An abort can end the chunks quietly: a reply cut off is never a complete one.
      if (aborted.aborted) throw aborted.reason;
    } catch (error) {
      if (silence) throw new ModelUnavailableError(silence, { cause: error });
      throw classify(error);
    } finally {
      clearTimeout(timer);
    }
    yield { type: 'done', model: answeredBy, usage, ...(finishReason ? { finishReason } : {}) };
  }

  #client(apiKey: string, timeout: number) {
    const s = this.#settings;
    return new OpenAI({
      apiKey,
      ...(s.OPENAI_BASE_URL ? { baseURL: s.OPENAI_BASE_URL } : {}),
      timeout,
      maxRetries: s.OPENAI_MAX_RETRIES,
    });
  }
}

/**
 * The text of a message or delta: a string, or (some OpenAI-compatible servers) an array of
 * parts whose text parts are joined. Anything else is a model failure, never stored.
 */
function textOf(content: unknown): string | undefined {
  if (content === undefined || content === null || typeof content === 'string') {
    return content ?? undefined;
  }
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: unknown; text?: unknown }) =>
        part?.type === 'text' && typeof part.text === 'string' ? part.text : '',
      )
      .join('');
  }
  throw new ModelUnavailableError('The model answered in a form this service cannot read');
}

/**
 * The reasoning in a chunk's delta: OpenAI-compatible servers that show it (DeepSeek, vLLM,
 * OpenRouter, Ollama) call it `reasoning_content` or `reasoning`.
 */
function reasoningOf(delta: unknown): string | undefined {
  const fields = delta as { reasoning_content?: unknown; reasoning?: unknown } | undefined;
  const value = fields?.reasoning_content ?? fields?.reasoning;
  return typeof value === 'string' && value ? value : undefined;
}

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): TokenUsage | undefined {
  if (!usage) return undefined;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
  };
}

function classify(error: unknown): Error {
  if (error instanceof OpenAI.AuthenticationError)
    return new ModelKeyRejectedError({ cause: error });
  if (error instanceof ModelUnavailableError) return error;
  return new ModelUnavailableError('The model call failed', { cause: error });
}
