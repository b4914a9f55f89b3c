/**
 * A tagger's scores for a batch of post-padded rows, computed only up to the batch's longest
 * row, through the tagger's one forward pass (lib/model/forward.ts).
 *
 * A softmax tagger gives probabilities; a CRF tagger gives emission scores (`TagScores.output`
 * says which), decoded with Viterbi by lib/predict/predict.ts. A tagger that does not mask
 * padding (the tutorial's fault, reproduced with `countPadding`) sees every row padded to its
 * full `maxLen`, as it was trained.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tagger } from "../model/tagger.ts";

/** Tag scores of a batch. */
export interface TagScores {
  /**
   * Row-major `[batchSize, time, numTags]`: softmax probabilities, or for a CRF tagger its
   * emission scores (see `output`).
   */
  scores: Float32Array;
  /** Time steps per row in `scores` (≥ every row's length). */
  time: number;
  /** Labels per position. */
  numTags: number;
  /** What `scores` holds: `"probabilities"` (softmax head) or `"emissions"` (CRF head). */
  output: "probabilities" | "emissions";
}

/** Per-token inputs beyond word ids, laid out like the `wordIds` given to {@link tagScores}. */
export interface ScoreFeatures {
  /** `[batchSize * rowLength * maxChars]` char ids (0 = padding char). */
  charIds?: Int32Array;
  /** `[batchSize * rowLength]` casing class ids (0 = padding word). */
  casingIds?: Int32Array;
}

/** Copies the first `length` cells (of `inner` values each) of each row into rows of `time`. */
function repack(
  values: Int32Array,
  lengths: ArrayLike<number>,
  rowLength: number,
  time: number,
  inner: number,
): Int32Array {
  const batch = lengths.length;
  const out = new Int32Array(batch * time * inner);
  for (let b = 0; b < batch; b++) {
    out.set(
      values.subarray(b * rowLength * inner, (b * rowLength + lengths[b]) * inner),
      b * time * inner,
    );
  }
  return out;
}

/** Checks the batch layout; returns the row length and the longest row. */
function checkLayout(
  tagger: Tagger,
  wordIds: Int32Array,
  lengths: ArrayLike<number>,
  batchSize: number,
  features: ScoreFeatures,
): { rowLength: number; longest: number } {
  if (!Number.isInteger(batchSize) || batchSize < 1 || lengths.length !== batchSize) {
    throw new RangeError(`tagScores: need batchSize ≥ 1 and one length per row`);
  }
  const rowLength = wordIds.length / batchSize;
  if (!Number.isInteger(rowLength)) {
    throw new RangeError(`tagScores: ${wordIds.length} ids do not make ${batchSize} rows`);
  }
  const { maxLen, maxChars, charFeatures, casingDim, vocabSize } = tagger.config;
  if (rowLength > maxLen) {
    throw new RangeError(`tagScores: rows of ${rowLength} exceed the tagger's ${maxLen}`);
  }
  let longest = 0;
  for (let b = 0; b < batchSize; b++) {
    if (!(lengths[b] >= 0 && lengths[b] <= rowLength)) {
      throw new RangeError(`tagScores: row ${b} has length ${lengths[b]} > ${rowLength}`);
    }
    longest = Math.max(longest, lengths[b]);
    for (let t = 0; t < lengths[b]; t++) {
      const id = wordIds[b * rowLength + t];
      if (!(id >= 0 && id < vocabSize)) {
        throw new RangeError(`tagScores: word id ${id} is outside the vocabulary`);
      }
    }
  }
  if (charFeatures && features.charIds?.length !== wordIds.length * maxChars) {
    throw new RangeError(
      `tagScores: this tagger needs ${wordIds.length}×${maxChars} char ids (features.charIds)`,
    );
  }
  if (charFeatures && casingDim > 0 && features.casingIds?.length !== wordIds.length) {
    throw new RangeError(`tagScores: this tagger needs ${wordIds.length} casing ids`);
  }
  return { rowLength, longest };
}

/**
 * Tag scores for a batch of post-padded rows.
 *
 * @param tagger the tagger
 * @param wordIds row-major `[batchSize, rowLength]` word ids (`rowLength ≤ maxLen`); positions at
 *   or after a row's length are ignored (treated as PAD, id 0)
 * @param lengths real tokens per row (post-padded), each ≤ `rowLength`
 * @param batchSize rows
 * @param features char ids and casing ids, same row layout; required with char features
 * @returns scores `[batchSize, time, numTags]` with `time` the longest row (at least 1), or
 *   `maxLen` for a tagger that does not mask padding
 */
export function tagScores(
  tagger: Tagger,
  wordIds: Int32Array,
  lengths: ArrayLike<number>,
  batchSize: number,
  features: ScoreFeatures = {},
): TagScores {
  const { rowLength, longest } = checkLayout(tagger, wordIds, lengths, batchSize, features);
  const { maxLen, maxChars, charFeatures, casingDim, numTags, maskPadding } = tagger.config;
  const time = maskPadding ? Math.max(1, longest) : maxLen;
  const ids = repack(wordIds, lengths, rowLength, time, 1);
  const chars = charFeatures ? repack(features.charIds!, lengths, rowLength, time, maxChars) : null;
  const casing = charFeatures && casingDim > 0
    ? repack(features.casingIds!, lengths, rowLength, time, 1)
    : null;
  // Typed arrays are read outside tf.tidy: tidy walks its result element by element.
  const result = tf.tidy(() => {
    const scores = tagger.forward({
      batchSize,
      time,
      wordIds: tf.tensor2d(ids, [batchSize, time], "int32"),
      charIds: chars === null ? null : tf.tensor2d(chars, [batchSize * time, maxChars], "int32"),
      casingIds: casing === null ? null : tf.tensor1d(casing, "int32"),
    });
    return tagger.hasCrf ? scores : tf.softmax(scores);
  });
  const scores = result.dataSync() as Float32Array;
  result.dispose();
  return { scores, time, numTags, output: tagger.hasCrf ? "emissions" : "probabilities" };
}
