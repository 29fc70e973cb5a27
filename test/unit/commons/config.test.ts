import { describe, expect, it } from 'vitest';
import {
  allowedModels,
  authSettings,
  httpSettings,
  limitSettings,
  modelSettings,
  replySettings,
  storeSettings,
  vaultSettings,
} from '#commons/config.ts';

describe('settings', () => {
  it('fails with a message naming a missing variable', () => {
    expect(() => storeSettings({})).toThrow(/TABLE_NAME/);
    expect(() => vaultSettings({})).toThrow(/KMS_KEY_ID/);
  });

  it('requires exactly one JWT mode, and an HS256 secret of at least 32 characters', () => {
    expect(() => authSettings({})).toThrow(/exactly one of JWT_SECRET.*JWKS_URL/);
    expect(() =>
      authSettings({ JWT_SECRET: 'x'.repeat(32), JWKS_URL: 'https://idp.example/jwks' }),
    ).toThrow(/exactly one/);
    expect(() => authSettings({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32/);
    expect(() => authSettings({ JWKS_URL: 'not a url' })).toThrow(/JWKS_URL/);
    expect(
      authSettings({ JWKS_URL: 'https://idp.example/jwks', JWT_ISSUER: 'https://idp.example/' }),
    ).toMatchObject({
      JWKS_URL: 'https://idp.example/jwks',
      JWT_ISSUER: 'https://idp.example/',
    });
  });

  it("defaults the model settings to the seed's and rejects values out of range", () => {
    const settings = modelSettings({});

    expect(settings).toMatchObject({
      OPENAI_MAX_TOKENS: 1000,
      OPENAI_TEMPERATURE: 0.7,
      CONTEXT_MAX_MESSAGES: 100,
      SYSTEM_PROMPT: expect.stringContaining('Leta AI'),
    });
    expect(limitSettings({})).toEqual({
      RATE_LIMIT_PER_MINUTE: 20,
      MAX_STREAMS_PER_USER: 10,
      DAILY_TOKEN_LIMIT: 0,
    });
    expect(replySettings({})).toEqual({
      STREAM_FLUSH_MS: 100,
      STREAM_SAVE_MS: 1_000,
      STREAM_POLL_MS: 100,
      STREAM_FOLLOW_IDLE_MS: 60_000,
    });
    expect(settings.OPENAI_TIMEOUT_MS).toBeLessThan(29_000);
    expect(() => modelSettings({ OPENAI_TEMPERATURE: '3' })).toThrow(/OPENAI_TEMPERATURE/);
    expect(() => modelSettings({ OPENAI_MAX_RETRIES: 'many' })).toThrow(/OPENAI_MAX_RETRIES/);
    expect(allowedModels(settings)).toEqual(['gpt-4o-mini']);
    expect(allowedModels(modelSettings({ ALLOWED_MODELS: 'gpt-4o, gpt-4o-mini' }))).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
    ]);
  });

  it('reads the allowed origins as a list and the message limit as a number', () => {
    expect(
      httpSettings({
        ALLOWED_ORIGINS: 'https://a.example, https://b.example',
        MAX_MESSAGE_CHARS: '500',
      }),
    ).toMatchObject({
      ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'],
      MAX_MESSAGE_CHARS: 500,
    });
    expect(httpSettings({}).ALLOWED_ORIGINS).toEqual(['*']);
  });
});
