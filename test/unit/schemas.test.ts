import { describe, expect, it } from 'vitest';
import { historyQuerySchema, sendBodySchema } from '../../lib/schemas.ts';

describe('history query', () => {
  it("defaults to the seed's page 1 of 50", () => {
    expect(historyQuerySchema.parse({})).toEqual({ page: 1, limit: 50, order: 'asc' });
  });

  it('clamps limit to 100 and keeps room_id', () => {
    expect(historyQuerySchema.parse({ page: '3', limit: '1000', room_id: 'work-1' })).toEqual({
      page: 3,
      limit: 100,
      room_id: 'work-1',
      order: 'asc',
    });
  });
});

describe('send body', () => {
  const schema = sendBodySchema(10);

  it('counts characters, not UTF-16 units, against the limit', () => {
    expect(schema.safeParse({ message: '😀'.repeat(10) }).success).toBe(true);
    const over = schema.safeParse({ message: '😀'.repeat(11) });
    expect(over.success).toBe(false);
    expect(over.error?.issues[0]?.code).toBe('too_big');
  });

  it('keeps the message exactly as sent, surrounding spaces included', () => {
    expect(schema.parse({ message: '  hi  ' }).message).toBe('  hi  ');
  });
});
