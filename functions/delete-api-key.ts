import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import type { deletedKeyAnswer } from '#lib/schemas.ts';
import { accountStore } from '#lib/wiring.ts';

const accounts = accountStore();

export const handler = httpRoute(async (_event, { userId }) => {
  const deleted = await accounts.deleteApiKey(userId);
  return ok<typeof deletedKeyAnswer>({
    message: deleted ? 'API key deleted' : 'No API key was stored',
    deleted,
  });
});
