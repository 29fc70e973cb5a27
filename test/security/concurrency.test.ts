import { describe, expect, it } from 'vitest';
import { history, newUser, send } from '../support/api.ts';

/**
 * One user hammering the service: many tabs, or a script. (This stack counts every send against
 * a rate limit, high enough to stay out of the way, so each send writes the account item; the
 * exact limit under concurrency is tested in limits.test.ts.)
 */
describe('one user sending concurrently', () => {
  it('answers 100 simultaneous sends into one conversation with 100 replies, stored as one orderly history', async () => {
    const user = await newUser();

    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => send(user, `burst ${i}`, { room_id: 'burst' })),
    );
    const pages = await Promise.all(
      [1, 2].map((page) => history(user, `room_id=burst&limit=100&page=${page}`)),
    );
    const messages = pages.flatMap((page) => page.body.messages);

    expect(replies.filter((reply) => reply.status !== 200).map((reply) => reply.body)).toEqual([]);
    expect(pages[0]?.body.pagination.total).toBe(200);
    expect(messages).toHaveLength(200);
    // Each question is followed by its own reply, and every question is there once.
    for (let i = 0; i < 200; i += 2) {
      expect(messages[i + 1]?.content).toBe(`reply to: ${messages[i]?.content}`);
    }
    expect(new Set(messages.filter((_, i) => i % 2 === 0).map((m) => m.content)).size).toBe(100);
  });

  it('keeps 8 sends in flight for 300 sends without a single 503', async () => {
    const user = await newUser();
    const statuses: number[] = [];
    let next = 0;

    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        while (next < 300) {
          const i = next++;
          statuses.push((await send(user, `steady ${i}`, { room_id: `lane-${lane % 3}` })).status);
        }
      }),
    );

    expect(statuses).toHaveLength(300);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  }, 120_000);
});
