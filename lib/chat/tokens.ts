import type { TokenCount } from './message.ts';

/** Counts a model's tokens in a text. */
export type TokenCounter = (text: string) => number;

/** What a chat message costs beyond its text (role and separators, per OpenAI's accounting). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

type Encoding = 'cl100k_base' | 'o200k_base';

/** Counts the tokens of a text: one encoding of gpt-tokenizer. */
type RawCounter = (text: string, options: { disallowedSpecial: Set<string> }) => number;

const encoders = new Map<Encoding, Promise<RawCounter>>();

/**
 * The encodings (3.6 MB of rank tables, about 0.2 s to load) are imported only when a count is
 * needed: deployed bundles leave them out and ship them beside the bundle
 * (`infra/bundling.ts`), so a cold start never parses them.
 */
const ENCODINGS: Record<Encoding, () => Promise<{ countTokens: RawCounter }>> = {
  cl100k_base: () => import('gpt-tokenizer/encoding/cl100k_base'),
  o200k_base: () => import('gpt-tokenizer/encoding/o200k_base'),
};

/** A user may type `<|endoftext|>`: it is counted as the text it is, never refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** Models that predate o200k_base use cl100k_base; everything else, unknown models included, o200k_base. */
export function encodingFor(model: string): Encoding {
  return /^(gpt-3\.5|gpt-4(?!o|\.|-?o)|text-embedding)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

const ready = new Map<Encoding, TokenCounter>();

/**
 * The model's counter if this container has already loaded it, else undefined: for counting
 * for free (a count stored with a message spares later sends the encoder).
 */
function loadedCounter(model: string): TokenCounter | undefined {
  return ready.get(encodingFor(model));
}

/**
 * A text's exact token count, if this container has the model's encoder loaded already (it is
 * never loaded just for this): stored with the message, it spares later sends the encoder.
 */
export function countIfLoaded(model: string, text: string): { tokens?: TokenCount } {
  const counter = loadedCounter(model);
  return counter ? { tokens: { encoding: encodingFor(model), count: counter(text) } } : {};
}

/** The token counter for a model's encoding (loaded and built once per container, then cached). */
export async function tokenCounter(model: string): Promise<TokenCounter> {
  const name = encodingFor(model);
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = ENCODINGS[name]().then((encoding) => encoding.countTokens);
    encoder.catch(() => encoders.delete(name));
    encoders.set(name, encoder);
  }
  const count = await encoder;
  const counter: TokenCounter = (text) => countTokens((piece) => count(piece, AS_TEXT), text);
  ready.set(name, counter);
  return counter;
}

/** Longest run without whitespace that is encoded in one piece. */
const MAX_RUN = 16;
/** Text is encoded in segments of about this many characters. */
const SEGMENT = 512;

/**
 * Counts in bounded pieces: byte-pair encoding is quadratic in the length of a run without
 * whitespace (3,000 emoji in one piece took 10 s with js-tiktoken), so such runs are cut into
 * pieces of 16 code points, and other text is counted a segment at a time, cut before
 * whitespace. Cuts can only lose merges, so the count is exact or a slight overcount: safe for
 * a budget.
 */
export function countTokens(count: (piece: string) => number, text: string): number {
  let total = 0;
  let segment = '';
  const flush = () => {
    if (segment) total += count(segment);
    segment = '';
  };
  for (const part of text.split(/(\s+)/)) {
    if (part.length > MAX_RUN && /\S/.test(part)) {
      const points = [...part];
      if (points.length > MAX_RUN) {
        flush();
        for (let i = 0; i < points.length; i += MAX_RUN) {
          total += count(points.slice(i, i + MAX_RUN).join(''));
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
