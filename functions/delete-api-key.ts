import type { deletedKeyAnswer } from '#api/schemas.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { accountStore } from '#wiring/stores.ts';

const accounts = accountStore();

export const handler = httpRoute(async (_event, { userId }) => {
  const deleted = await accounts.deleteApiKey(userId);
  return ok<typeof deletedKeyAnswer>({
    message: deleted ? 'API key deleted' : 'No API key was stored',
    deleted,
  });
});
