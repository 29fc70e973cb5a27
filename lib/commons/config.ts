import * as z from 'zod';
import { ConfigError } from './errors.ts';

/**
 * Settings come from the environment, read and validated once per container (at cold start),
 * one section at a time so that each function needs only the variables its route uses.
 * A missing or invalid variable fails the cold start with a message that names it.
 */
type Env = Record<string, string | undefined>;

const DEFAULT_SYSTEM_PROMPT =
  'You are Leta AI, a helpful personal assistant. Be friendly, concise, and helpful.';

/**
 * Builds a module-level schema when the module loads, marked free of side effects so that the
 * bundler drops every schema a function does not use. zod's builder methods (`.meta()`,
 * `.default()`) are not known to be pure, so without this every function built every schema
 * here at its cold start (about 160 zod objects). esbuild honours the mark only within a file,
 * hence a copy in `lib/api/schemas.ts`.
 */
/* @__NO_SIDE_EFFECTS__ */
function declare<T>(build: () => T): T {
  return build();
}

/** RFC 7518: an HS256 key must be at least as long as the hash (256 bits). */
export const MIN_HS256_SECRET = 32;

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const optionalString = declare(() =>
  z
    .string()
    .optional()
    .transform((value) => (value?.trim() ? value.trim() : undefined)),
);

const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    );

const storeSchema = declare(() =>
  z.object({
    TABLE_NAME: z.string().min(1, 'is required'),
  }),
);

const authSchema = declare(() =>
  z
    .object({
      JWT_SECRET: optionalString,
      JWT_SECRET_ARN: optionalString,
      JWKS_URL: optionalString.pipe(z.url().optional()),
      JWT_ISSUER: optionalString,
      JWT_AUDIENCE: optionalString,
    })
    .refine(
      (env) => [env.JWT_SECRET, env.JWT_SECRET_ARN, env.JWKS_URL].filter(Boolean).length === 1,
      {
        message:
          'set exactly one of JWT_SECRET or JWT_SECRET_ARN (HS256) or JWKS_URL (RS256/ES256)',
        path: ['JWT_SECRET'],
      },
    )
    .refine((env) => !env.JWT_SECRET || env.JWT_SECRET.length >= MIN_HS256_SECRET, {
      message: `must be at least ${MIN_HS256_SECRET} characters`,
      path: ['JWT_SECRET'],
    }),
);

const vaultSchema = declare(() =>
  z.object({
    KMS_KEY_ID: z.string().min(1, 'is required'),
  }),
);

const modelSchema = declare(() =>
  z.object({
    OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
    OPENAI_API_KEY: optionalString,
    OPENAI_API_KEY_SECRET_ARN: optionalString,
    OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
    SYSTEM_PROMPT: z.string().min(1).default(DEFAULT_SYSTEM_PROMPT),
    OPENAI_MAX_TOKENS: int(1000, 1, 128_000),
    OPENAI_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
    OPENAI_TIMEOUT_MS: int(25_000, 1_000, 900_000),
    OPENAI_MAX_RETRIES: int(1, 0, 5),
    /** Models a request may name; default: just OPENAI_MODEL. */
    ALLOWED_MODELS: csv(''),
    /** Tokens for earlier messages plus the new one; default: 16,000 or half the model's window, whichever is smaller. */
    CONTEXT_TOKEN_BUDGET: z.coerce.number().int().min(1).optional(),
    CONTEXT_MAX_MESSAGES: int(100, 0, 10_000),
    /** Seconds a send may run (the function's timeout): how long an idempotency claim holds. */
    SEND_TIMEOUT_SECONDS: int(30, 1, 900),
    /** A conversation's title: its first message (`first-message`), or one the model writes (`model`). */
    AUTO_TITLES: z.enum(['first-message', 'model']).default('first-message'),
    /** A streamed reply fails when the model sends nothing for this long after the call... */
    STREAM_FIRST_TOKEN_TIMEOUT_MS: int(60_000, 1_000, 600_000),
    /** ...or between two pieces once it has started. */
    STREAM_IDLE_TIMEOUT_MS: int(30_000, 1_000, 600_000),
  }),
);

const limitSchema = declare(() =>
  z.object({
    RATE_LIMIT_PER_MINUTE: int(20, 0, 100_000),
    /** Replies one user may stream or follow at once (each holds a function); 0: no cap. */
    MAX_STREAMS_PER_USER: int(10, 0, 10_000),
    DAILY_TOKEN_LIMIT: int(0, 0, 1_000_000_000),
  }),
);

const replySchema = declare(() =>
  z.object({
    /**
     * How often a reply's writer looks for a stop and for followers, and saves what is new while
     * someone follows the reply.
     */
    STREAM_FLUSH_MS: int(100, 20, 10_000),
    /** How often what is new of a reply is saved while nobody follows it (history's freshness). */
    STREAM_SAVE_MS: int(1_000, 20, 60_000),
    /** How often a follower of a reply being written looks for new text. */
    STREAM_POLL_MS: int(100, 20, 10_000),
    /** A follow ends (asking the client to reconnect) after this long with nothing new. */
    STREAM_FOLLOW_IDLE_MS: int(60_000, 1_000, 900_000),
  }),
);

const httpSchema = declare(() =>
  z.object({
    ALLOWED_ORIGINS: csv('*'),
    MAX_MESSAGE_CHARS: int(16_000, 1, 100_000),
    MAX_BODY_BYTES: int(262_144, 1_024, 6_000_000),
  }),
);

export type AuthSettings = z.output<typeof authSchema>;
export type ModelSettings = z.output<typeof modelSchema>;
export type ReplySettings = z.output<typeof replySchema>;

/** The models a request may choose: ALLOWED_MODELS, or just the default model. */
export function allowedModels(settings: ModelSettings): string[] {
  return settings.ALLOWED_MODELS.length > 0 ? settings.ALLOWED_MODELS : [settings.OPENAI_MODEL];
}

function parse<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/* @__NO_SIDE_EFFECTS__ */
function section<T extends z.ZodType>(schema: T): (env?: Env) => z.output<T> {
  let cached: z.output<T> | undefined;
  return (env) => {
    if (env) return parse(schema, env);
    cached ??= parse(schema, process.env);
    return cached;
  };
}

/** DynamoDB table settings. */
export const storeSettings = section(storeSchema);
/** JWT verification settings. */
export const authSettings = section(authSchema);
/** KMS settings for the users' API keys. */
export const vaultSettings = section(vaultSchema);
/** Model (OpenAI-compatible) settings, and how a turn uses the model. */
export const modelSettings = section(modelSchema);
/** Per-user limits on sends and tokens. */
export const limitSettings = section(limitSchema);
/** Replies in flight: how often they are saved, and looked at by their followers. */
export const replySettings = section(replySchema);
/** Request limits and CORS. */
export const httpSettings = section(httpSchema);
