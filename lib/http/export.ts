import { once } from 'node:events';
import type { PassThrough } from 'node:stream';
import { effectiveStatus } from '#chat/liveness.ts';
import type { StoredMessage } from '#chat/message.ts';
import { logger } from '#commons/logger.ts';
import type { HistoryStore } from '#store/history.ts';
import { messageView } from './views.ts';

export type ExportFormat = 'jsonl' | 'markdown';

export const EXPORT_TYPES: Record<ExportFormat, { contentType: string; extension: string }> = {
  jsonl: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'jsonl' },
  markdown: { contentType: 'text/markdown; charset=utf-8', extension: 'md' },
};

/** A file name safe in a `Content-Disposition` header: the room id, reduced to plain characters. */
export function exportFileName(format: ExportFormat, roomId?: string): string {
  const name = roomId ? `chat-${roomId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80)}` : 'chats';
  return `${name}.${EXPORT_TYPES[format].extension}`;
}

/**
 * Writes conversations into `out` as they are read, a page at a time, waiting for the client
 * to take each page before reading the next: memory does not grow with the history. JSONL lines
 * carry the same fields as history (so a script can read an export back); Markdown reads as a
 * transcript.
 */
export async function writeExport(
  history: Pick<HistoryStore, 'readAll'>,
  userId: string,
  rooms: AsyncIterable<string> | string[],
  format: ExportFormat,
  out: PassThrough,
  options: { branches?: boolean } = {},
): Promise<void> {
  const write = async (text: string) => {
    if (out.destroyed) throw new Error('client gone');
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    for await (const roomId of rooms) {
      if (format === 'markdown') await write(`# ${escapeInline(roomId)}\n\n`);
      for await (const page of history.readAll(userId, roomId, options)) {
        await write(page.map((message) => render(message, format)).join(''));
      }
    }
  } catch (error) {
    if (!out.destroyed) logger.error('export failed', { error: { name: (error as Error).name } });
  } finally {
    if (!out.destroyed) out.end();
  }
}

function render(message: StoredMessage, format: ExportFormat): string {
  if (format === 'jsonl') return `${JSON.stringify(messageView(message))}\n`;
  const who =
    message.messageType === 'user'
      ? 'You'
      : `Assistant${message.aiModel ? ` (${escapeInline(message.aiModel)})` : ''}`;
  const status = effectiveStatus(message);
  const note = status === 'complete' ? '' : ` [${status}]`;
  return `**${who}**, ${message.createdAt}${note}\n\n${fenced(message.content)}\n\n`;
}

/**
 * A message's text as a fenced block, its fence longer than any run of backticks in it: nothing
 * it holds (a forged header, a rule, HTML, a fence of its own) can end the block or be read as
 * anything but its text.
 */
function fenced(text: string): string {
  let longest = 0;
  for (const [run] of text.matchAll(/`+/g)) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/**
 * One line of text that Markdown shows as it is: the characters that could open emphasis, code,
 * a link, HTML, an entity or a table cell are backslash-escaped (others stay, for readability).
 */
function escapeInline(text: string): string {
  return text.replace(/[\\`*_[\]<>&#!~|{}]/g, '\\$&');
}
