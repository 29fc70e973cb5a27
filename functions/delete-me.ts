import type { eraseAnswer } from '#api/schemas.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { erasure } from '#wiring/stores.ts';

const users = erasure();

/** Everything of the caller's, and nobody else's: what a privacy request (GDPR art. 17) needs. */
export const handler = httpRoute(async (_event, context) => {
  const erased = await users.erase(context.userId, () => context.getRemainingTimeInMillis());
  return ok<typeof eraseAnswer>({
    message: erased.complete
      ? 'All your data was deleted'
      : 'Your data is hidden and mostly deleted; call again to finish',
    deleted: {
      conversations: erased.conversations,
      messages: erased.messages,
      api_key: erased.apiKey,
    },
    complete: erased.complete,
  });
});
