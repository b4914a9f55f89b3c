/**
 * Fast forward pass of the tagger for prediction: tag probabilities for a batch of post-padded
 * rows, computed only up to the batch's longest row.
 *
 * For a `buildModel` tagger with our {@link FastBiLSTM} and a padding mask (Embedding `maskZero`),
 * {@link tagScores} runs embedding gather → `fastBiLstm` (no dropout) → ONE `[rows·T, 2U]·[2U,
 * tags]` matMul + softmax, with `T` = the longest row of the batch: steps after it change no
 * real token's output (forward direction: causal; backward direction: starts from a zero state
 * that masked steps carry unchanged). Any other model (a stock BiLSTM, no padding mask, another
 * architecture) falls back to `model.predict` on rows padded to the model's input length, so
 * both paths give the same probabilities on real tokens.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FastBiLSTM, fastBiLstm, gatherRows } from "./bilstm.ts";
import { taggerParts } from "./train_step.ts";

/** Tag probabilities of a batch. */
export interface TagScores {
  /** Row-major `[batchSize, time, numTags]` softmax probabilities. */
  scores: Float32Array;
  /** Time steps per row in `scores` (≥ every row's length). */
  time: number;
  /** Labels per position. */
  numTags: number;
  /** Whether the fast path computed them (false: `model.predict`). */
  fast: boolean;
}

/** What the fast path needs from a model; null when the model does not fit it. */
interface FastParts {
  embedding: tf.Variable;
  biLstm: FastBiLSTM;
  weights: tf.Variable[];
  kernel: tf.Variable;
  bias: tf.Variable;
  maxLen: number;
  embeddingDim: number;
  numTags: number;
}

const fastPartsCache = new WeakMap<tf.LayersModel, FastParts | null>();

/** The fast-path parts of `model`, or null (cached per model). */
function fastParts(model: tf.LayersModel): FastParts | null {
  if (fastPartsCache.has(model)) return fastPartsCache.get(model)!;
  let parts: FastParts | null = null;
  try {
    const p = taggerParts(model);
    if (p.biLstm instanceof FastBiLSTM && p.maskZero) {
      parts = {
        embedding: p.embedding.weights[0].read() as tf.Variable,
        biLstm: p.biLstm,
        weights: p.biLstm.weights.map((w) => w.read() as tf.Variable),
        kernel: p.denseKernel,
        bias: p.denseBias,
        maxLen: p.maxLen,
        embeddingDim: p.embeddingDim,
        numTags: p.numTags,
      };
    }
  } catch {
    parts = null;
  }
  fastPartsCache.set(model, parts);
  return parts;
}

/** Whether {@link tagScores} takes the fast path for `model`. */
export function hasFastPath(model: tf.LayersModel): boolean {
  return fastParts(model) !== null;
}

/**
 * Tag probabilities for a batch of post-padded rows.
 *
 * @param model a tagger mapping `[batch, maxLen]` word ids to `[batch, maxLen, numTags]`
 *   probabilities (any such model; `buildModel` + FastBiLSTM + maskZero takes the fast path)
 * @param wordIds row-major `[batchSize, rowLength]` word ids (`rowLength ≤` the model's input
 *   length); positions at or after a row's length are ignored (treated as PAD, id 0)
 * @param lengths real tokens per row (post-padded), each ≤ `rowLength`
 * @param batchSize rows
 * @returns probabilities `[batchSize, time, numTags]`; the fast path trims `time` to the longest
 *   row (at least 1), the fallback returns the model's full input length
 */
export function tagScores(
  model: tf.LayersModel,
  wordIds: Int32Array,
  lengths: ArrayLike<number>,
  batchSize: number,
): TagScores {
  if (!Number.isInteger(batchSize) || batchSize < 1 || lengths.length !== batchSize) {
    throw new RangeError(`tagScores: need batchSize ≥ 1 and one length per row`);
  }
  const rowLength = wordIds.length / batchSize;
  if (!Number.isInteger(rowLength)) {
    throw new RangeError(`tagScores: ${wordIds.length} ids do not make ${batchSize} rows`);
  }
  let longest = 0;
  for (let b = 0; b < batchSize; b++) {
    if (!(lengths[b] >= 0 && lengths[b] <= rowLength)) {
      throw new RangeError(`tagScores: row ${b} has length ${lengths[b]} > ${rowLength}`);
    }
    longest = Math.max(longest, lengths[b]);
  }
  const parts = fastParts(model);
  const maxLen = parts?.maxLen ?? (model.inputs[0].shape[1] as number);
  if (rowLength > maxLen) {
    throw new RangeError(`tagScores: rows of ${rowLength} exceed the model's ${maxLen}`);
  }
  const time = parts === null ? maxLen : Math.max(1, longest);
  const vocabSize = parts?.embedding.shape[0] ?? Infinity;
  const ids = new Int32Array(batchSize * time);
  for (let b = 0; b < batchSize; b++) {
    ids.set(wordIds.subarray(b * rowLength, b * rowLength + lengths[b]), b * time);
  }
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocabSize)) {
      throw new RangeError(`tagScores: word id ${ids[i]} is outside the vocabulary`);
    }
  }
  // Typed arrays are read outside tf.tidy: tidy walks its result element by element.
  if (parts === null) {
    const output = tf.tidy(() => {
      const out = model.predict(tf.tensor2d(ids, [batchSize, time], "int32"));
      return Array.isArray(out) ? out[0] : out;
    });
    const scores = output.dataSync() as Float32Array;
    output.dispose();
    return { scores, time, numTags: scores.length / (batchSize * time), fast: false };
  }
  const { embeddingDim, numTags } = parts;
  const probabilities = tf.tidy(() => {
    const idsT = tf.tensor2d(ids, [batchSize, time], "int32");
    const x = tf.reshape(
      gatherRows(parts.embedding as tf.Tensor2D, idsT),
      [batchSize, time, embeddingDim],
    ) as tf.Tensor3D;
    const sequence = fastBiLstm(x, parts.weights, {
      units: parts.biLstm.units,
      recurrentActivation: parts.biLstm.recurrentActivation,
      mask: tf.notEqual(idsT, 0),
      dropout: null,
    });
    const features = tf.reshape(sequence, [batchSize * time, 2 * parts.biLstm.units]);
    const logits = tf.fused.matMul({
      a: features as tf.Tensor2D,
      b: parts.kernel as tf.Tensor2D,
      bias: parts.bias,
    });
    return tf.softmax(logits);
  });
  const scores = probabilities.dataSync() as Float32Array;
  probabilities.dispose();
  return { scores, time, numTags, fast: true };
}
