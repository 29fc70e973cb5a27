import { describe, expect, it } from 'vitest';
import { prepareTurn } from '#chat/prepare.ts';
import { runTurn, type TurnEvent } from '#chat/run-turn.ts';
import { memoryDeps, ScriptedModel, testSettings } from '../../support/fakes.ts';

/** A turn's dependencies in memory, each step it takes written down in `steps`. */
async function setUp(script: string[] = ['an ', 'answer']) {
  const steps: string[] = [];
  const model = new ScriptedModel(script);
  const memory = await memoryDeps({ model, settings: testSettings({ AUTO_TITLES: 'model' }) });
  const { deps, conversations } = memory;
  const setAutoTitle = conversations.setAutoTitle.bind(conversations);
  conversations.setAutoTitle = async (...args) => {
    steps.push('title');
    await setAutoTitle(...args);
  };
  const complete = deps.idempotency.complete.bind(deps.idempotency);
  deps.idempotency.complete = async (...args) => {
    steps.push('record');
    await complete(...args);
  };
  const run = (key: string | undefined, content = 'hello') => {
    const request = { userId: 'user-1', roomId: 'default', content };
    return runTurn(
      deps,
      {
        userId: 'user-1',
        key,
        fingerprint: ['send', request],
        prepare: () => prepareTurn(deps, request, Date.now() + 30_000),
      },
      (event: TurnEvent) => steps.push(event.type),
    );
  };
  return { ...memory, model, steps, run };
}

describe('runTurn', () => {
  it('writes the reply, then names the conversation, then records the exchange, each once', async () => {
    const { run, steps, conversations } = await setUp();

    const outcome = await run('key-1');
    if (outcome.kind !== 'ran') throw new Error('expected a run');
    const reply = await outcome.reply;
    await outcome.done;

    expect(reply).toMatchObject({ status: 'complete', content: 'an answer' });
    expect(steps).toEqual(['started', 'delta', 'delta', 'ended', 'title', 'record']);
    expect(conversations.titles.get('default')).toBe('an answer');
  });

  it('answers a repeat of the same request with the stored exchange, calling the model no more', async () => {
    const { run, model } = await setUp();
    const first = await run('key-1');
    if (first.kind === 'ran') await first.done;
    const calls = model.requests.length;

    const repeat = await run('key-1');

    expect(repeat).toMatchObject({
      kind: 'replay',
      exchange: {
        user: { content: 'hello', status: 'complete' },
        ai: { content: 'an answer', status: 'complete' },
      },
    });
    expect(model.requests).toHaveLength(calls);
  });

  it('says a write that failed after the save has failed, and a retry replays what was stored', async () => {
    const { run, steps, replies, model } = await setUp();
    replies.failWrites = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

    const outcome = await run('key-1');
    if (outcome.kind !== 'ran') throw new Error('expected a run');
    await expect(outcome.reply).rejects.toMatchObject({ name: 'SavedButUnavailableError' });
    await outcome.done;
    const calls = model.requests.length;
    const retry = await run('key-1');

    expect(steps).toEqual(['started', 'delta', 'delta', 'failed', 'record']);
    expect(retry).toMatchObject({ kind: 'replay', exchange: { user: { content: 'hello' } } });
    expect(model.requests).toHaveLength(calls);
  });
});
