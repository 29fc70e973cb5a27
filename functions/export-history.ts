import { PassThrough } from 'node:stream';
import { exportQuerySchema } from '#api/schemas.ts';
import { NO_SUCH_CONVERSATION } from '#chat/wording.ts';
import { NotFoundError } from '#commons/errors.ts';
import { EXPORT_TYPES, exportFileName, writeExport } from '#http/export.ts';
import { parseQuery } from '#http/input.ts';
import { streamRoute } from '#http/route.ts';
import { conversationStore, historyStore } from '#wiring/stores.ts';

const conversations = conversationStore();
const history = historyStore();

export const handler = streamRoute(async (event, { userId }) => {
  const { format, room_id, branches } = parseQuery(event, exportQuerySchema);
  if (room_id && !(await conversations.summary(userId, room_id))) {
    throw new NotFoundError(NO_SUCH_CONVERSATION);
  }
  const body = new PassThrough();
  body.on('error', () => undefined);
  const rooms = room_id ? [room_id] : conversations.roomIds(userId);
  return {
    statusCode: 200,
    headers: {
      'Content-Type': EXPORT_TYPES[format].contentType,
      'Content-Disposition': `attachment; filename="${exportFileName(format, room_id)}"`,
      'Cache-Control': 'no-store',
    },
    body,
    background: writeExport(history, userId, rooms, format, body, { branches: branches === 'all' }),
  };
});
