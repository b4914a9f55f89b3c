/**
 * Character-level inputs of the tagger: a character vocabulary, character ids per word aligned
 * with the word ids of `encodeSentences` (lib/data/encode.ts), and casing classes per word.
 *
 * Layouts (all row-major, all aligned with `EncodedSentences.wordIds` `[size, maxLen]`):
 * - {@linkcode encodeChars}: `Int32Array [size * maxLen * maxChars]`; the characters of the word
 *   in cell `(row, t)` start at `(row * maxLen + t) * maxChars`, post-padded with `padId` (0).
 *   Padding words are all `padId`; a real word always has at least one non-padding id (an empty
 *   word is encoded as one `unknownId`), so "all characters are padding" ⇔ "padding word".
 * - {@linkcode encodeCasing}: `Int32Array [size * maxLen]` of {@linkcode Casing} ids, `PAD` (0)
 *   on padding words.
 *
 * Words are split with `Array.from`, so a character is a Unicode code point (astral characters
 * such as emoji are one character, not two UTF-16 halves).
 *
 * Words longer than `maxChars` keep their first `ceil(maxChars / 2)` and last
 * `floor(maxChars / 2)` characters by default (`longWords: "ends"`): prefixes carry the
 * capital letter, suffixes carry "-ian", "-stan", "-ese", which matter for NER. With
 * `longWords: "start"` they keep the first `maxChars` characters. In the GMB corpus few words
 * exceed 16 characters, so the choice rarely matters.
 *
 * @module
 */
import type { Sentence } from "./corpus.ts";

/** The padding character token (id 0); never a real character (it is longer than one). */
export const PAD_CHAR = "<pad>";
/** The unknown character token (id 1). */
export const UNKNOWN_CHAR = "<unk>";

/** Options for {@linkcode buildCharVocab}. */
export interface CharVocabOptions {
  /** Characters seen fewer times than this in the training words map to `<unk>`. Default 1. */
  minFrequency?: number;
}

/** A character map with distinct padding and unknown ids. */
export interface CharVocab {
  /** Characters by id: `chars[0]` is `<pad>`, `chars[1]` is `<unk>`, then by frequency. */
  chars: string[];
  /** Character (one code point) → id. */
  index: Map<string, number>;
  /** Id of the padding character (0). */
  padId: number;
  /** Id of unknown characters (1). */
  unknownId: number;
  /** The options the map was built with. */
  options: Required<CharVocabOptions>;
}

/** The JSON form of a {@linkcode CharVocab}, as saved next to a model. */
export interface CharVocabJSON {
  format: "bilstm-ner-chars";
  version: 1;
  chars: string[];
  options: Required<CharVocabOptions>;
}

/**
 * Builds a character map from the words of sentences (normally the training split).
 *
 * Characters are ordered by frequency (most frequent first, ties by code point), so ids are
 * deterministic.
 *
 * @param sentences the sentences whose words are counted
 * @param options minimum frequency
 * @returns the map; `chars.length` is the number of rows the character embedding needs
 * @throws {RangeError} when `minFrequency` is not an integer >= 1
 */
export function buildCharVocab(
  sentences: readonly Pick<Sentence, "words">[],
  options: CharVocabOptions = {},
): CharVocab {
  const resolved = { minFrequency: options.minFrequency ?? 1 };
  if (!Number.isInteger(resolved.minFrequency) || resolved.minFrequency < 1) {
    throw new RangeError(`minFrequency must be an integer >= 1, got ${resolved.minFrequency}`);
  }
  const counts = new Map<string, number>();
  for (const sentence of sentences) {
    for (const word of sentence.words) {
      for (const char of Array.from(word)) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
  }
  const chars = [...counts]
    .filter(([, count]) => count >= resolved.minFrequency)
    .sort((a, b) => b[1] - a[1] || compareUtf16(a[0], b[0]))
    .map(([char]) => char);
  return makeCharVocab([PAD_CHAR, UNKNOWN_CHAR, ...chars], resolved);
}

/**
 * The id of one character, `unknownId` when it is not in the map.
 *
 * @param charVocab the map
 * @param char one code point
 * @returns its id
 */
export function charId(charVocab: CharVocab, char: string): number {
  return charVocab.index.get(char) ?? charVocab.unknownId;
}

/**
 * Converts a character map to its JSON form.
 *
 * @param charVocab the map
 * @returns a plain object for `JSON.stringify`
 */
export function charVocabToJSON(charVocab: CharVocab): CharVocabJSON {
  return {
    format: "bilstm-ner-chars",
    version: 1,
    chars: charVocab.chars,
    options: charVocab.options,
  };
}

/**
 * Restores a character map from its JSON form, checking it: the format and version, `chars` as
 * distinct single characters after the reserved `<pad>` and `<unk>`, and the options' types.
 *
 * @param json the parsed JSON
 * @param source where it came from, for error messages
 * @returns the map
 * @throws {Error} naming `source` and the field when the object is not a valid character map
 */
export function charVocabFromJSON(json: unknown, source = "chars"): CharVocab {
  const fail = (problem: string): never => {
    throw new Error(
      `${source}: not a bilstm-ner character map (format, version or chars missing or ` +
        `invalid: ${problem})`,
    );
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("not a JSON object");
  }
  const value = json as Partial<Record<keyof CharVocabJSON, unknown>>;
  if (value.format !== "bilstm-ner-chars") {
    fail(`field "format" is ${JSON.stringify(value.format)}`);
  }
  if (value.version !== 1) fail(`field "version" is ${JSON.stringify(value.version)}, not 1`);
  const chars = value.chars;
  if (!Array.isArray(chars)) return fail(`field "chars" is not a list`);
  [PAD_CHAR, UNKNOWN_CHAR].forEach((entry, index) => {
    if (chars[index] !== entry) {
      fail(`field "chars[${index}]" must be "${entry}", got ${JSON.stringify(chars[index])}`);
    }
  });
  const seen = new Set<string>();
  chars.forEach((char: unknown, index: number) => {
    if (index >= 2 && !(typeof char === "string" && Array.from(char).length === 1)) {
      fail(`field "chars[${index}]" must be one character, got ${JSON.stringify(char)}`);
    }
    if (seen.has(char as string)) fail(`field "chars[${index}]" repeats ${JSON.stringify(char)}`);
    seen.add(char as string);
  });
  const options = value.options as Record<string, unknown> | undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return fail(`field "options" is missing or not an object`);
  }
  const minFrequency = options.minFrequency ?? 1;
  if (!(typeof minFrequency === "number" && Number.isInteger(minFrequency) && minFrequency >= 1)) {
    fail(
      `field "options.minFrequency" must be an integer >= 1, got ${JSON.stringify(minFrequency)}`,
    );
  }
  return makeCharVocab(chars as string[], { minFrequency: minFrequency as number });
}

/** How words longer than `maxChars` are cut. */
export type LongWordPolicy = "ends" | "start";

/** Options for {@linkcode encodeWordChars}. */
export interface WordCharOptions {
  /** Characters per word: shorter words are post-padded, longer ones cut. Default 16. */
  maxChars?: number;
  /**
   * How a longer word is cut: `"ends"` keeps its first `ceil(maxChars/2)` and last
   * `floor(maxChars/2)` characters (default), `"start"` keeps its first `maxChars`.
   */
  longWords?: LongWordPolicy;
}

/** Options for {@linkcode encodeChars}: the word options plus the row layout of `encodeSentences`. */
export interface CharEncodeOptions extends WordCharOptions, SentenceLayoutOptions {}

/** The row layout options shared with `encodeSentences` (lib/data/encode.ts); same defaults. */
export interface SentenceLayoutOptions {
  /** Row length: sentences are padded or truncated to it. Default 50. */
  maxLen?: number;
  /** Where padding goes: `"post"` (default) or `"pre"`. */
  padding?: "post" | "pre";
  /** Which end a long sentence loses: `"post"` keeps its beginning (default), `"pre"` its end. */
  truncating?: "post" | "pre";
}

/** Default {@linkcode WordCharOptions}. */
export const DEFAULT_WORD_CHAR_OPTIONS: Required<WordCharOptions> = {
  maxChars: 16,
  longWords: "ends",
};

/**
 * The character ids of one word, padded or cut to `maxChars`.
 *
 * @param word the word as in the text
 * @param charVocab the character map
 * @param options `maxChars` and the long-word policy
 * @param target where to write (default a new array of length `maxChars`)
 * @param offset the index in `target` of the first character
 * @returns `target`
 */
export function encodeWordChars(
  word: string,
  charVocab: CharVocab,
  options: WordCharOptions = {},
  target?: Int32Array,
  offset = 0,
): Int32Array {
  const { maxChars, longWords } = resolveWordCharOptions(options);
  const out = target ?? new Int32Array(maxChars);
  let chars = Array.from(word);
  if (chars.length > maxChars) {
    if (longWords === "start") {
      chars = chars.slice(0, maxChars);
    } else {
      const head = Math.ceil(maxChars / 2);
      chars = [...chars.slice(0, head), ...chars.slice(chars.length - (maxChars - head))];
    }
  }
  out.fill(charVocab.padId, offset, offset + maxChars);
  if (chars.length === 0) out[offset] = charVocab.unknownId;
  chars.forEach((char, k) => (out[offset + k] = charId(charVocab, char)));
  return out;
}

/**
 * Character ids of a list of words (e.g. the words of one sentence to tag).
 *
 * @param words the words
 * @param charVocab the character map
 * @param options `maxChars` and the long-word policy
 * @returns `Int32Array [words.length * maxChars]`
 */
export function encodeWordListChars(
  words: readonly string[],
  charVocab: CharVocab,
  options: WordCharOptions = {},
): Int32Array {
  const { maxChars } = resolveWordCharOptions(options);
  const out = new Int32Array(words.length * maxChars);
  words.forEach((word, i) => encodeWordChars(word, charVocab, options, out, i * maxChars));
  return out;
}

/**
 * Character ids of sentences, cell for cell aligned with `encodeSentences(sentences, vocab,
 * options).wordIds` when given the same `maxLen`, `padding` and `truncating`.
 *
 * @param sentences the sentences
 * @param charVocab the character map
 * @param options row layout (as for `encodeSentences`), `maxChars`, long-word policy
 * @returns `Int32Array [size * maxLen * maxChars]`, `padId` on padding words and characters
 */
export function encodeChars(
  sentences: readonly Pick<Sentence, "words">[],
  charVocab: CharVocab,
  options: CharEncodeOptions = {},
): Int32Array {
  const { maxChars } = resolveWordCharOptions(options);
  const { maxLen } = resolveLayout(options);
  const out = new Int32Array(sentences.length * maxLen * maxChars).fill(charVocab.padId);
  forEachCell(sentences, options, (word, cell) => {
    encodeWordChars(word, charVocab, options, out, cell * maxChars);
  });
  return out;
}

/**
 * Casing classes of words (Reimers & Gurevych 2017 style), ids for a small embedding or a
 * one-hot. Letters and digits are Unicode classes (`\p{Lu}`, `\p{Ll}`, `\p{Nd}`).
 */
export const Casing = {
  /** A padding word. */
  PAD: 0,
  /** Letters, all lowercase, no digits: "the", "don't". */
  LOWER: 1,
  /** First character uppercase, every other letter lowercase, no digits: "Paris", "A". */
  CAPITALISED: 2,
  /** At least two letters, all uppercase, no digits: "NATO", "U.S.". */
  ALL_CAPS: 3,
  /** Letters of both cases in another pattern, no digits: "iPhone", "McDonald". */
  MIXED: 4,
  /** Digits, optionally with `.`, `,` between them, nothing else: "1990", "3.5", "1,000". */
  NUMERIC: 5,
  /** Any other word with a digit: "3rd", "G8", "1990s", "-5". */
  CONTAINS_DIGIT: 6,
  /** No letter and no digit: "$", ",", "--". */
  OTHER: 7,
} as const;

/** A casing class id, 0..{@linkcode CASING_COUNT} - 1. */
export type CasingId = typeof Casing[keyof typeof Casing];

/** Number of casing classes, `PAD` included (the rows a casing embedding needs). */
export const CASING_COUNT = 8;

const NUMERIC_WORD = /^\p{Nd}+([.,]\p{Nd}+)*$/u;
const DIGIT = /\p{Nd}/u;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const LETTER = /\p{L}/u;

/**
 * The casing class of one real word (never `PAD`).
 *
 * @param word the word as in the text
 * @returns its {@linkcode Casing} id
 */
export function wordCasing(word: string): CasingId {
  if (NUMERIC_WORD.test(word)) return Casing.NUMERIC;
  if (DIGIT.test(word)) return Casing.CONTAINS_DIGIT;
  const chars = Array.from(word);
  const letters = chars.filter((c) => LETTER.test(c));
  if (letters.length === 0) return Casing.OTHER;
  const uppers = letters.filter((c) => UPPER.test(c)).length;
  if (uppers === 0) return Casing.LOWER;
  if (uppers === letters.length && letters.length >= 2) return Casing.ALL_CAPS;
  if (uppers === 1 && UPPER.test(chars[0])) return Casing.CAPITALISED;
  // Letters without case (e.g. CJK) count as neither; a lone capital is CAPITALISED above.
  return LOWER.test(word) ? Casing.MIXED : Casing.CAPITALISED;
}

/**
 * Casing classes of sentences, aligned with `encodeSentences(...).wordIds` for the same layout.
 *
 * @param sentences the sentences
 * @param options row layout, as for `encodeSentences`
 * @returns `Int32Array [size * maxLen]`, `Casing.PAD` (0) on padding words
 */
export function encodeCasing(
  sentences: readonly Pick<Sentence, "words">[],
  options: SentenceLayoutOptions = {},
): Int32Array {
  const { maxLen } = resolveLayout(options);
  const out = new Int32Array(sentences.length * maxLen).fill(Casing.PAD);
  forEachCell(sentences, options, (word, cell) => (out[cell] = wordCasing(word)));
  return out;
}

/** Visits each kept word with its flat cell index, exactly as `encodeSentences` places it. */
function forEachCell(
  sentences: readonly Pick<Sentence, "words">[],
  options: SentenceLayoutOptions,
  visit: (word: string, cell: number) => void,
): void {
  const { maxLen, padding, truncating } = resolveLayout(options);
  sentences.forEach((sentence, row) => {
    const length = sentence.words.length;
    const kept = Math.min(length, maxLen);
    const from = truncating === "pre" ? length - kept : 0;
    const to = padding === "pre" ? maxLen - kept : 0;
    for (let offset = 0; offset < kept; offset++) {
      visit(sentence.words[from + offset], row * maxLen + to + offset);
    }
  });
}

function resolveLayout(options: SentenceLayoutOptions): Required<SentenceLayoutOptions> {
  const maxLen = options.maxLen ?? 50;
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  }
  return { maxLen, padding: options.padding ?? "post", truncating: options.truncating ?? "post" };
}

function resolveWordCharOptions(options: WordCharOptions): Required<WordCharOptions> {
  const resolved = { ...DEFAULT_WORD_CHAR_OPTIONS, ...options };
  if (!Number.isInteger(resolved.maxChars) || resolved.maxChars < 1) {
    throw new RangeError(`maxChars must be a positive integer, got ${resolved.maxChars}`);
  }
  if (resolved.longWords !== "ends" && resolved.longWords !== "start") {
    throw new RangeError(`longWords must be "ends" or "start", got ${resolved.longWords}`);
  }
  return resolved;
}

function makeCharVocab(chars: string[], options: Required<CharVocabOptions>): CharVocab {
  return {
    chars,
    index: new Map(chars.map((char, id) => [char, id])),
    padId: 0,
    unknownId: 1,
    options: { minFrequency: options.minFrequency },
  };
}

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
