import { describe, expect, it } from 'vitest';
import { writeReply } from '#chat/reply-writer.ts';
import { KEY_REJECTED_REPLY, UPSTREAM_FAILED_REPLY } from '#chat/wording.ts';
import { ModelKeyRejectedError, ModelUnavailableError } from '#commons/errors.ts';
import {
  CountingLimits,
  MemoryReplyStore,
  preparedTurn,
  ScriptedModel,
  testSettings,
} from '../../support/fakes.ts';

/** A reply written by a scripted model into an in-memory store, looked at and saved every 50 ms. */
function setUp(script: ConstructorParameters<typeof ScriptedModel>[0]) {
  const replies = new MemoryReplyStore();
  const model = new ScriptedModel(script);
  const limits = new CountingLimits();
  const settings = testSettings({ STREAM_FLUSH_MS: '50', STREAM_SAVE_MS: '50' });
  const deps = { replies, model, limits, settings };
  const turn = preparedTurn(replies);
  return { replies, model, limits, deps, turn };
}

describe('writeReply', () => {
  it('stores the whole reply as complete, with the model and usage the upstream reported, and counts its tokens', async () => {
    const { deps, turn, replies, limits } = setUp(['Hello', ', ', 'world']);
    const deltas: { content: string; offset: number }[] = [];

    const written = await writeReply(deps, turn, { onDelta: (d) => deltas.push(d) });

    expect(written.failure).toBeUndefined();
    expect(written.message).toMatchObject({
      id: turn.ai.id,
      status: 'complete',
      content: 'Hello, world',
      aiModel: 'gpt-4o-mini-2026',
      usage: { totalTokens: 46 },
    });
    expect(replies.byId.get(turn.ai.id)?.status).toBe('complete');
    expect(deltas).toEqual([
      { content: 'Hello', offset: 5 },
      { content: ', ', offset: 7 },
      { content: 'world', offset: 12 },
    ]);
    expect(limits.tokens).toEqual([46]);
  });

  it('counts offsets in code points, so an emoji is one step for a resuming reader', async () => {
    const { deps, turn } = setUp(['😀😀', 'é']);
    const offsets: number[] = [];

    await writeReply(deps, turn, { onDelta: (d) => offsets.push(d.offset) });

    expect(offsets).toEqual([2, 3]);
  });

  it('saves only what is new while the model writes, at most once per save interval, and readers see the text so far', async () => {
    const script = Array.from({ length: 20 }, (_, i) => [`w${i} `, { waitMs: 15 }]).flat();
    const { deps, turn, replies } = setUp(script);
    const seen: string[] = [];
    const poll = setInterval(async () => {
      seen.push((await replies.read('user-1', turn.ai))?.content ?? '');
    }, 20);

    const written = await writeReply(deps, turn);
    clearInterval(poll);

    // About 300 ms of writing at a 50 ms interval: a handful of saves, not one per piece.
    const pieces = replies.pieces(turn.ai.id);
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(pieces.length).toBeLessThan(20);
    expect(pieces.map((piece) => piece.n)).toEqual(pieces.map((_, i) => i + 1));
    // Each piece holds what was new, and together they are the start of the reply.
    expect(written.message?.content.startsWith(pieces.map((piece) => piece.text).join(''))).toBe(
      true,
    );
    expect(seen.some((text) => text.length > 0 && !text.includes('w19'))).toBe(true);
  });

  it('stops when its owner asks: the upstream call is aborted and what was written is kept as stopped', async () => {
    const script = ['first ', { waitMs: 120 }, 'never ', { waitMs: 2_000 }, 'written'];
    const { deps, turn, replies, model, limits } = setUp(script);
    setTimeout(() => void replies.requestStop('user-1', turn.ai), 60);

    const started = Date.now();
    const written = await writeReply(deps, turn);

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(model.aborted).toBe(true);
    expect(written.message).toMatchObject({ status: 'stopped', content: 'first ' });
    expect(written.failure).toBeUndefined();
    expect(limits.tokens).toEqual([]);
  });

  it('writes nothing more once its message is gone (cleared meanwhile), and says so', async () => {
    const script = ['first ', { waitMs: 120 }, 'second ', { waitMs: 2_000 }, 'third'];
    const { deps, turn, replies, model } = setUp(script);
    setTimeout(() => replies.remove(turn.ai.id), 60);

    const written = await writeReply(deps, turn);

    expect(model.aborted).toBe(true);
    expect(written.message).toBeUndefined();
    expect(replies.byId.has(turn.ai.id)).toBe(false);
    expect(replies.calls.finish).toBe(0);
  });

  it('keeps what the model wrote before failing, as an error marked partial', async () => {
    const { deps, turn } = setUp(['half an ', { fail: new ModelUnavailableError('cut off') }]);

    const written = await writeReply(deps, turn);

    expect(written.message).toMatchObject({
      status: 'error',
      content: 'half an ',
      partial: true,
    });
    expect(written.failure).toBe(UPSTREAM_FAILED_REPLY);
  });

  it("stores the seed's apology when the model fails before writing, and the key message when it rejects the key", async () => {
    const down = setUp([{ fail: new ModelUnavailableError('down') }]);
    const rejected = setUp([{ fail: new ModelKeyRejectedError() }]);

    const [a, b] = await Promise.all([
      writeReply(down.deps, down.turn),
      writeReply(rejected.deps, rejected.turn),
    ]);

    expect(a.message).toMatchObject({
      status: 'error',
      content: UPSTREAM_FAILED_REPLY,
      aiModel: 'error',
    });
    expect(a.message?.partial).toBeUndefined();
    expect(b.message).toMatchObject({ status: 'error', content: KEY_REJECTED_REPLY });
    expect(b.failure).toBe(KEY_REJECTED_REPLY);
  });

  it('lets a bug through instead of storing it as a model failure', async () => {
    const { deps, turn } = setUp(['x', { fail: new TypeError('a bug') }]);

    await expect(writeReply(deps, turn)).rejects.toThrow('a bug');
  });

  it('goes on writing when a save in progress fails, and stores the end', async () => {
    const script = ['one ', { waitMs: 80 }, 'two ', { waitMs: 80 }, 'three'];
    const { deps, turn, replies } = setUp(script);
    replies.failWrites = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    setTimeout(() => {
      replies.failWrites = undefined;
    }, 120);

    const written = await writeReply(deps, turn);

    expect(replies.calls.save).toBeGreaterThan(1);
    expect(written.message).toMatchObject({ status: 'complete', content: 'one two three' });
    // The piece whose save failed was written again as it was, and none went missing.
    const pieces = replies.pieces(turn.ai.id);
    expect('one two three'.startsWith(pieces.map((piece) => piece.text).join(''))).toBe(true);
  });

  it('marks the reply as an error (not left streaming) when storing its end meets an outage', async () => {
    const { deps, turn, replies } = setUp(['done']);
    const outage = Object.assign(new Error('timeout'), { name: 'TimeoutError' });
    const finish = replies.finish.bind(replies);
    let attempts = 0;
    replies.finish = async (userId, ref, end) => {
      attempts += 1;
      if (attempts === 1) throw outage;
      return finish(userId, ref, end);
    };

    await expect(writeReply(deps, turn)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(replies.byId.get(turn.ai.id)).toMatchObject({
      status: 'error',
      content: UPSTREAM_FAILED_REPLY,
    });
  });
});
