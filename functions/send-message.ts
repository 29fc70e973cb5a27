import { sendMessage } from '#lib/chat.ts';
import { httpSettings, modelSettings } from '#lib/config.ts';
import { parseBody, requireSelf } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { messageView } from '#lib/http/views.ts';
import { kmsKeyVault } from '#lib/key-vault.ts';
import { fallbackKey, OpenAIChatModel } from '#lib/model.ts';
import { defaultRoomId, sendBodySchema } from '#lib/schemas.ts';
import { apiKeyStore, messageStore } from '#lib/services.ts';

const limits = httpSettings();
const bodySchema = sendBodySchema(limits.MAX_MESSAGE_CHARS);
const model = modelSettings();
const deps = {
  messages: messageStore(),
  apiKeys: apiKeyStore(),
  vault: kmsKeyVault(),
  model: new OpenAIChatModel(model),
  settings: model,
  fallbackKey: fallbackKey(model),
};

export const handler = httpRoute(async (event, { userId }) => {
  const body = parseBody(event, bodySchema, limits.MAX_BODY_BYTES);
  requireSelf(body.user_id, userId, 'Unauthorized');
  const roomId = body.room_id ?? defaultRoomId(userId);
  const { user, ai } = await sendMessage(deps, { userId, roomId, content: body.message });
  return ok({ user_message: messageView(user), ai_message: messageView(ai) });
});
