/**
 * Prediction on raw text: sentences and tokens with offsets, tags, and entities (the tutorial's
 * step 7, done properly); split from ./predict.ts, which re-exports it.
 *
 * @module
 */
import { OFFSET_UNITS, type OffsetUnit } from "../data/jsonl.ts";
import { type EntityScheme, extractEntities } from "../data/entities.ts";
import type { Predictor } from "../model/mapped.ts";
import { type PredictOptions, predictTokens, type TokenPrediction } from "./predict.ts";
import { codePointOffsets, isSymbolToken } from "../data/text.ts";
import { tokenizeSentences } from "../data/tokenize.ts";

export { OFFSET_UNITS, type OffsetUnit } from "../data/jsonl.ts";

/**
 * A token of raw text with its predicted tag. A token of symbols only (emoji; see `text.ts`) is
 * not given to the model: its tag is `O`, its probability 1.
 */
export interface TaggedToken extends TokenPrediction {
  /** The token as it is in the input (not normalised), `input.slice(start, end)`. */
  text: string;
  /** Offset of its first character in the input (see {@linkcode PredictTextOptions.offsets}). */
  start: number;
  /** Offset one past its last character. */
  end: number;
}

/** An entity found in raw text. */
export interface TextEntity {
  /** The entity's text, `input.slice(start, end)` (original spacing kept). */
  text: string;
  /** Its type without the `B-`/`I-` prefix, e.g. `geo`. */
  type: string;
  /** Offset of its first character in the input (see {@linkcode PredictTextOptions.offsets}). */
  start: number;
  /** Offset one past its last character. */
  end: number;
  /** The mean probability of its tokens' tags. */
  score: number;
}

/** Tokens and entities predicted for one text. */
export interface TextPrediction {
  /** Every token of the text, in order. */
  tokens: TaggedToken[];
  /** The entities, in order. */
  entities: TextEntity[];
}

/** Options for {@linkcode predictText} and {@linkcode predictTexts}. */
export interface PredictTextOptions extends PredictOptions {
  /**
   * How predicted tags group into entities (see `extractEntities`). Default `"conlleval"`
   * (lenient): an `I-x` that does not continue an `x` entity starts one, so every non-`O` token
   * belongs to an entity a user sees. `"strict"` drops such tokens, as strict evaluation does.
   */
  scheme?: EntityScheme;
  /**
   * What the offsets (`start`, `end` of tokens and entities) count. Default `"utf16"`: UTF-16
   * code units, i.e. JavaScript string indices (`text.slice(start, end)`). `"codepoints"`:
   * Unicode code points, the indices of Python's `str` (`text[start:end]`) and of
   * `[...text].slice(start, end).join("")`. They differ after any character outside the Basic
   * Multilingual Plane, such as an emoji.
   */
  offsets?: OffsetUnit;
}

/** The offset unit asked for (default UTF-16), checked. */
function offsetUnit(options: PredictTextOptions): OffsetUnit {
  const offsets = options.offsets ?? "utf16";
  if (!OFFSET_UNITS.includes(offsets)) {
    throw new RangeError(`offsets must be "utf16" or "codepoints", got ${JSON.stringify(offsets)}`);
  }
  return offsets;
}

/**
 * Tags raw text: splits it into sentences and tokens (GMB conventions, offsets kept), tags every
 * token and groups the tags into entities within each sentence. Any length works; empty or
 * whitespace-only text gives no tokens and no entities.
 *
 * Unicode (see `text.ts`): words are looked up in NFC, zero-width characters and NUL separate
 * tokens, emoji and other symbols are tagged `O` without being shown to the model (so never part
 * of an entity), and offsets are UTF-16 code units unless `options.offsets` is `"codepoints"`.
 *
 * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
 * @param text the text
 * @param options entity scheme (default lenient `"conlleval"`), offset unit (default `"utf16"`),
 *   batch size, decoder
 * @returns tokens with offsets, tags and probabilities; entities with offsets, types and scores
 */
export function predictText(
  predictor: Predictor,
  text: string,
  options: PredictTextOptions = {},
): TextPrediction {
  return predictTexts(predictor, [text], options)[0];
}

/**
 * Tags several raw texts, batching the sentences of all of them together
 * (see {@linkcode predictText}).
 *
 * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
 * @param texts the texts
 * @param options entity scheme, offset unit, batch size, decoder
 * @returns one prediction per text, in order
 * @throws {RangeError} when `options.offsets` is neither `"utf16"` nor `"codepoints"`
 */
export function predictTexts(
  predictor: Predictor,
  texts: readonly string[],
  options: PredictTextOptions = {},
): TextPrediction[] {
  offsetUnit(options);
  const prepared = prepareTexts(texts);
  return assembleTexts(
    texts,
    prepared,
    predictTokens(predictor, prepared.sentences, options),
    options,
  );
}

/** Raw texts split into sentences and tokens, and the words the model sees. */
export interface PreparedTexts {
  /** Per text, its sentences' tokens with offsets. */
  documents: ReturnType<typeof tokenizeSentences>[];
  /** Per text, sentence and token: whether it is a symbol token (tagged `O`, not shown). */
  symbols: boolean[][][];
  /** Every sentence of every text, in order, as the words the model tags (symbols left out). */
  sentences: string[][];
}

/**
 * The first half of {@linkcode predictTexts}: tokenizes the texts and lists the words to tag
 * (for whoever tags them, e.g. a prediction pool).
 *
 * @param texts the texts
 * @returns the tokens and the words to tag
 */
export function prepareTexts(texts: readonly string[]): PreparedTexts {
  const documents = texts.map((text) => tokenizeSentences(text));
  // Symbol tokens (emoji) are not shown to the model: they are tagged O.
  const symbols = documents.map((sentences) =>
    sentences.map((sentence) => sentence.map((token) => isSymbolToken(token.text)))
  );
  const sentences = documents.flatMap((sentences, document) =>
    sentences.map((sentence, s) =>
      sentence.filter((_, t) => !symbols[document][s][t]).map((token) => token.text)
    )
  );
  return { documents, symbols, sentences };
}

/**
 * The second half of {@linkcode predictTexts}: tokens with their tags, grouped into entities,
 * with offsets in the unit asked for.
 *
 * @param texts the texts
 * @param prepared what {@linkcode prepareTexts} made of them
 * @param predictions the tags of `prepared.sentences`, in order
 * @param options entity scheme, offset unit
 * @returns one prediction per text
 */
export function assembleTexts(
  texts: readonly string[],
  prepared: PreparedTexts,
  predictions: readonly (readonly TokenPrediction[])[],
  options: PredictTextOptions = {},
): TextPrediction[] {
  const scheme = options.scheme ?? "conlleval";
  const offsets = offsetUnit(options);
  const { documents, symbols } = prepared;
  let next = 0;
  return documents.map((sentences, document) => {
    const text = texts[document];
    const result: TextPrediction = { tokens: [], entities: [] };
    sentences.forEach((sentence, s) => {
      const tags = predictions[next++];
      let scored = 0;
      const tagged: TaggedToken[] = sentence.map((token, t) =>
        symbols[document][s][t]
          ? { ...token, tag: "O", probability: 1 }
          : { ...token, ...tags[scored++] }
      );
      for (const token of tagged) result.tokens.push(token); // a spread overflows on 100k+ tokens
      for (const entity of extractEntities(tagged.map((t) => t.tag), { scheme })) {
        const span = tagged.slice(entity.start, entity.end);
        const start = span[0].start;
        const end = span[span.length - 1].end;
        result.entities.push({
          text: text.slice(start, end),
          type: entity.type,
          start,
          end,
          score: span.reduce((sum, t) => sum + t.probability, 0) / span.length,
        });
      }
    });
    if (offsets === "codepoints") {
      const toCodePoints = codePointOffsets(text);
      for (const item of [...result.tokens, ...result.entities]) {
        item.start = toCodePoints(item.start);
        item.end = toCodePoints(item.end);
      }
    }
    return result;
  });
}
