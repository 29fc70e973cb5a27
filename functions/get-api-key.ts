import type { apiKeyAnswer } from '#api/schemas.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { apiKeyView } from '#http/views.ts';
import { accountStore } from '#wiring/stores.ts';

const accounts = accountStore();

export const handler = httpRoute(async (_event, { userId }) =>
  ok<typeof apiKeyAnswer>(apiKeyView(await accounts.getApiKey(userId))),
);
