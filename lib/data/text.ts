/**
 * The Unicode rules of raw-text prediction, in one place: which characters separate tokens,
 * which tokens are symbols (emoji and the like, never part of an entity), the normal form words
 * are looked up in, and how offsets convert from UTF-16 code units to code points.
 *
 * - **Offsets.** Every offset the tokenizer and `predictText` return is a UTF-16 code unit index
 *   into the original string (a JavaScript string index: `text.slice(start, end)`). Python, Rust
 *   and most other languages index strings by code point; `predictText(…, { offsets:
 *   "codepoints" })` (and `deno task predict --offsets codepoints`) converts with
 *   {@linkcode codePointOffsets}. The two differ only after a character outside the Basic
 *   Multilingual Plane (an emoji, a rare CJK ideograph).
 * - **Separators.** Whitespace, control characters (NUL included) and the invisible format
 *   characters that have no width (zero-width space, joiner and non-joiner U+200B–U+200D, word
 *   joiner U+2060, byte-order mark U+FEFF, the invisible operators U+2061–U+2064 and the bidi
 *   marks U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) separate tokens and are never inside one.
 * - **Normal form.** Text is tokenized and words are looked up in Unicode NFC, so `Jose\u0301`
 *   (decomposed) tokenizes, tags and scores exactly like `José`; offsets and token texts still
 *   refer to the original, unnormalised string.
 * - **Symbols.** Emoji and other symbols (`\p{Extended_Pictographic}`, `\p{So}`, with their
 *   skin-tone modifiers, variation selectors and combining marks) are split from the words
 *   around them, and a token made of them only is not given to the model: it is tagged `O`
 *   with probability 1 and never belongs to an entity. The degree sign `°` is the exception,
 *   kept inside words as the GMB corpus does (`°C`).
 *
 * @module
 */

/**
 * The separator characters (see the module doc) as the inside of a regular expression character
 * class (for the `u` flag): whitespace, control characters, invisible zero-width characters.
 */
export const SEPARATOR_CLASS =
  "\\s\\p{Cc}\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u2069\\uFEFF";

/** What may follow a symbol inside one symbol token: modifiers, selectors, marks, tags. */
const SYMBOL_EXTEND = "[\\p{Emoji_Modifier}\\p{M}\\uFE0E\\uFE0F\\u{E0020}-\\u{E007F}]";
/** A symbol character (not the degree sign, which the corpus keeps inside words). */
const SYMBOL_BASE = "(?!°)[\\p{Extended_Pictographic}\\p{So}]";
/** A maximal run of symbols, matched at a given position (sticky). */
const SYMBOL_RUN = new RegExp(`(?:${SYMBOL_BASE}${SYMBOL_EXTEND}*)+`, "uy");
const SYMBOL_TOKEN = new RegExp(`^(?:${SYMBOL_BASE}${SYMBOL_EXTEND}*)+$`, "u");

/**
 * True when a token is made of symbols only (emoji, pictographs, `©`, `™`, arrows; see the
 * module doc). Such a token is tagged `O` and is never part of an entity.
 *
 * @example
 * ```ts
 * import { isSymbolToken } from "./text.ts";
 * isSymbolToken("👋🏽"); // true
 * isSymbolToken("🇫🇷"); // true
 * isSymbolToken("°C"); // false
 * ```
 *
 * @param text the token's text
 * @returns whether the model should not see it
 */
export function isSymbolToken(text: string): boolean {
  return SYMBOL_TOKEN.test(text);
}

/**
 * Where the run of symbols (emoji and the like, with their modifiers) that starts at `index`
 * ends.
 *
 * @example
 * ```ts
 * import { symbolRunEnd } from "./text.ts";
 * symbolRunEnd("Hi👋🏽!", 2); // 6
 * symbolRunEnd("Hi👋🏽!", 0); // 0: no symbol there
 * ```
 *
 * @param text the text
 * @param index a UTF-16 offset into it
 * @returns the UTF-16 offset one past the run, or `index` when no symbol starts there
 */
export function symbolRunEnd(text: string, index: number): number {
  SYMBOL_RUN.lastIndex = index;
  return SYMBOL_RUN.test(text) ? SYMBOL_RUN.lastIndex : index;
}

/**
 * The form a word is looked up in: Unicode NFC (ASCII is returned as it is, without work).
 *
 * @example
 * ```ts
 * import { lookupForm } from "./text.ts";
 * lookupForm("Jose\u0301") === "José"; // true
 * ```
 *
 * @param word a word as it appears in the text
 * @returns the word in NFC
 */
export function lookupForm(word: string): string {
  // deno-lint-ignore no-control-regex
  return /^[\u0000-\u007f]*$/.test(word) ? word : word.normalize("NFC");
}

/**
 * A converter from UTF-16 code unit offsets into `text` to code point offsets (what Python's
 * `str` and Rust's `chars()` count). Offsets must be at code point boundaries; an offset inside
 * a surrogate pair counts the pair as not yet started.
 *
 * @example
 * ```ts
 * import { codePointOffsets } from "./text.ts";
 * const toCodePoints = codePointOffsets("👋 Paris");
 * toCodePoints(3); // 2: "👋" is two code units but one code point
 * ```
 *
 * @param text the text the offsets index
 * @returns a function from a UTF-16 offset (0 to `text.length`) to a code point offset
 */
export function codePointOffsets(text: string): (utf16: number) => number {
  if (!/[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(text)) return (utf16) => utf16;
  const table = new Int32Array(text.length + 1);
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    table[i] = count;
    const unit = text.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      table[i + 1] = count;
      i++;
    }
    count++;
  }
  table[text.length] = count;
  return (utf16) => table[utf16];
}
