import { apiKeyBodySchema, type savedKeyAnswer } from '#api/schemas.ts';
import { httpSettings } from '#commons/config.ts';
import { parseBody } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { apiKeyView } from '#http/views.ts';
import { accountStore } from '#wiring/stores.ts';
import { kmsKeyVault } from '#wiring/vault.ts';

const { MAX_BODY_BYTES } = httpSettings();
const vault = kmsKeyVault();
const accounts = accountStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { api_key } = parseBody(event, apiKeyBodySchema, MAX_BODY_BYTES);
  const record = {
    ciphertext: await vault.encrypt(userId, api_key),
    last4: api_key.slice(-4),
    updatedAt: new Date().toISOString(),
  };
  await accounts.putApiKey(userId, record);
  return ok<typeof savedKeyAnswer>({ message: 'API key saved', ...apiKeyView(record) });
});
