import { createHash } from 'node:crypto';
import { BadRequestError } from '#commons/errors.ts';
import { logger } from '#commons/logger.ts';
import { recordReplay } from '#commons/metrics.ts';
import type { IdempotencyStore } from '#store/idempotency.ts';
import { KEY_FORMAT } from './wording.ts';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Checks an `Idempotency-Key` header: 1-255 printable ASCII characters, or absent. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY_PATTERN.test(header)) throw new BadRequestError(KEY_FORMAT);
  return header;
}

/** A stable digest of what makes two requests "the same". */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

/** Work begun: its first answer now, and the record a repeat gets back once it is done. */
export interface Started<T, R> {
  value: T;
  /** Settles with the record a repeat replays from; rejects when the work failed. */
  finished: Promise<R>;
}

export type IdempotentOutcome<T, R> =
  | {
      kind: 'ran';
      value: T;
      /** Settles once the key is settled: keep the function alive until then. */
      background: Promise<void>;
    }
  | { kind: 'replay'; record: R };

/**
 * Runs `start` once per idempotency key: a repeat with the same key and the same `request`
 * gets the first run's record back instead of running again (409 while the first still runs,
 * 422 with a different request). A run that fails having stored nothing releases the key so a
 * retry runs again; one whose error carries a `record` (it stored something) keeps it, so a
 * retry replays it. Without a key it just runs.
 */
export async function idempotent<T, R>(
  store: IdempotencyStore<R>,
  userId: string,
  key: string | undefined,
  request: unknown,
  start: () => Promise<Started<T, R>>,
): Promise<IdempotentOutcome<T, R>> {
  if (!key) {
    const { value, finished } = await start();
    return { kind: 'ran', value, background: finished.then(noop, noop) };
  }
  const claim = await store.claim(userId, key, fingerprint(request));
  if (claim.kind === 'replay') {
    recordReplay();
    return { kind: 'replay', record: claim.result };
  }
  const settle = (error: unknown) => {
    const record = (error as { record?: R } | undefined)?.record;
    return record ? store.complete(userId, key, record) : store.release(userId, key);
  };
  let started: Started<T, R>;
  try {
    started = await start();
  } catch (error) {
    await settle(error).catch(noop);
    throw error;
  }
  const background = started.finished
    .then((record) => store.complete(userId, key, record), settle)
    .catch((error: Error) => {
      // The key then stays claimed until its lock expires: repeats get 409, never a rerun.
      logger.warn('could not settle the idempotency key', { error: { name: error.name } });
    });
  return { kind: 'ran', value: started.value, background };
}

const noop = () => undefined;
