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
 * - `[[split-emoji]]` sends `abc`, then an emoji's two UTF-16 halves as two pieces, then `def`,
 *   700 ms apart (a save falls between the halves); `[[lone]]` sends a lone surrogate;
 * - `[[huge:KB]]` streams a reply of that many kilobytes (ASCII), in 4 KB pieces;
 * - `[[words:N:MS]]` streams a reply of N words (`w0 w1 ...`), a piece per word, MS ms apart;
 * - `[[reasoning]]` thinks aloud first (`reasoning_content`, or `reasoning` with
 *   `[[reasoning:field]]`), 150 ms a piece, then answers;
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
      if (last.includes('[[split-emoji]]')) {
        const chunks = ['abc', '\ud83d', '\ude00', 'def'];
        return { content: chunks.join(''), chunks, chunkDelayMs: 700 };
      }
      const many = /\[\[words:(\d+):(\d+)\]\]/.exec(last);
      if (many) {
        const chunks = Array.from({ length: Number(many[1]) }, (_, i) => `w${i} `);
        return { content: chunks.join(''), chunks, chunkDelayMs: Number(many[2]) };
      }
      const huge = /\[\[huge:(\d+)\]\]/.exec(last);
      if (huge) {
        const chunks = Array.from(
          { length: Number(huge[1]) / 4 },
          (_, i) => `${String(i).padStart(6, '0')} ${'x'.repeat(4_088)}\n`,
        );
        return { content: chunks.join(''), chunks };
      }
      if (last.includes('[[reasoning')) {
        const reasoning = ['Let me think. ', 'The user asked ', 'something; ', 'I will answer.'];
        const answer = `reply to: ${last}`;
        return {
          content: answer,
          chunks: answer.split(/(?<= )/),
          reasoning,
          chunkDelayMs: 150,
          ...(last.includes('[[reasoning:field]]') ? { reasoningField: 'reasoning' as const } : {}),
        };
      }
      if (last.includes('[[lone]]')) return { content: 'x\udc00y', chunks: ['x\udc00y'] };
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
