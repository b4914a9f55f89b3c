/**
 * Prediction with a tagger (or an ensemble of them) and its maps: tags for tokenized sentences and entities with
 * offsets (UTF-16 code units, or code points on request) for raw text (the tutorial's step 7,
 * done properly).
 *
 * The tutorial tagged `sentence.split()` tokens and silently truncated at 50 words. Here raw text
 * goes through the corpus-style tokenizer and sentence splitter (`tokenize.ts`), unknown words map
 * to `<unk>`, the padding label is never predicted for a real token, and sentences longer than
 * the model's `maxLen` are tagged in overlapping windows (see {@linkcode planWindows}) so no
 * token is dropped.
 *
 * The step "model output → tag ids" is one swappable function, a {@linkcode TagDecoder}
 * ({@linkcode argmaxDecoder} by default). A `"bilstm-crf"` model (lib/model/tagger.ts) is decoded by
 * default with {@linkcode crfDecoder}: the Viterbi path (never the padding label), each tag's
 * probability being its CRF marginal `P(y_t = tag | sentence)` (forward–backward). A model with
 * char features needs the words themselves (`PredictOptions.words`; {@linkcode predictTokens},
 * {@linkcode predictText} and `evaluateModel` pass them): their char ids and casing classes are
 * encoded per window with the model folder's character map.
 *
 * An ensemble folder (lib/predict/ensemble.ts) predicts like one model: every member scores the same
 * windows (with its own word and character maps), the scores are averaged, and the average is
 * decoded (a CRF ensemble by Viterbi under its members' mean transition scores).
 *
 * @module
 */
import { encodeWordChars, wordCasing } from "../data/chars.ts";
import { type Vocab, wordId } from "../data/vocab.ts";
import { readCrfParameters } from "../model/crf/mod.ts";
import { argmaxDecoder, crfDecoder, type TagDecoder } from "./decoders.ts";
import { planWindows, type Window } from "./windows.ts";
import {
  caselessOf,
  describeMember,
  type MappedTagger,
  membersOf,
  type Predictor,
  type TaggerEnsemble,
} from "../model/mapped.ts";
import { routeByCasing } from "./_route.ts";
import type { PredictOptions, SequencePrediction } from "./predict_options.ts";
import { averageCrfParameters, averageScores } from "./ensemble.ts";
import { tagScores } from "./inference.ts";
import { lookupForm } from "../data/text.ts";

export { argmaxDecoder, crfDecoder, type DecodedTags, type TagDecoder } from "./decoders.ts";
export { planWindows, type Window } from "./windows.ts";
export type { PredictOptions, SequencePrediction } from "./predict_options.ts";

/** Whether two word maps are the same (same object, or the same words and casing rule). */
function sameWords(a: Vocab, b: Vocab): boolean {
  if (a === b) return true;
  if (
    a.words.length !== b.words.length || a.options.lowercase !== b.options.lowercase ||
    a.options.caseFallback !== b.options.caseFallback
  ) {
    return false;
  }
  return a.words.every((word, id) => word === b.words[id]);
}

/** A batch of windows laid out as one model's input rows. */
interface BatchInput {
  wordIds: Int32Array;
  lengths: Int32Array;
  charIds?: Int32Array;
  casingIds?: Int32Array;
}

/** Lays out a batch of windows (rows of the batch's first row length) for one tagger. */
function batchInput(
  batch: readonly { sentence: number; window: Window }[],
  sentences: readonly ArrayLike<number>[],
  words: readonly (readonly string[])[] | undefined,
  member: MappedTagger,
): BatchInput {
  const rowLength = batch[0].window.length;
  const { charFeatures, casingDim, maxChars } = member.tagger.config;
  const wordIds = new Int32Array(batch.length * rowLength).fill(member.vocab.padId);
  const lengths = new Int32Array(batch.length);
  const charIds = charFeatures ? new Int32Array(batch.length * rowLength * maxChars) : undefined;
  const casingIds = charFeatures && casingDim > 0
    ? new Int32Array(batch.length * rowLength)
    : undefined;
  batch.forEach(({ sentence, window }, row) => {
    const ids = sentences[sentence];
    lengths[row] = window.length;
    for (let offset = 0; offset < window.length; offset++) {
      const cell = row * rowLength + offset;
      wordIds[cell] = ids[window.start + offset];
      if (charIds) {
        const word = words![sentence][window.start + offset];
        encodeWordChars(word, member.chars!, { maxChars }, charIds, cell * maxChars);
      }
      if (casingIds) casingIds[cell] = wordCasing(words![sentence][window.start + offset]);
    }
  });
  return { wordIds, lengths, charIds, casingIds };
}

/** The decoder a predictor uses by default: Viterbi under the members' mean CRF, or argmax. */
function defaultDecoder(members: readonly MappedTagger[]): TagDecoder {
  const crfs = members.map((member) => member.tagger.parts.crf);
  if (crfs[0] === null) return argmaxDecoder;
  return crfDecoder(
    averageCrfParameters(crfs.map((crf) => readCrfParameters(crf!))),
    crfs[0].paddingTagId,
  );
}

/**
 * Each member's word ids for the sentences: the ids given, or (for a member with its own word
 * map) the words looked up in its map. Throws when the words are needed and missing.
 */
function memberWordIds(
  members: readonly MappedTagger[],
  sentences: readonly ArrayLike<number>[],
  words: readonly (readonly string[])[] | undefined,
): (readonly ArrayLike<number>[])[] {
  const needsWords = members.some((member) => member.tagger.config.charFeatures);
  // Members with their own word map (an ensemble of differently built taggers) look the words
  // up themselves; the others share the ids given.
  const ownMap = members.map((member) => !sameWords(member.vocab, members[0].vocab));
  const firstOwn = ownMap.indexOf(true);
  if (needsWords || firstOwn >= 0) {
    if (!words || words.length !== sentences.length) {
      const why = needsWords
        ? "this model has char features"
        : `ensemble member ${describeMember(members[firstOwn], firstOwn)} has its own word map`;
      throw new Error(`predict: ${why}: pass the words (options.words)`);
    }
    words.forEach((w, i) => {
      if (w.length !== sentences[i].length) {
        throw new Error(
          `predict: sentence ${i} has ${sentences[i].length} ids but ${w.length} words`,
        );
      }
    });
  }
  return members.map((member, index) =>
    ownMap[index]
      ? words!.map((sentence) => Int32Array.from(sentence, (word) => wordId(member.vocab, word)))
      : sentences
  );
}

/**
 * Tags sentences given as word ids, batching all windows of all sentences together.
 *
 * @param predictor a tagger with its maps, or an ensemble (its members' scores averaged), e.g. a
 *   loaded model folder
 * @param sentences word ids per sentence (any length; see {@linkcode planWindows})
 * @param options batch size, decoder, progress callback
 * @returns per sentence: tag ids and probabilities for every token, and the first window's ids
 */
export function predictWordIds(
  predictor: Predictor,
  sentences: readonly ArrayLike<number>[],
  options: PredictOptions = {},
): SequencePrediction[] {
  const caseless = caselessOf(predictor);
  if (caseless.length > 0 && options.words) {
    return routeByCasing(predictor as TaggerEnsemble, sentences, options, predictWordIds);
  }
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const members = membersOf(predictor);
  members.forEach((member, index) => {
    if (member.tagger.config.charFeatures && !member.chars) {
      throw new Error(
        `predict: ${describeMember(member, index)} has char features but no character map`,
      );
    }
  });
  const decoder = options.decoder ?? defaultDecoder(members);
  const words = options.words;
  const memberIds = memberWordIds(members, sentences, words);
  const { maxLen, numTags } = members[0].tagger.config;
  const results: SequencePrediction[] = sentences.map((ids) => ({
    tagIds: new Int32Array(ids.length),
    probabilities: new Float32Array(ids.length),
    firstWindowTagIds: new Int32Array(Math.min(ids.length, maxLen)),
    ...(options.distributions ? { distributions: new Float32Array(ids.length * numTags) } : {}),
  }));
  const rows = sentences.flatMap((ids, sentence) =>
    planWindows(ids.length, maxLen).map((window, index) => ({
      sentence,
      window,
      first: index === 0,
    }))
  );
  // Length bucketing: longest rows first (stable), so each batch holds rows of similar length
  // and the fast path computes only up to its longest row. Results go back by sentence index.
  const order = rows.map((_, i) => i).sort((a, b) =>
    rows[b].window.length - rows[a].window.length || a - b
  );
  for (let from = 0; from < order.length; from += batchSize) {
    const batch = order.slice(from, from + batchSize).map((i) => rows[i]);
    const outputs = members.map((member, index) => {
      const input = batchInput(batch, memberIds[index], words, member);
      const { scores, time } = tagScores(
        member.tagger,
        input.wordIds,
        input.lengths,
        batch.length,
        {
          charIds: input.charIds,
          casingIds: input.casingIds,
        },
      );
      return { scores, time };
    });
    const { scores, time } = averageScores(outputs, batch.length, numTags);
    const rowSize = time * numTags;
    batch.forEach(({ sentence, window, first }, row) => {
      const rowScores = scores.subarray(row * rowSize, (row + 1) * rowSize);
      const decoded = decoder(rowScores, window.length, numTags);
      const result = results[sentence];
      for (let token = window.keepFrom; token < window.keepTo; token++) {
        result.tagIds[token] = decoded.tagIds[token - window.start];
        result.probabilities[token] = decoded.probabilities[token - window.start];
      }
      if (result.distributions) {
        if (!decoded.distributions) {
          throw new Error("predict: distributions were asked for but the decoder gives none");
        }
        result.distributions.set(
          decoded.distributions.subarray(
            (window.keepFrom - window.start) * numTags,
            (window.keepTo - window.start) * numTags,
          ),
          window.keepFrom * numTags,
        );
      }
      if (first) result.firstWindowTagIds.set(decoded.tagIds);
    });
    options.onProgress?.(Math.min(from + batchSize, rows.length), rows.length);
  }
  return results;
}

/** A predicted tag for one token. */
export interface TokenPrediction {
  /** The tag, e.g. `B-geo` or `O` (never the padding label). */
  tag: string;
  /** The probability the model gave this tag. */
  probability: number;
}

/**
 * Tags tokenized sentences. Words are looked up in Unicode NFC (`Jose\u0301` like `José`); words
 * the model does not know go through `<unk>`; long sentences are tagged in windows (see
 * {@linkcode planWindows}); an empty sentence gives `[]`.
 *
 * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
 * @param sentences the tokens of each sentence
 * @param options batch size (default 256), decoder
 * @returns per sentence, per token: the tag and its probability
 */
export function predictTokens(
  predictor: Predictor,
  sentences: readonly (readonly string[])[],
  options: PredictOptions = {},
): TokenPrediction[][] {
  const { words, ids } = encodeTokens(predictor, sentences);
  return tokenPredictions(predictor, predictWordIds(predictor, ids, { ...options, words }));
}

/**
 * Tokenized sentences as a predictor reads them: each word in the form it is looked up in
 * (Unicode NFC, `lookupForm`), and its id in the predictor's (first member's) word map.
 *
 * @param predictor a tagger with its maps, or an ensemble
 * @param sentences the tokens of each sentence
 * @returns the normalised words, and their ids, per sentence
 */
export function encodeTokens(
  predictor: Predictor,
  sentences: readonly (readonly string[])[],
): { words: string[][]; ids: Int32Array[] } {
  const { vocab } = membersOf(predictor)[0];
  const words = sentences.map((sentence) => sentence.map(lookupForm));
  const ids = words.map((sentence) => Int32Array.from(sentence, (word) => wordId(vocab, word)));
  return { words, ids };
}

/**
 * Predictions as tag names with their probabilities, per token.
 *
 * @param predictor the predictor that made them (its tag map names the ids)
 * @param predicted per sentence, what {@linkcode predictWordIds} returned
 * @returns per sentence, per token: the tag and its probability
 */
export function tokenPredictions(
  predictor: Predictor,
  predicted: readonly SequencePrediction[],
): TokenPrediction[][] {
  const { vocab } = membersOf(predictor)[0];
  return predicted.map((prediction) =>
    Array.from(prediction.tagIds, (id, token) => ({
      tag: vocab.tags[id],
      probability: prediction.probabilities[token],
    }))
  );
}

export { OFFSET_UNITS, type OffsetUnit } from "../data/jsonl.ts";
