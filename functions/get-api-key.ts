import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { apiKeyView } from '#lib/http/views.ts';
import type { apiKeyAnswer } from '#lib/schemas.ts';
import { accountStore } from '#lib/wiring.ts';

const accounts = accountStore();

export const handler = httpRoute(async (_event, { userId }) =>
  ok<typeof apiKeyAnswer>(apiKeyView(await accounts.getApiKey(userId))),
);
