/**
 * Training data: the corpus's training split turned into padded rows, maps built from the rows
 * the optimiser sees, the validation tail held out, and batches gathered from the rows.
 *
 * @module
 */
import { buildCharVocab, type CharVocab, encodeCasing, encodeChars } from "../data/chars.ts";
import type { Sentence } from "../data/corpus.ts";
import {
  type EncodedSentences,
  encodeSentences,
  loadSplitFile,
  splitByIds,
  validationTail,
} from "../data/encode.ts";
import { buildVocab, type Vocab } from "../data/vocab.ts";
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import type { BatchFeatures } from "./batches.ts";
import type { ResolvedTrainConfig } from "./config.ts";

/** Padded rows ready for training. */
export interface TrainingData {
  /** Rows the optimizer sees. */
  fit: EncodedSentences;
  /** The held-out tail, for validation loss and accuracy. */
  validation: EncodedSentences;
  /** The held-out tail's sentences, for validation entity F1. */
  validationSentences: readonly Sentence[];
  /** Maps built from the `fit` rows. */
  vocab: Vocab;
  /** Per word id: 1 when the word occurs once in the `fit` rows. */
  singletons: Uint8Array;
  /** Character map built from the `fit` rows (char-feature models only). */
  chars?: CharVocab;
  /** Char ids and casing ids of the `fit` rows, aligned with `fit.wordIds` (char features). */
  fitFeatures?: RowFeatures;
  /** Char ids and casing ids of the `validation` rows (char features). */
  validationFeatures?: RowFeatures;
}

/** Char ids `[size * maxLen * maxChars]` and casing ids `[size * maxLen]` of encoded rows. */
export interface RowFeatures {
  /** Char ids (lib/data/chars.ts `encodeChars`). */
  charIds: Int32Array;
  /** Casing class ids (lib/data/chars.ts `encodeCasing`). */
  casingIds: Int32Array;
  /** Characters per word. */
  maxChars: number;
}

/** Characters per word of a config's model. */
function configMaxChars(config: ResolvedTrainConfig): number {
  return config.model.maxChars ?? DEFAULT_TAGGER_OPTIONS.maxChars;
}

/**
 * Builds maps from the training rows and encodes training and validation rows.
 *
 * @param trainSentences the training split, in order (its tail becomes validation)
 * @param config resolved settings
 * @param vocab maps to reuse (when resuming); built from the fit rows otherwise
 * @param chars character map to reuse (char-feature models); built from the fit rows otherwise
 * @returns the encoded data
 */
export function prepareData(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  vocab?: Vocab,
  chars?: CharVocab,
): TrainingData {
  const limited = config.limit === null ? trainSentences : trainSentences.slice(0, config.limit);
  const { train, validation } = validationTail(limited, config.validationSplit);
  const tags = buildVocab(trainSentences).tags; // the full split's tags, even when limited
  const maps = vocab ??
    buildVocab(train, { minFrequency: config.minFrequency, lowercase: config.lowercase, tags });
  const fit = encodeSentences(train, maps, { maxLen: config.maxLen });
  const counts = new Uint32Array(maps.words.length);
  for (let cell = 0; cell < fit.wordIds.length; cell++) {
    if (fit.mask[cell] === 1) counts[fit.wordIds[cell]]++;
  }
  const singletons = counts.map((count, id) => (count === 1 && id !== maps.unknownId ? 1 : 0));
  const data: TrainingData = {
    fit,
    validation: encodeSentences(validation, maps, { maxLen: config.maxLen }),
    validationSentences: validation,
    vocab: maps,
    singletons: new Uint8Array(singletons),
  };
  if (!config.model.charFeatures) return data;
  const charVocab = chars ?? buildCharVocab(train);
  const maxChars = configMaxChars(config);
  const features = (sentences: readonly Sentence[]): RowFeatures => ({
    charIds: encodeChars(sentences, charVocab, { maxLen: config.maxLen, maxChars }),
    casingIds: encodeCasing(sentences, { maxLen: config.maxLen }),
    maxChars,
  });
  return {
    ...data,
    chars: charVocab,
    fitFeatures: features(train),
    validationFeatures: features(validation),
  };
}

/**
 * The tutorial's training sentences, in its order.
 *
 * @param sentences the whole corpus
 * @returns the 38,367 training sentences of `data/tutorial_split.json` (for the full corpus)
 */
export async function tutorialTrainSentences(sentences: readonly Sentence[]): Promise<Sentence[]> {
  return splitByIds(sentences, await loadSplitFile()).train;
}

/**
 * Copies the given rows into fresh batch arrays; with `countPadding` the mask is
 * all ones, so padding positions (labelled `<pad>`) count like tokens.
 */
export function gatherBatch(
  data: EncodedSentences,
  rows: readonly number[],
  countPadding = false,
): { wordIds: Int32Array; tagIds: Int32Array; mask: Float32Array; tokens: number } {
  const width = data.maxLen;
  const wordIds = new Int32Array(rows.length * width);
  const tagIds = new Int32Array(rows.length * width);
  const mask = new Float32Array(rows.length * width);
  let tokens = 0;
  rows.forEach((row, index) => {
    const from = row * width;
    wordIds.set(data.wordIds.subarray(from, from + width), index * width);
    tagIds.set(data.tagIds.subarray(from, from + width), index * width);
    mask.set(data.mask.subarray(from, from + width), index * width);
    tokens += Math.min(data.lengths[row], width);
  });
  if (countPadding) return { wordIds, tagIds, mask: mask.fill(1), tokens: mask.length };
  return { wordIds, tagIds, mask, tokens };
}

/** The char ids and casing ids of the given rows (undefined without features). */
export function gatherFeatures(
  features: RowFeatures | undefined,
  rows: readonly number[],
  maxLen: number,
): BatchFeatures | undefined {
  if (!features) return undefined;
  const charWidth = maxLen * features.maxChars;
  const charIds = new Int32Array(rows.length * charWidth);
  const casingIds = new Int32Array(rows.length * maxLen);
  rows.forEach((row, index) => {
    charIds.set(
      features.charIds.subarray(row * charWidth, (row + 1) * charWidth),
      index * charWidth,
    );
    casingIds.set(features.casingIds.subarray(row * maxLen, (row + 1) * maxLen), index * maxLen);
  });
  return { charIds, casingIds };
}

/**
 * Replaces words seen once in training by `unknownId` with probability `rate`,
 * in place, so the unknown-word embedding learns from real contexts.
 *
 * @param wordIds batch word ids (modified)
 * @param mask 1 on real tokens
 * @param singletons per word id, 1 when the word occurs once in training
 * @param unknownId the id to substitute
 * @param options the rate and the seeded PRNG
 */
export function dropSingletons(
  wordIds: Int32Array,
  mask: Float32Array,
  singletons: Uint8Array,
  unknownId: number,
  options: { rate: number; random: () => number },
): void {
  if (options.rate <= 0) return;
  for (let cell = 0; cell < wordIds.length; cell++) {
    if (mask[cell] === 1 && singletons[wordIds[cell]] === 1 && options.random() < options.rate) {
      wordIds[cell] = unknownId;
    }
  }
}
