import { PassThrough } from 'node:stream';
import { NotFoundError } from '#lib/errors.ts';
import { EXPORT_TYPES, exportFileName, writeExport } from '#lib/http/export.ts';
import { parseQuery } from '#lib/http/input.ts';
import { streamRoute } from '#lib/http/route.ts';
import { exportQuerySchema } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = streamRoute(async (event, { userId }) => {
  const { format, room_id } = parseQuery(event, exportQuerySchema);
  if (room_id && !(await messages.summary(userId, room_id))) {
    throw new NotFoundError('No such conversation');
  }
  const body = new PassThrough();
  body.on('error', () => undefined);
  const rooms = room_id ? [room_id] : messages.roomIds(userId);
  return {
    statusCode: 200,
    headers: {
      'Content-Type': EXPORT_TYPES[format].contentType,
      'Content-Disposition': `attachment; filename="${exportFileName(format, room_id)}"`,
      'Cache-Control': 'no-store',
    },
    body,
    background: writeExport(messages, userId, rooms, format, body),
  };
});
