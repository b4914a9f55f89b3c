/**
 * A training batch as typed arrays, and the same batch as tensors trimmed to its longest row,
 * ready for the tagger's forward pass.
 *
 * Padding is trimmed: with a padding mask, the steps after the longest real sentence of a batch
 * change no real token's output and carry no loss, so a batch runs only `T` = its last
 * non-padding position + 1 time steps ({@linkcode trimmedLength}). Without a padding mask the
 * full `maxLen` is computed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TaggerBatch } from "../model/forward.ts";
import type { TaggerConfig } from "../model/config.ts";

/**
 * Per-batch arrays beyond word ids and gold tags: inputs of taggers with char features, and a
 * teacher's soft targets when distilling.
 */
export interface BatchFeatures {
  /** `[batchSize * maxLen * maxChars]` char ids, aligned with the word ids (lib/data/chars.ts). */
  charIds?: Int32Array;
  /** `[batchSize * maxLen]` casing class ids (lib/data/chars.ts `encodeCasing`). */
  casingIds?: Int32Array;
  /**
   * `[batchSize * maxLen * numTags]` a teacher's tag distribution at every real token (zeros at
   * padding), mixed into the loss with the trainer's `softTargetWeight` (lib/train/distill.ts).
   */
  softTargets?: Float32Array;
}

/** A batch of post-padded rows with gold tags, as the trainer receives it. */
export interface LabelledBatch {
  /** `[batchSize * maxLen]` word ids (0 = PAD). */
  wordIds: Int32Array;
  /** `[batchSize * maxLen]` gold tag ids. */
  tagIds: Int32Array;
  /** `[batchSize * maxLen]` 1 for tokens that count in loss and accuracy, 0 for padding. */
  mask: Float32Array;
  /** Rows. */
  batchSize: number;
  /** Char ids and casing ids (char features). */
  features: BatchFeatures;
}

/** A labelled batch trimmed and uploaded: what one training or validation step computes on. */
export interface BatchTensors {
  /** The tagger's input. */
  input: TaggerBatch;
  /** Time steps kept per row. */
  time: number;
  /** The distinct word ids of the batch, first-seen order (their embedding rows are gathered). */
  distinct: Int32Array;
  /** `distinct` as a tensor. */
  distinctIds: tf.Tensor1D;
  /** Gold tags of the kept steps, `[batchSize·time]`. */
  tags: Int32Array;
  /** `tags` as a tensor. */
  tagIds: tf.Tensor1D;
  /** Loss mask of the kept steps, `[batchSize·time]`. */
  maskValues: Float32Array;
  /** `maskValues` as a tensor. */
  mask: tf.Tensor1D;
  /** The teacher's distributions of the kept steps, `[batchSize·time·numTags]`, or null. */
  softTargets: Float32Array | null;
}

/**
 * The number of leading time steps of a post-padded `[batchSize, maxLen]` batch that can affect
 * a real token or the loss: one past the last position (over all rows) whose word id is not PAD
 * (0) or whose mask is non-zero; at least 1.
 *
 * @param wordIds `[batchSize * maxLen]` word ids
 * @param mask `[batchSize * maxLen]` loss mask, or null
 * @param batchSize rows
 * @param maxLen row length
 */
export function trimmedLength(
  wordIds: Int32Array,
  mask: Float32Array | null,
  batchSize: number,
  maxLen: number,
): number {
  let time = 1;
  for (let b = 0; b < batchSize; b++) {
    const row = b * maxLen;
    for (let t = maxLen - 1; t >= time; t--) {
      if (wordIds[row + t] !== 0 || (mask !== null && mask[row + t] !== 0)) {
        time = t + 1;
        break;
      }
    }
  }
  return time;
}

/**
 * The first `time` columns of a row-major `[rows, maxLen, inner]` array (`inner` values per
 * column; default 1).
 */
export function firstColumns<A extends Int32Array | Float32Array>(
  values: A,
  rows: number,
  maxLen: number,
  time: number,
  inner = 1,
): A {
  if (time === maxLen) return values;
  const out = new (values.constructor as { new (n: number): A })(rows * time * inner);
  const from = maxLen * inner;
  const to = time * inner;
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * from, r * from + to), r * to);
  return out;
}

/** Distinct ids of `ids` (first-seen order) and each position's index into them. */
export function distinctIds(ids: Int32Array): { distinct: Int32Array; local: Int32Array } {
  const index = new Map<number, number>();
  const local = new Int32Array(ids.length);
  const distinct: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    let k = index.get(ids[i]);
    if (k === undefined) {
      k = distinct.length;
      index.set(ids[i], k);
      distinct.push(ids[i]);
    }
    local[i] = k;
  }
  return { distinct: Int32Array.from(distinct), local };
}

/**
 * Checks a batch's sizes against a tagger and, for a CRF head, that real tokens form a prefix of
 * each row and never carry the padding label.
 *
 * @throws {Error} describing the first problem
 */
export function checkBatch(config: TaggerConfig, batch: LabelledBatch): void {
  const { wordIds, tagIds, mask, batchSize, features } = batch;
  const { maxLen, maxChars } = config;
  const n = batchSize * maxLen;
  if (wordIds.length !== n || tagIds.length !== n || mask.length !== n) {
    throw new Error(`trainer: expected ${n} = ${batchSize}×${maxLen} ids, tags and mask values`);
  }
  if (config.charFeatures && features.charIds?.length !== n * maxChars) {
    throw new Error(`trainer: this tagger needs extras.charIds (${n}×${maxChars} char ids)`);
  }
  if (config.charFeatures && config.casingDim > 0 && features.casingIds?.length !== n) {
    throw new Error(`trainer: this tagger needs extras.casingIds (${n} casing ids)`);
  }
  if (features.softTargets && features.softTargets.length !== n * config.numTags) {
    throw new Error(`trainer: extras.softTargets needs ${n}×${config.numTags} values`);
  }
  if (config.modelType !== "bilstm-crf") return;
  for (let r = 0; r < batchSize; r++) {
    let seenPadding = false;
    for (let t = 0; t < maxLen; t++) {
      const real = mask[r * maxLen + t] > 0.5;
      if (real && seenPadding) {
        throw new Error("trainer: a CRF tagger needs real tokens as a prefix of each row");
      }
      if (real && tagIds[r * maxLen + t] === 0) {
        throw new Error("trainer: a CRF tagger cannot train on the padding label (countPadding)");
      }
      if (!real) seenPadding = true;
    }
  }
}

/**
 * Trims a batch to the steps that matter and uploads it. The word embedding rows are read
 * through `distinctIds` (each distinct word once) so the gradient touches only those rows.
 *
 * @param config the tagger's config
 * @param batch the batch
 * @param trimPadding trim to the longest row (only with a padding mask)
 * @returns tensors to dispose with {@linkcode disposeBatchTensors}; `input.wordRows` is left for
 *   the caller to fill with the gathered rows
 */
export function batchTensors(
  config: TaggerConfig,
  batch: LabelledBatch,
  trimPadding: boolean,
): BatchTensors & { localIds: tf.Tensor1D } {
  const { batchSize, features } = batch;
  const { maxLen, maxChars } = config;
  const time = trimPadding && config.maskPadding
    ? trimmedLength(batch.wordIds, batch.mask, batchSize, maxLen)
    : maxLen;
  const ids = firstColumns(batch.wordIds, batchSize, maxLen, time);
  const { distinct, local } = distinctIds(ids);
  const tags = firstColumns(batch.tagIds, batchSize, maxLen, time);
  const maskValues = firstColumns(batch.mask, batchSize, maxLen, time);
  const charIds = config.charFeatures
    ? tf.tensor2d(
      firstColumns(features.charIds!, batchSize, maxLen, time, maxChars),
      [batchSize * time, maxChars],
      "int32",
    )
    : null;
  const casingIds = config.charFeatures && config.casingDim > 0
    ? tf.tensor1d(firstColumns(features.casingIds!, batchSize, maxLen, time), "int32")
    : null;
  return {
    input: {
      batchSize,
      time,
      wordIds: tf.tensor2d(ids, [batchSize, time], "int32"),
      charIds,
      casingIds,
    },
    time,
    distinct,
    distinctIds: tf.tensor1d(distinct, "int32"),
    localIds: tf.tensor1d(local, "int32"),
    tags,
    tagIds: tf.tensor1d(tags, "int32"),
    maskValues,
    mask: tf.tensor1d(maskValues, "float32"),
    softTargets: features.softTargets
      ? firstColumns(features.softTargets, batchSize, maxLen, time, config.numTags)
      : null,
  };
}

/** Frees what {@linkcode batchTensors} uploaded. */
export function disposeBatchTensors(tensors: BatchTensors & { localIds: tf.Tensor1D }): void {
  const { input } = tensors;
  tf.dispose([tensors.distinctIds, tensors.localIds, input.wordIds, tensors.tagIds, tensors.mask]);
  if (input.charIds) input.charIds.dispose();
  if (input.casingIds) input.casingIds.dispose();
}
