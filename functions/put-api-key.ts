import { httpSettings } from '#lib/config.ts';
import { parseBody } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { apiKeyView } from '#lib/http/views.ts';
import { kmsKeyVault } from '#lib/key-vault.ts';
import { apiKeyBodySchema, type savedKeyAnswer } from '#lib/schemas.ts';
import { accountStore } from '#lib/wiring.ts';

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
