import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { apiKeyView } from '#lib/http/views.ts';
import { apiKeyStore } from '#lib/wiring.ts';

const keys = apiKeyStore();

export const handler = httpRoute(async (_event, { userId }) =>
  ok(apiKeyView(await keys.get(userId))),
);
