import {
  type CompletionRequest,
  type StreamClosed,
  startOpenAICompatible,
} from '../../infra/local/openai-compatible.ts';

/**
 * The tests' OpenAI-compatible model. It is steered by directives in the newest user message,
 * so concurrent tests never share state:
 * - `[[fail:STATUS]]` answers with that HTTP status;
 * - `[[echo]]` replies with the JSON of the messages it received;
 * - `[[slow:MS]]` streams its reply in pieces MS milliseconds apart;
 * - `[[break]]` streams part of a reply, then drops the connection;
 * - `[[hang]]` accepts the call and never answers; `[[stall]]` sends two pieces, then nothing;
 * - `[[parts]]` sends its pieces as arrays of text parts, `[[number]]` as a number;
 * - a request to write a title (AUTO_TITLES=model) gets one, unless the reply says `[[notitle]]`;
 * - otherwise it replies `reply to: <message>`.
 */
export function startFakeModel(
  onRequest: (request: CompletionRequest) => void = () => {},
  onStreamClosed?: (closed: StreamClosed) => void,
) {
  return startOpenAICompatible(
    (request: CompletionRequest) => {
      onRequest(request);
      const last = request.messages.at(-1)?.content ?? '';
      if (request.messages[0]?.content.startsWith('Write a title')) {
        return last.includes('[[notitle]]')
          ? { status: 500, error: 'fake title failure' }
          : { content: '"A Title From The Model."' };
      }
      const fail = /\[\[fail:(\d{3})\]\]/.exec(last);
      if (fail) return { status: Number(fail[1]), error: `fake upstream failure ${fail[1]}` };
      if (last.includes('[[echo]]')) return { content: JSON.stringify(request.messages) };
      const content = `reply to: ${last}`;
      const chunks = content.split(/(?<= )/);
      if (last.includes('[[break]]')) return { content, chunks, dropAfterChunks: 2 };
      if (last.includes('[[hang]]')) return { content, chunks, hangAfterChunks: 0 };
      if (last.includes('[[stall]]')) return { content, chunks, hangAfterChunks: 2 };
      if (last.includes('[[parts]]')) return { content, chunks, shape: 'parts' as const };
      if (last.includes('[[number]]')) return { content, chunks, shape: 'number' as const };
      const slow = /\[\[slow:(\d+)\]\]/.exec(last);
      return { content, chunks, chunkDelayMs: slow ? Number(slow[1]) : 0 };
    },
    0,
    onStreamClosed,
  );
}
