import { type OpenAICompatibleServer, startOpenAICompatible } from './openai-compatible.ts';

/** The model name the offline responder answers with. */
export const OFFLINE_MODEL = 'offline';

/**
 * The model the local stack uses when `OPENAI_BASE_URL` is unset: it answers at once, with no
 * network, and says what it saw, so the whole service can be tried offline.
 */
export function startOfflineModel(port = 0): Promise<OpenAICompatibleServer> {
  return startOpenAICompatible(({ messages }) => {
    const last = messages.at(-1)?.content ?? '';
    const earlier = messages.filter((m) => m.role !== 'system').length - 1;
    // Cut on code points: a cut between the halves of a surrogate pair would store half an emoji.
    const chars = [...last];
    const quote = chars.length > 200 ? `${chars.slice(0, 200).join('')}…` : last;
    const content =
      `(offline model) You said: "${quote}". I can see ${earlier} earlier message${earlier === 1 ? '' : 's'} ` +
      'in this conversation. Set OPENAI_BASE_URL to talk to a real model.';
    // Labelled as what it is: replies say `ai_model: "offline"`, never a real model's name.
    return { content, chunks: content.split(/(?<= )/), chunkDelayMs: 15, model: OFFLINE_MODEL };
  }, port);
}
