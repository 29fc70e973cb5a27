import type * as z from 'zod';
import { BAD_CURSOR } from '#chat/wording.ts';
import { BadRequestError } from '#commons/errors.ts';

/** An opaque cursor: base64url JSON. It carries positions only, never a user or a key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Reads a cursor made by `encodeCursor`: 400 when it is not one, or not of this shape. */
export function decodeCursor<T extends z.ZodType>(cursor: string, schema: T): z.output<T> {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (result.success) return result.data;
  } catch {
    // fall through: not base64url JSON
  }
  throw new BadRequestError(BAD_CURSOR);
}
