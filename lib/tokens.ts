import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

/** Counts a model's tokens in a text. */
export type TokenCounter = (text: string) => number;

/** What a chat message costs beyond its text (role and separators, per OpenAI's accounting). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

type Encoding = 'cl100k_base' | 'o200k_base';

const encoders = new Map<Encoding, Promise<Tiktoken>>();

/**
 * The rank tables (3.4 MB, and about a second to build an encoder from) are imported only when
 * a count is needed: deployed bundles leave them out and ship them beside the bundle
 * (`infra/bundling.ts`), so a cold start never parses them.
 */
const RANKS: Record<Encoding, () => Promise<{ default: TiktokenBPE }>> = {
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
};

/** Models that predate o200k_base use cl100k_base; everything else, unknown models included, o200k_base. */
function encodingFor(model: string): Encoding {
  return /^(gpt-3\.5|gpt-4(?!o|\.|-?o)|text-embedding)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

/** Whether a model's encoder has been built in this container (for tests and the benchmark). */
export function encoderLoaded(model: string): boolean {
  return encoders.has(encodingFor(model));
}

/** The token counter for a model's encoding (loaded and built once per container, then cached). */
export async function tokenCounter(model: string): Promise<TokenCounter> {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = RANKS[name]().then((ranks) => new Tiktoken(ranks.default));
    encoder.catch(() => encoders.delete(name));
    encoders.set(name, encoder);
  }
  const ready = await encoder;
  return (text) => countTokens(ready, text);
}

/** Longest run without whitespace that is encoded in one piece. */
const MAX_RUN = 16;
/** Text is encoded in segments of about this many characters. */
const SEGMENT = 512;

/**
 * Counts in bounded pieces: byte-pair encoding is quadratic in the length of a run without
 * whitespace (3,000 emoji in one piece take 10 s), so such runs are cut into pieces of 16 code
 * points, and other text is encoded a segment at a time, cut before whitespace. Cuts can only
 * lose merges, so the count is exact or a slight overcount: safe for a budget.
 */
export function countTokens(encoder: Tiktoken, text: string): number {
  let total = 0;
  let segment = '';
  const flush = () => {
    if (segment) total += encoder.encode(segment).length;
    segment = '';
  };
  for (const part of text.split(/(\s+)/)) {
    if (part.length > MAX_RUN && /\S/.test(part)) {
      const points = [...part];
      if (points.length > MAX_RUN) {
        flush();
        for (let i = 0; i < points.length; i += MAX_RUN) {
          total += encoder.encode(points.slice(i, i + MAX_RUN).join('')).length;
        }
        continue;
      }
    }
    if (segment.length + part.length > SEGMENT && /^\s/.test(part)) flush();
    segment += part;
  }
  flush();
  return total;
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
