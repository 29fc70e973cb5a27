import { describe, expect, it } from 'vitest';
import { prepareTurn } from '#chat/prepare.ts';
import { writeReply } from '#chat/reply-writer.ts';
import { BAD_KEY_MESSAGE, NO_KEY_MESSAGE, UPSTREAM_FAILED_REPLY } from '#chat/wording.ts';
import { TooManyRequestsError } from '#commons/errors.ts';
import { CountingLimits, memoryDeps, ScriptedModel, testSettings } from '../../support/fakes.ts';

/** A send's dependencies in memory: user-1 has a key, and the model answers `script`. */
async function setUp(
  options: { script?: string[]; fallback?: string; env?: Record<string, string> } = {},
) {
  const model = new ScriptedModel(options.script ?? ['an answer']);
  const limits = new CountingLimits();
  const { deps, conversations, replies, accounts } = await memoryDeps({
    model,
    limits,
    settings: testSettings({ SYSTEM_PROMPT: 'Be brief.', ...options.env }),
    fallbackKey: async () => options.fallback,
  });
  /** A whole send: prepare, then write the reply. */
  const send = async (userId: string, content: string, roomId = 'default') => {
    const turn = await prepareTurn(deps, { userId, roomId, content }, Date.now() + 30_000);
    return { turn, written: await writeReply(deps, turn) };
  };
  return { deps, conversations, replies, accounts, model, limits, send };
}

describe('a send, through the interfaces', () => {
  it('stores the question and an empty streaming reply before the model is called', async () => {
    const { deps, conversations } = await setUp();

    const turn = await prepareTurn(
      deps,
      { userId: 'user-1', roomId: 'default', content: 'hello' },
      Date.now() + 30_000,
    );

    expect(conversations.messages.map((m) => [m.seq, m.messageType, m.status])).toEqual([
      [1, 'user', 'complete'],
      [2, 'ai', 'streaming'],
    ]);
    expect(turn).toMatchObject({ apiKey: 'sk-user-1', model: 'gpt-4o-mini' });
    expect(turn.opensConversation).toBe(true);
    expect(turn.ai.staleAfter).toBeGreaterThan(Date.now());
  });

  it('asks the model with the system prompt, the earlier exchanges and the question, leaving out failed replies', async () => {
    const { send, model } = await setUp();
    await send('user-1', 'first');
    const { turn } = await send('user-1', 'second');

    const third = await send('user-1', 'third');

    expect(third.turn.prompt).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: 'second' },
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: 'third' },
    ]);
    expect(turn.opensConversation).toBe(false);
    // The model is called with the user's own key and the model asked for.
    expect(model.requests.at(-1)).toMatchObject({ apiKey: 'sk-user-1', model: 'gpt-4o-mini' });
  });

  it('leaves a reply that failed out of the next context, but keeps its question', async () => {
    const { deps, conversations, replies } = await setUp();
    const broken = { ...deps, model: new ScriptedModel([]) };
    const failed = await prepareTurn(
      broken,
      { userId: 'user-1', roomId: 'default', content: 'broken' },
      Date.now() + 30_000,
    );
    await writeReply(broken, failed);
    expect(replies.byId.get(failed.ai.id)).toMatchObject({
      status: 'error',
      content: UPSTREAM_FAILED_REPLY,
    });

    const next = await prepareTurn(
      deps,
      { userId: 'user-1', roomId: 'default', content: 'again' },
      Date.now() + 30_000,
    );

    expect(next.prompt.map((t) => t.content)).toEqual(['Be brief.', 'broken', 'again']);
    expect(conversations.messages).toHaveLength(4);
  });

  it('starts afresh after a clear: nothing above the base goes to the model', async () => {
    const { send, conversations } = await setUp();
    await send('user-1', 'before the clear');
    conversations.clear('default');

    const { turn } = await send('user-1', 'after the clear');

    expect(turn.prompt.map((t) => t.content)).toEqual(['Be brief.', 'after the clear']);
    expect(turn.opensConversation).toBe(true);
  });

  it('keeps conversations apart', async () => {
    const { send } = await setUp();
    await send('user-1', 'in room a', 'a');

    const { turn } = await send('user-1', 'in room b', 'b');

    expect(turn.prompt.map((t) => t.content)).toEqual(['Be brief.', 'in room b']);
  });

  it('uses the server-wide key for a user with none, and refuses with 400 when there is none, storing nothing', async () => {
    const withFallback = await setUp({ fallback: 'sk-server' });
    const without = await setUp();

    const { turn } = await withFallback.send('user-2', 'hi');
    const refused = without.send('user-2', 'hi');

    expect(turn.apiKey).toBe('sk-server');
    await expect(refused).rejects.toMatchObject({ code: 'BAD_REQUEST', message: NO_KEY_MESSAGE });
    expect(without.conversations.messages).toHaveLength(0);
  });

  it("refuses a key that is not the user's own (copied from another user) with 400", async () => {
    const { send, accounts } = await setUp();
    accounts.keys.set('user-2', accounts.keys.get('user-1') as Uint8Array);

    await expect(send('user-2', 'hi')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: BAD_KEY_MESSAGE,
    });
  });

  it('refuses a model the deployment does not allow, and stores nothing', async () => {
    const { deps, conversations } = await setUp({ env: { ALLOWED_MODELS: 'gpt-4o-mini,b' } });

    const refused = prepareTurn(
      deps,
      { userId: 'user-1', roomId: 'default', content: 'hi', model: 'gpt-5-pro' },
      Date.now() + 30_000,
    );

    await expect(refused).rejects.toThrow('model must be one of: gpt-4o-mini, b');
    expect(conversations.messages).toHaveLength(0);
  });

  it('stores nothing when the limits refuse the send', async () => {
    const { deps, conversations, limits } = await setUp();
    limits.admit = async () => {
      throw new TooManyRequestsError('slow down', 30);
    };

    await expect(
      prepareTurn(deps, { userId: 'user-1', roomId: 'default', content: 'hi' }, Date.now()),
    ).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(conversations.messages).toHaveLength(0);
  });

  it('says the message was saved, and ends the empty reply as an error, when the context read meets an outage', async () => {
    const { deps, conversations, replies } = await setUp();
    conversations.failReads = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
    });

    const failed = prepareTurn(
      deps,
      { userId: 'user-1', roomId: 'default', content: 'hi' },
      Date.now() + 30_000,
    );

    await expect(failed).rejects.toMatchObject({
      name: 'SavedButUnavailableError',
      record: { room_id: 'default', user_seq: 1, ai_seq: 2 },
    });
    const reply = conversations.messages[1];
    expect(replies.byId.get(reply?.id ?? '')).toMatchObject({ status: 'error' });
  });
});
