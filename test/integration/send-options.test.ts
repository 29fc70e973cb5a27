import { describe, expect, it } from 'vitest';
import { call, history, newUser, send } from '../support/api.ts';

describe('model choice and usage', () => {
  it('uses an allowed model the request names, and stores the usage the upstream reports', async () => {
    const user = await newUser();

    const sent = await send(user, 'hello', { model: 'test-model-b' });

    expect(sent.status).toBe(200);
    expect(sent.body.ai_message.ai_model).toBe('test-model-b');
    expect(sent.body.ai_message.usage).toEqual({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
    });
    const page = await history(user);
    expect(page.body.messages[1].usage).toEqual(sent.body.ai_message.usage);
  });

  it('answers 400 to a model that is not allowed, storing nothing', async () => {
    const user = await newUser();

    const sent = await send(user, 'hello', { model: 'gpt-9-ultra' });

    expect(sent.status).toBe(400);
    expect(sent.body.error).toBe('model must be one of: gpt-4o-mini, test-model-b');
    expect((await history(user)).body.pagination.total).toBe(0);
  });
});

describe('Idempotency-Key', () => {
  const sendWithKey = (user: { token: string }, key: string, message: string) =>
    call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message },
      headers: { 'Idempotency-Key': key },
    });

  it('answers a retry with the first result and stores nothing new', async () => {
    const user = await newUser();

    const first = await sendWithKey(user, 'retry-1', 'only once please');
    const again = await sendWithKey(user, 'retry-1', 'only once please');

    expect(again.status).toBe(200);
    expect(again.body.user_message.id).toBe(first.body.user_message.id);
    expect(again.body.ai_message.id).toBe(first.body.ai_message.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await history(user)).body.pagination.total).toBe(2);
  });

  it('refuses the same key with a different body (422), and keeps keys per user', async () => {
    const user = await newUser();
    const other = await newUser();
    await sendWithKey(user, 'shared-key', 'first');

    const changed = await sendWithKey(user, 'shared-key', 'second');
    const otherUser = await sendWithKey(other, 'shared-key', 'first');

    expect(changed).toMatchObject({
      status: 422,
      body: { success: false, error: expect.stringMatching(/different request/) },
    });
    expect(otherUser.status).toBe(200);
    expect(otherUser.headers.get('idempotent-replayed')).toBeNull();
  });

  it('runs again after a request that failed, and refuses a malformed key', async () => {
    const user = await newUser({ withKey: false });
    const failed = await sendWithKey(user, 'after-fix', 'hello');
    await call('PUT', '/api/chat/ai/api-key', {
      token: user.token,
      body: { api_key: 'sk-now-i-have-one' },
    });

    const retried = await sendWithKey(user, 'after-fix', 'hello');
    const malformed = await sendWithKey(user, 'has spaces in it', 'hello');

    expect(failed.status).toBe(400);
    expect(retried.status).toBe(200);
    expect(malformed).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/Idempotency-Key/) },
    });
  });
});
