import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { apiKeyStore } from '#lib/wiring.ts';

const keys = apiKeyStore();

export const handler = httpRoute(async (_event, { userId }) => {
  const deleted = await keys.delete(userId);
  return ok({ message: deleted ? 'API key deleted' : 'No API key was stored', deleted });
});
