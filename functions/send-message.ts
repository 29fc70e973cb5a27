import { sendMessage } from '#lib/chat.ts';
import { chatDeps, idempotencyStore } from '#lib/chat-deps.ts';
import { httpSettings } from '#lib/config.ts';
import { parseBody, requireSelf } from '#lib/http/input.ts';
import { header } from '#lib/http/middleware.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { messageView } from '#lib/http/views.ts';
import { idempotencyKey, idempotent } from '#lib/idempotency.ts';
import { defaultRoomId, sendBodySchema } from '#lib/schemas.ts';

const limits = httpSettings();
const bodySchema = sendBodySchema(limits.MAX_MESSAGE_CHARS);
const deps = chatDeps();
const idempotency = idempotencyStore();

export const handler = httpRoute(async (event, { userId }) => {
  const body = parseBody(event, bodySchema, limits.MAX_BODY_BYTES);
  requireSelf(body.user_id, userId, 'Unauthorized');
  const request = {
    userId,
    roomId: body.room_id ?? defaultRoomId(userId),
    content: body.message,
    model: body.model,
  };
  const key = idempotencyKey(header(event, 'idempotency-key'));
  const { result, replayed } = await idempotent(
    idempotency,
    userId,
    key,
    ['send', request],
    async () => {
      const { user, ai } = await sendMessage(deps, request);
      return { user_message: messageView(user), ai_message: messageView(ai) };
    },
  );
  return ok(result, 200, replayed ? { 'Idempotent-Replayed': 'true' } : {});
});
