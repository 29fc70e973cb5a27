import { describe, expect, it } from 'vitest';
import { defaultRoomId, historyQuerySchema, sendBodySchema } from '#api/schemas.ts';

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

describe('room ids', () => {
  const room = (room_id: unknown) => historyQuerySchema.safeParse({ room_id });

  it('accepts every default room the service makes, OIDC subjects and e-mails included', () => {
    for (const userId of ['auth0|abc123', 'josé@example.com', 'google-oauth2|1', 'x'.repeat(256)]) {
      expect(room(defaultRoomId(userId)).success, userId).toBe(true);
    }
  });

  it('accepts 300 characters of any script, as documented', () => {
    for (const value of ['漢'.repeat(300), '😀'.repeat(300), 'é'.repeat(300)]) {
      expect(room(value).success, value).toBe(true);
    }
  });

  it('refuses empty, control-character, over-long and malformed ids with a clear message', () => {
    for (const [value, message] of [
      ['', /1-300 characters/],
      ['a\nb', /control characters/],
      ['x'.repeat(301), /1-300 characters/],
      ['漢'.repeat(301), /1-300 characters/],
      ['\ud800', /valid Unicode text/],
    ] as const) {
      const result = room(value);
      expect(result.success, JSON.stringify(value)).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(message);
    }
  });
});
