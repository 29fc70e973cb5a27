import {
  type CompletionRequest,
  startOpenAICompatible,
} from '../../infra/local/openai-compatible.ts';

/**
 * The tests' OpenAI-compatible model. It is steered by directives in the newest user message,
 * so concurrent tests never share state:
 * - `[[fail:STATUS]]` answers with that HTTP status;
 * - `[[echo]]` replies with the JSON of the messages it received;
 * - otherwise it replies `reply to: <message>`.
 */
export function startFakeModel() {
  return startOpenAICompatible((request: CompletionRequest) => {
    const last = request.messages.at(-1)?.content ?? '';
    const fail = /\[\[fail:(\d{3})\]\]/.exec(last);
    if (fail) return { status: Number(fail[1]), error: `fake upstream failure ${fail[1]}` };
    if (last.includes('[[echo]]')) return { content: JSON.stringify(request.messages) };
    return { content: `reply to: ${last}` };
  });
}
