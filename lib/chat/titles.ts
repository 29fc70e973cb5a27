import { logger } from '#commons/logger.ts';
import type { StoredMessage } from './message.ts';
import type { ChatDeps, PreparedTurn } from './turn.ts';

const TITLE_CHARS = 60;
const TITLE_PROMPT =
  'Write a title of at most six words for a conversation that begins with the exchange below. Answer with the title only, without quotes.';

/** A conversation's default title: its first message, cut at a word boundary near 60 characters. */
export function titleFrom(content: string): string {
  const text = content.replace(/\s+/g, ' ').trim();
  const chars = [...text];
  if (chars.length <= TITLE_CHARS) return text;
  const cut = chars.slice(0, TITLE_CHARS + 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > TITLE_CHARS / 2 ? cut.slice(0, space) : chars.slice(0, TITLE_CHARS).join('')).trimEnd()}…`;
}

/**
 * With AUTO_TITLES=model, the model names a conversation after its first reply, with the
 * user's key (its tokens counted like any other use). A failure keeps the default title (the
 * first message) and is logged without the key.
 */
export async function autoTitle(
  deps: Pick<ChatDeps, 'model' | 'titles' | 'limits' | 'settings'>,
  turn: PreparedTurn,
  reply: StoredMessage | undefined,
): Promise<void> {
  if (deps.settings.AUTO_TITLES !== 'model' || !turn.opensConversation) return;
  if (reply?.status !== 'complete') return;
  try {
    const named = await deps.model.complete({
      apiKey: turn.apiKey,
      model: turn.model,
      messages: [
        { role: 'system', content: TITLE_PROMPT },
        { role: 'user', content: turn.user.content },
        { role: 'assistant', content: reply.content },
      ],
    });
    const title = titleFrom(named.content.replace(/^["'\s]+|["'\s.]+$/g, ''));
    if (title) await deps.titles.setAutoTitle(turn.userId, turn.roomId, title);
    if (named.usage) await deps.limits.recordTokens(turn.userId, named.usage.totalTokens);
  } catch (error) {
    logger.warn('could not name the conversation', { error: { name: (error as Error).name } });
  }
}
