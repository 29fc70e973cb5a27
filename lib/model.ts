import OpenAI from 'openai';
import type { ModelSettings } from './config.ts';
import { secretString } from './secrets.ts';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Completion {
  content: string;
  /** The model that answered, as the upstream reports it. */
  model: string;
}

/** An OpenAI-compatible chat model. */
export interface ChatModel {
  complete(request: { apiKey: string; messages: ChatTurn[] }): Promise<Completion>;
}

/** The upstream refused the API key (HTTP 401). */
export class ModelKeyRejectedError extends Error {
  constructor(options?: ErrorOptions) {
    super('The model provider rejected the API key', options);
    this.name = 'ModelKeyRejectedError';
  }
}

/** The upstream failed, timed out or answered with nothing usable. */
export class ModelUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}

/**
 * The server-wide fallback key: `OPENAI_API_KEY`, or the Secrets Manager secret named by
 * `OPENAI_API_KEY_SECRET_ARN` (fetched once, starting now), or none.
 */
export function fallbackKey(settings: ModelSettings): () => Promise<string | undefined> {
  const { OPENAI_API_KEY: key, OPENAI_API_KEY_SECRET_ARN: arn } = settings;
  if (key || !arn) return async () => key;
  secretString(arn).catch(() => undefined);
  return () => secretString(arn);
}

/**
 * Calls `/chat/completions` with the official client. One deadline (`OPENAI_TIMEOUT_MS`)
 * bounds the call and all its retries, so a send always answers inside the gateway's timeout.
 */
export class OpenAIChatModel implements ChatModel {
  readonly #settings: ModelSettings;

  constructor(settings: ModelSettings) {
    this.#settings = settings;
  }

  async complete({
    apiKey,
    messages,
  }: {
    apiKey: string;
    messages: ChatTurn[];
  }): Promise<Completion> {
    const s = this.#settings;
    const client = new OpenAI({
      apiKey,
      ...(s.OPENAI_BASE_URL ? { baseURL: s.OPENAI_BASE_URL } : {}),
      timeout: s.OPENAI_TIMEOUT_MS,
      maxRetries: s.OPENAI_MAX_RETRIES,
    });
    try {
      const response = await client.chat.completions.create(
        {
          model: s.OPENAI_MODEL,
          messages,
          max_tokens: s.OPENAI_MAX_TOKENS,
          temperature: s.OPENAI_TEMPERATURE,
        },
        { signal: AbortSignal.timeout(s.OPENAI_TIMEOUT_MS) },
      );
      const content = response.choices[0]?.message?.content;
      if (!content) throw new ModelUnavailableError('The model returned an empty reply');
      return { content, model: response.model || s.OPENAI_MODEL };
    } catch (error) {
      if (error instanceof OpenAI.AuthenticationError)
        throw new ModelKeyRejectedError({ cause: error });
      if (error instanceof ModelUnavailableError) throw error;
      throw new ModelUnavailableError('The model call failed', { cause: error });
    }
  }
}
