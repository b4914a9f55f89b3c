/**
 * Raw-English tokenizer and sentence splitter that follow the conventions of the GMB corpus
 * (`data/ner_dataset.csv.gz`), keeping character offsets into the original string.
 *
 * Conventions learned from the corpus:
 * - Punctuation is split off: `,` `.` `"` `(` `)` `[` `]` `?` `!` `:` `;` `%` and curly quotes.
 *   `...`, `…` and `--` stay whole tokens; a lone `-` between spaces is a token of its own.
 * - Clitics are separate tokens: `'s`, `'ll`, `'m`, `'re`, `'ve`, `'d` (also with `’`) and `n't`
 *   (`don't` -> `do` `n't`, `can't` -> `ca` `n't`, as in the corpus). A plural possessive
 *   apostrophe is split too: `rebels'` -> `rebels` `'`.
 * - A currency sign is split from its number: `$1` -> `$` `1`; `30%` -> `30` `%`.
 * - Numbers stay whole: `10,000`, `2,00,000`, `3.5`, `3:34`.
 * - Hyphenated words stay whole: `al-Qaida`, `two-day`, `U.S.-led`; apostrophes inside a word
 *   stay: `Shi'ite`, `O'Connor`, `d'Ivoire`.
 * - Abbreviations keep their period: `U.S.`, `U.N.`, `a.m.`, `Mr.`, `Jan.`, `Corp.`, `W.`
 *   (initials). As in the corpus, a sentence-final `U.S.` absorbs the full stop: `... in the U.S.`
 *   yields `U.S.` with no extra `.` token.
 * - Any Unicode whitespace (spaces, tabs, newlines, NBSP) separates tokens, and so do control
 *   characters (NUL included) and invisible zero-width characters (U+200B–U+200D, U+2060, U+FEFF,
 *   bidi marks): none is ever inside a token.
 * - Emoji and other symbols (`\p{Extended_Pictographic}`, `\p{So}` but the degree sign, with
 *   their modifiers) are split from the words around them: `Obama👋🏽` -> `Obama` `👋🏽`.
 * - Text is tokenized in Unicode NFC: `Jose\u0301's` splits exactly like `José's`, while the
 *   tokens' text and offsets still refer to the original string.
 *
 * Offsets are UTF-16 code unit indices (JavaScript string indices); see `text.ts` for these
 * Unicode rules and for converting offsets to code points.
 *
 * @module
 */
import { lookupForm, SEPARATOR_CLASS, symbolRunEnd } from "./text.ts";
import { KNOWN_ABBREVIATIONS, NON_FINAL_ABBREVIATIONS, SENTENCE_STARTERS } from "./_word_lists.ts";

/**
 * A token with its offsets into the original text (`end` exclusive), in UTF-16 code units
 * (JavaScript string indices).
 */
export interface Token {
  /** The token text; always equal to `input.slice(start, end)` (not normalised). */
  text: string;
  /** UTF-16 offset of the first code unit in the input. */
  start: number;
  /** UTF-16 offset one past the last code unit in the input. */
  end: number;
}

/** A sentence span in the original text (`end` exclusive), in UTF-16 code units. */
export interface SentenceSpan {
  /** Offset of the first code unit of the sentence's first token. */
  start: number;
  /** Offset one past the last code unit of the sentence's last token. */
  end: number;
}

/** Characters that are always a token of their own, wherever they occur. */
const ALWAYS_SPLIT = new Set([
  '"',
  "“",
  "”",
  "„",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ";",
  "!",
  "?",
  "…",
]);
/** Leading characters split off a word: opening quotes and currency signs. */
const LEADING_SPLIT = new Set(["'", "‘", "’", "$", "£", "€", "¥"]);
/** Trailing characters split off a word. */
const TRAILING_SPLIT = new Set(["'", "‘", "’", "%"]);
/** Clitic suffixes split off a word (lower-cased comparison). */
const CLITIC_PATTERN = /^(.+?)(n['’]t|['’](?:s|ll|m|re|ve|d))$/i;
/** A clitic standing alone, as in already-tokenized text (`'s`, `n't`). */
const BARE_CLITIC = /^(?:n['’]t|['’](?:s|ll|m|re|ve|d))$/i;

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= "0" && ch <= "9";

/**
 * True when `word` (which ends with ".") is an abbreviation whose period belongs to it.
 * Handles initialisms (`U.S.`, `a.m.`, `S.p.A.`, `W.`), known abbreviations (`Mr.`, `Jan.`),
 * and hyphenated compounds ending in one (`anti-U.S.`, `Lt.-Gen.`).
 */
export function isAbbreviation(word: string): boolean {
  if (!word.endsWith(".") || word.length < 2) return false;
  const lastPart = word.slice(word.lastIndexOf("-") + 1);
  if (lastPart.length < 2) return false;
  if (/^\p{L}\.$/u.test(lastPart)) return true;
  if (/^\p{L}{1,2}(?:\.\p{L}{1,2})+\.$/u.test(lastPart)) return true;
  return KNOWN_ABBREVIATIONS.has(lastPart.slice(0, -1));
}

/** Combining marks right after a position (they stay with the character before them). */
const MARKS = /\p{M}*/uy;

/** A run of characters that are not separators (whitespace, zero-width characters, NUL). */
const CHUNK = new RegExp(`[^${SEPARATOR_CLASS}]+`, "gu");

/**
 * Splits a chunk without separators into pieces at always-split punctuation, commas, colons and
 * runs of symbols (emoji).
 */
function splitPunctuation(chunk: string, offset: number, out: Token[]): void {
  let pieceStart = 0;
  const flush = (end: number) => {
    if (end > pieceStart) splitWord(chunk.slice(pieceStart, end), offset + pieceStart, out);
  };
  for (let i = 0; i < chunk.length; i++) {
    const ch = chunk[i];
    let single = ALWAYS_SPLIT.has(ch);
    if (ch === "," || ch === ":") {
      // Keep 10,000 and 3:34 whole, and the colon of a URL scheme (https://).
      const numeric = isDigit(chunk[i - 1]) && isDigit(chunk[i + 1]);
      const urlScheme = ch === ":" && chunk.startsWith("//", i + 1);
      single = !numeric && !urlScheme;
    }
    let end = i + 1;
    if (single) {
      MARKS.lastIndex = end;
      if (MARKS.test(chunk)) end = MARKS.lastIndex;
    } else if (ch.charCodeAt(0) >= 0x80) {
      end = symbolRunEnd(chunk, i);
      single = end > i;
    }
    if (single) {
      flush(i);
      out.push({ text: chunk.slice(i, end), start: offset + i, end: offset + end });
      pieceStart = end;
      i = end - 1;
    }
  }
  flush(chunk.length);
}

/** True for a code point that starts a new combining sequence (not a mark, not a Hangul V/T). */
function startsSequence(codePoint: number, ch: string): boolean {
  if (
    (codePoint >= 0x1160 && codePoint <= 0x11ff) || (codePoint >= 0xd7b0 && codePoint <= 0xd7ff)
  ) {
    return false;
  }
  return !/^\p{M}$/u.test(ch);
}

/**
 * Tokenizes a chunk that NFC changes: tokenizes its NFC form and maps the tokens back onto the
 * original chunk, one combining sequence at a time (a token never ends inside a sequence;
 * tokens that would overlap in the original are merged). Falls back to tokenizing the chunk as
 * it is when normalising sequence by sequence does not give the chunk's NFC.
 */
function splitNormalised(chunk: string, offset: number, out: Token[]): void {
  const originalStarts: number[] = [];
  const normalStarts: number[] = [];
  let normal = "";
  let sequenceStart = 0;
  const closeSequence = (end: number) => {
    originalStarts.push(sequenceStart);
    normalStarts.push(normal.length);
    normal += chunk.slice(sequenceStart, end).normalize("NFC");
    sequenceStart = end;
  };
  for (let i = 0; i < chunk.length;) {
    const codePoint = chunk.codePointAt(i)!;
    const ch = String.fromCodePoint(codePoint);
    if (i > 0 && startsSequence(codePoint, ch)) closeSequence(i);
    i += ch.length;
  }
  closeSequence(chunk.length);
  if (normal !== chunk.normalize("NFC")) {
    splitPunctuation(chunk, offset, out);
    return;
  }
  const pieces: Token[] = [];
  splitPunctuation(normal, 0, pieces);
  originalStarts.push(chunk.length);
  normalStarts.push(normal.length);
  let sequence = 0;
  let last: Token | undefined;
  for (const piece of pieces) {
    while (normalStarts[sequence + 1] <= piece.start) sequence++;
    const start = originalStarts[sequence];
    let after = sequence;
    while (normalStarts[after + 1] < piece.end) after++;
    const end = originalStarts[after + 1];
    if (last !== undefined && start < last.end - offset) {
      last.end = offset + Math.max(end, last.end - offset);
      last.text = chunk.slice(last.start - offset, last.end - offset);
      continue;
    }
    last = { text: chunk.slice(start, end), start: offset + start, end: offset + end };
    out.push(last);
  }
}

/** Splits one word-like piece (no whitespace, no always-split punctuation) into tokens. */
function splitWord(word: string, offset: number, out: Token[]): void {
  let lo = 0;
  let hi = word.length;
  const leading: Token[] = [];
  const trailing: Token[] = [];
  const tok = (s: number, e: number): Token => ({
    text: word.slice(s, e),
    start: offset + s,
    end: offset + e,
  });

  for (let changed = true; changed && lo < hi;) {
    changed = false;
    const rest = word.slice(lo, hi);
    if (rest.startsWith("--") && hi - lo > 2) {
      leading.push(tok(lo, lo + 2));
      lo += 2;
      changed = true;
    } else if (rest.startsWith("...") && hi - lo > 3) {
      leading.push(tok(lo, lo + 3));
      lo += 3;
      changed = true;
    } else if (LEADING_SPLIT.has(rest[0]) && hi - lo > 1 && !BARE_CLITIC.test(rest)) {
      // Keep '80s whole; otherwise a leading apostrophe is an opening quote.
      if (/^['’]\d0s$/.test(rest)) break;
      leading.push(tok(lo, lo + 1));
      lo += 1;
      changed = true;
    }
  }

  for (let changed = true; changed && lo < hi;) {
    changed = false;
    const rest = word.slice(lo, hi);
    if (rest.length > 3 && rest.endsWith("...")) {
      trailing.push(tok(hi - 3, hi));
      hi -= 3;
      changed = true;
    } else if (rest.length > 2 && rest.endsWith("--")) {
      trailing.push(tok(hi - 2, hi));
      hi -= 2;
      changed = true;
    } else if (rest.length > 1 && TRAILING_SPLIT.has(rest[rest.length - 1])) {
      trailing.push(tok(hi - 1, hi));
      hi -= 1;
      changed = true;
    } else if (rest.length > 1 && rest.endsWith(".") && !rest.endsWith("..")) {
      if (isAbbreviation(rest)) break;
      trailing.push(tok(hi - 1, hi));
      hi -= 1;
      changed = true;
    } else if (rest.length > 1 && rest.endsWith(",")) {
      trailing.push(tok(hi - 1, hi));
      hi -= 1;
      changed = true;
    }
  }

  out.push(...leading);
  if (hi > lo) {
    const core = word.slice(lo, hi);
    const clitic = CLITIC_PATTERN.exec(core);
    if (clitic && /[\p{L}\p{N}.]$/u.test(clitic[1])) {
      const split = lo + clitic[1].length;
      out.push(tok(lo, split), tok(split, hi));
    } else {
      out.push(tok(lo, hi));
    }
  }
  out.push(...trailing.reverse());
}

/**
 * Tokenizes raw English text following GMB corpus conventions (see the module doc).
 * Offsets index the original string in UTF-16 code units:
 * `token.text === text.slice(token.start, token.end)`. Empty or whitespace-only input gives `[]`.
 *
 * @example
 * tokenize("Apple is looking at buying U.K. startup for $1 billion").map((t) => t.text);
 * // ["Apple", "is", "looking", "at", "buying", "U.K.", "startup", "for", "$", "1", "billion"]
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(CHUNK)) {
    const chunk = match[0];
    if (lookupForm(chunk) === chunk) splitPunctuation(chunk, match.index, tokens);
    else splitNormalised(chunk, match.index, tokens);
  }
  return tokens;
}

const SENTENCE_END = new Set([".", "?", "!", "...", "…"]);
const CLOSERS = new Set(["”", "’", "'", ")", "]"]);

/** True when the token starts with a lowercase letter (then no sentence break before it). */
const startsLowercase = (token: Token): boolean => /^\p{Ll}/u.test(lookupForm(token.text));

/**
 * Splits tokenized text into sentences. A sentence ends after `.`, `?`, `!`, `...` or `…`
 * (plus any closing quotes/brackets right after it) unless the next token starts lowercase; after
 * an abbreviation such as `U.S.` when the next token is a common sentence opener (`The`, `He`,
 * ...); and at a blank line. Titles (`Mr.`, `Dr.`, `Gen.`) and single initials (`W.`) never end
 * a sentence except at a blank line.
 */
export function tokenizeSentences(text: string): Token[][] {
  const tokens = tokenize(text);
  const sentences: Token[][] = [];
  let current: Token[] = [];
  let openDoubleQuotes = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    current.push(token);
    if (token.text === '"') openDoubleQuotes ^= 1;
    const next = tokens[i + 1];
    if (next === undefined) break;
    let boundary = false;
    if (SENTENCE_END.has(token.text)) {
      // Absorb closing quotes and brackets.
      while (i + 1 < tokens.length) {
        const t = tokens[i + 1];
        const closesQuote = t.text === '"' && openDoubleQuotes === 1;
        if (!CLOSERS.has(t.text) && !closesQuote) break;
        if (t.text === '"') openDoubleQuotes = 0;
        current.push(t);
        i++;
      }
      const after = tokens[i + 1];
      boundary = after !== undefined && !startsLowercase(after);
    } else if (
      token.text.endsWith(".") && isAbbreviation(lookupForm(token.text)) &&
      !NON_FINAL_ABBREVIATIONS.has(token.text) && !/^\p{L}\.$/u.test(lookupForm(token.text))
    ) {
      boundary = SENTENCE_STARTERS.has(next.text);
    }
    // The gap holds separators only (whitespace, zero-width characters): two newlines in it
    // make a blank line.
    const gap = text.slice(tokens[i].end, tokens[i + 1]?.start ?? text.length);
    if (/\n[^\n]*\n/.test(gap)) boundary = true;
    if (boundary) {
      sentences.push(current);
      current = [];
      openDoubleQuotes = 0;
    }
  }
  if (current.length > 0) sentences.push(current);
  return sentences;
}

/**
 * Sentence spans of raw text, from the first token's start to the last token's end
 * (see {@link tokenizeSentences} for the rules). Whitespace-only text gives `[]`.
 */
export function splitSentences(text: string): SentenceSpan[] {
  return tokenizeSentences(text).map((s) => ({ start: s[0].start, end: s[s.length - 1].end }));
}
