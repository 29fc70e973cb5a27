import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';

/** Counts a model's tokens in a text. */
export type TokenCounter = (text: string) => number;

/** What a chat message costs beyond its text (role and separators, per OpenAI's accounting). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

const encoders = new Map<string, Tiktoken>();

/** Models that predate o200k_base use cl100k_base; everything else, unknown models included, o200k_base. */
function encodingFor(model: string): 'cl100k_base' | 'o200k_base' {
  return /^(gpt-3\.5|gpt-4(?!o|\.|-?o)|text-embedding)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

/** The token counter for a model's encoding (built once per container, then cached). */
export function tokenCounter(model: string): TokenCounter {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = new Tiktoken(name === 'cl100k_base' ? cl100k : o200k);
    encoders.set(name, encoder);
  }
  const ready = encoder;
  return (text) => ready.encode(text).length;
}

/** Context windows of well-known models, by name prefix (longest prefix wins). */
const CONTEXT_WINDOWS: [string, number][] = [
  ['gpt-5', 400_000],
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['gpt-4-turbo', 128_000],
  ['gpt-4', 8_192],
  ['gpt-3.5-turbo', 16_385],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4', 200_000],
];

/** A conservative window for models we do not know (local models often have 8k). */
export const UNKNOWN_MODEL_WINDOW = 8_192;

/** The model's context window in tokens. */
export function contextWindow(model: string): number {
  const match = CONTEXT_WINDOWS.filter(([prefix]) => model.startsWith(prefix)).sort(
    (a, b) => b[0].length - a[0].length,
  )[0];
  return match?.[1] ?? UNKNOWN_MODEL_WINDOW;
}
