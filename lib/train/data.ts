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
import { loadTrainingSentences } from "../data/dataset.ts";
import { recaseSentences } from "../data/recase.ts";
import { buildVocab, type Vocab } from "../data/vocab.ts";
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import type { BatchFeatures } from "./batches.ts";
import type { ResolvedTrainConfig } from "./config.ts";
import type { ProgressSink } from "./progress.ts";

/** Padded rows ready for training. */
export interface TrainingData {
  /** Rows the optimizer sees. */
  fit: EncodedSentences;
  /** The sentences of the `fit` rows, in row order. */
  fitSentences: readonly Sentence[];
  /**
   * A teacher's tag distributions over the `fit` rows, `[fit.size * maxLen * numTags]` (zeros at
   * padding), when distilling (lib/train/distill.ts); else undefined.
   */
  softTargets?: Float32Array;
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
  /**
   * The `fit` rows uppercased and lowercased, for case augmentation
   * ({@linkcode ResolvedTrainConfig.caseAugmentation} above 0); else undefined.
   */
  caseVariants?: { upper: RowVariant; lower: RowVariant };
}

/** The fit rows with their words in another casing: word ids and (char features) features. */
export interface RowVariant {
  /** Word ids, aligned with `fit.wordIds`. */
  wordIds: Int32Array;
  /** Char ids and casing ids (char-feature models). */
  features?: RowFeatures;
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

/** The sentences with tags of types the maps lack read as `O` (for validation loss only). */
function knownTagsOnly(sentences: readonly Sentence[], vocab: Vocab): readonly Sentence[] {
  const unknown = (tag: string) => !vocab.tagIndex.has(tag);
  if (!sentences.some((sentence) => sentence.tags.some(unknown))) return sentences;
  return sentences.map((sentence) => ({
    ...sentence,
    tags: sentence.tags.map((tag) => unknown(tag) ? "O" : tag),
  }));
}

/** The sentences trained on and those validated on: `limit` applied, the dev file or the tail. */
function fitAndValidation(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  dev?: readonly Sentence[] | null,
): { train: readonly Sentence[]; validation: readonly Sentence[] } {
  const limited = config.limit === null ? trainSentences : trainSentences.slice(0, config.limit);
  return dev
    ? { train: limited, validation: dev }
    : validationTail(limited, config.validationSplit);
}

/**
 * The maps {@linkcode prepareData} builds when given none: the words of the sentences trained
 * on (after `limit` and the validation tail), the tags of all of `trainSentences`.
 *
 * @param trainSentences the training sentences
 * @param config resolved settings
 * @param dev validation sentences of their own, if any
 */
export function trainingVocab(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  dev?: readonly Sentence[] | null,
): Vocab {
  const { train } = fitAndValidation(trainSentences, config, dev);
  const tags = buildVocab(trainSentences).tags; // the full split's tags, even when limited
  return buildVocab(train, {
    minFrequency: config.minFrequency,
    lowercase: config.lowercase,
    caseFallback: config.caseFallback,
    tags,
  });
}

/**
 * Builds maps from the training rows and encodes training and validation rows.
 *
 * @param trainSentences the training sentences, in order (without `dev`, their tail becomes
 *   validation)
 * @param config resolved settings
 * @param vocab maps to reuse (when resuming); built from the fit rows otherwise
 * @param chars character map to reuse (char-feature models); built from the fit rows otherwise
 * @param dev validation sentences of their own (a dev file); default the tail of the training
 *   sentences. Tags of types the training rows lack count as `O` in validation loss and
 *   accuracy (validation F1 scores them as misses).
 * @returns the encoded data
 */
export function prepareData(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  vocab?: Vocab,
  chars?: CharVocab,
  dev?: readonly Sentence[] | null,
): TrainingData {
  const { train, validation } = fitAndValidation(trainSentences, config, dev);
  const maps = vocab ?? trainingVocab(trainSentences, config, dev);
  const fit = encodeSentences(train, maps, { maxLen: config.maxLen });
  const counts = new Uint32Array(maps.words.length);
  for (let cell = 0; cell < fit.wordIds.length; cell++) {
    if (fit.mask[cell] === 1) counts[fit.wordIds[cell]]++;
  }
  const singletons = counts.map((count, id) => (count === 1 && id !== maps.unknownId ? 1 : 0));
  const data: TrainingData = {
    fit,
    fitSentences: train,
    validation: encodeSentences(knownTagsOnly(validation, maps), maps, { maxLen: config.maxLen }),
    validationSentences: validation,
    vocab: maps,
    singletons: new Uint8Array(singletons),
  };
  const charVocab = config.model.charFeatures ? chars ?? buildCharVocab(train) : undefined;
  const maxChars = configMaxChars(config);
  const features = (sentences: readonly Sentence[]): RowFeatures | undefined =>
    charVocab && {
      charIds: encodeChars(sentences, charVocab, { maxLen: config.maxLen, maxChars }),
      casingIds: encodeCasing(sentences, { maxLen: config.maxLen }),
      maxChars,
    };
  const variant = (casing: "upper" | "lower"): RowVariant => {
    const sentences = recaseSentences(train, casing);
    return {
      wordIds: encodeSentences(sentences, maps, { maxLen: config.maxLen }).wordIds,
      features: features(sentences),
    };
  };
  const caseVariants = config.caseAugmentation > 0
    ? { upper: variant("upper"), lower: variant("lower") }
    : undefined;
  if (!charVocab) return { ...data, caseVariants };
  return {
    ...data,
    chars: charVocab,
    fitFeatures: features(train),
    validationFeatures: features(validation),
    caseVariants,
  };
}

/**
 * Case augmentation of a gathered batch, in place: each row, with probability `rate`, takes
 * its uppercased (half the time) or lowercased words, word ids and features. Draws nothing when
 * `rate` is 0, so runs without augmentation keep their random sequence. The epoch loop applies it
 * after the unknown-word replacement ({@linkcode dropSingletons}), so a recased row keeps every
 * word (the shipped caseless members were trained in that order).
 *
 * @param batch word ids of the gathered rows (modified)
 * @param features their char and casing ids (modified), char-feature models
 * @param rows the fit rows gathered, in batch order
 * @param data the training data (its `caseVariants`)
 * @param options the rate and the seeded PRNG
 */
export function augmentCase(
  batch: { wordIds: Int32Array },
  features: BatchFeatures | undefined,
  rows: readonly number[],
  data: TrainingData,
  options: { rate: number; random: () => number },
): void {
  const variants = data.caseVariants;
  if (options.rate <= 0 || !variants) return;
  const width = data.fit.maxLen;
  rows.forEach((row, index) => {
    const draw = options.random();
    if (draw >= options.rate) return;
    const variant = draw < options.rate / 2 ? variants.upper : variants.lower;
    batch.wordIds.set(variant.wordIds.subarray(row * width, (row + 1) * width), index * width);
    if (features?.charIds && features.casingIds && variant.features) {
      const charWidth = width * variant.features.maxChars;
      features.charIds.set(
        variant.features.charIds.subarray(row * charWidth, (row + 1) * charWidth),
        index * charWidth,
      );
      features.casingIds.set(
        variant.features.casingIds.subarray(row * width, (row + 1) * width),
        index * width,
      );
    }
  });
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

/** A teacher's distributions of the given fit rows (`width` values per row), or undefined. */
export function gatherSoftTargets(
  softTargets: Float32Array | undefined,
  rows: readonly number[],
  width: number,
): Float32Array | undefined {
  if (!softTargets) return undefined;
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, index) => {
    out.set(softTargets.subarray(row * width, (row + 1) * width), index * width);
  });
  return out;
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

/**
 * The sentences to train on: those given (`trainSentences`, `devSentences`), or those
 * `config.data` names (your files, or the bundled corpus's training split); with files, the
 * config records the format and scheme found, so the run (and its resumption) reads them the
 * same way. Warnings (types the dev file has and training lacks, repairs) go to `sink`.
 *
 * @param options the sentences given, if any
 * @param config the run's settings
 * @param sink where warnings go
 * @returns the settings (with the data as read) and the sentences
 */
export async function sentencesOf(
  options: { trainSentences?: readonly Sentence[]; devSentences?: readonly Sentence[] | null },
  config: ResolvedTrainConfig,
  sink: ProgressSink,
): Promise<
  { config: ResolvedTrainConfig; train: readonly Sentence[]; dev: readonly Sentence[] | null }
> {
  if (options.trainSentences) {
    return { config, train: options.trainSentences, dev: options.devSentences ?? null };
  }
  const loaded = await loadTrainingSentences(config.data);
  for (const warning of loaded.warnings) sink(`warning: ${warning}\n`);
  const [summary] = loaded.summaries;
  const data = config.data && summary
    ? { ...config.data, format: summary.format, tagScheme: summary.tagScheme }
    : config.data;
  return { config: { ...config, data }, train: loaded.train, dev: loaded.dev };
}
