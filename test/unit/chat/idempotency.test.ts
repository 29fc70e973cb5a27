import { describe, expect, it } from 'vitest';
import { idempotencyKey, idempotent, type Started } from '#chat/idempotency.ts';
import type { ExchangeRecord } from '#chat/replay.ts';
import { OUTAGE_AFTER_SAVE } from '#chat/wording.ts';
import { SavedButUnavailableError } from '#commons/errors.ts';
import { MemoryIdempotencyStore } from '../../support/fakes.ts';

/** Work that counts its runs and finishes with the given record (or failure) when told. */
function work(record: ExchangeRecord = { room_id: 'default', user_seq: 1, ai_seq: 2 }) {
  let runs = 0;
  let finish: (outcome?: Error) => void = () => {};
  const start = async (): Promise<Started<string, ExchangeRecord>> => {
    runs += 1;
    const finished = new Promise<ExchangeRecord>((done, fail) => {
      finish = (outcome) => (outcome ? fail(outcome) : done(record));
    });
    return { value: `run ${runs}`, finished };
  };
  return { start, runs: () => runs, finish: (outcome?: Error) => finish(outcome) };
}

describe('idempotent()', () => {
  it('runs every time without a key', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work();

    const first = await idempotent(store, 'u1', undefined, 'req', job.start);
    const second = await idempotent(store, 'u1', undefined, 'req', job.start);

    expect([first.kind, second.kind]).toEqual(['ran', 'ran']);
    expect(job.runs()).toBe(2);
    expect(store.records.size).toBe(0);
  });

  it('answers a repeat with the first run’s record once it is done, running nothing again', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work({ room_id: 'r', user_seq: 7, ai_seq: 8 });

    const first = await idempotent(store, 'u1', 'key-1', { message: 'hi' }, job.start);
    job.finish();
    if (first.kind === 'ran') await first.background;
    const repeat = await idempotent(store, 'u1', 'key-1', { message: 'hi' }, job.start);

    expect(first).toMatchObject({ kind: 'ran', value: 'run 1' });
    expect(repeat).toEqual({ kind: 'replay', record: { room_id: 'r', user_seq: 7, ai_seq: 8 } });
    expect(job.runs()).toBe(1);
  });

  it('answers 409 to a repeat while the first still runs, and 422 to another request with the same key', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work();

    await idempotent(store, 'u1', 'key-1', { message: 'hi' }, job.start);

    await expect(
      idempotent(store, 'u1', 'key-1', { message: 'hi' }, job.start),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(
      idempotent(store, 'u1', 'key-1', { message: 'other' }, job.start),
    ).rejects.toMatchObject({ code: 'UNPROCESSABLE' });
    expect(job.runs()).toBe(1);
  });

  it('keeps keys apart per user', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work();

    await idempotent(store, 'u1', 'shared', 'req', job.start);
    const other = await idempotent(store, 'u2', 'shared', 'req', job.start);

    expect(other.kind).toBe('ran');
    expect(job.runs()).toBe(2);
  });

  it('releases the key when the work fails having stored nothing, so a retry runs again', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work();
    let failNext = true;
    const start = async () => {
      if (failNext) {
        failNext = false;
        throw new Error('the model is down');
      }
      return job.start();
    };

    await expect(idempotent(store, 'u1', 'key-1', 'req', start)).rejects.toThrow('down');
    const retry = await idempotent(store, 'u1', 'key-1', 'req', start);

    expect(retry).toMatchObject({ kind: 'ran', value: 'run 1' });
  });

  it('records where the messages are when the work fails after storing them, so a retry replays them', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const saved = { room_id: 'default', user_seq: 3, ai_seq: 4 };
    const start = async (): Promise<Started<string, ExchangeRecord>> => {
      throw new SavedButUnavailableError(OUTAGE_AFTER_SAVE, saved);
    };

    await expect(idempotent(store, 'u1', 'key-1', 'req', start)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    const retry = await idempotent(store, 'u1', 'key-1', 'req', start);

    expect(retry).toEqual({ kind: 'replay', record: saved });
  });

  it('releases the key when the background work fails later without a record', async () => {
    const store = new MemoryIdempotencyStore<ExchangeRecord>();
    const job = work();

    const first = await idempotent(store, 'u1', 'key-1', 'req', job.start);
    job.finish(new Error('lost'));
    if (first.kind === 'ran') await first.background;
    const retry = await idempotent(store, 'u1', 'key-1', 'req', job.start);

    expect(retry.kind).toBe('ran');
    expect(job.runs()).toBe(2);
  });
});

describe('idempotencyKey()', () => {
  it('accepts 1-255 printable ASCII characters and refuses anything else with 400', () => {
    expect(idempotencyKey(undefined)).toBeUndefined();
    expect(idempotencyKey('a-Key_1:~')).toBe('a-Key_1:~');
    expect(idempotencyKey('x'.repeat(255))).toBe('x'.repeat(255));
    for (const bad of ['', ' ', 'has space', 'ü', 'x'.repeat(256), 'tab\t']) {
      expect(() => idempotencyKey(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }),
      );
    }
  });
});
