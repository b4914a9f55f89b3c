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
 * Variants (lib/model.ts): a char-feature model also takes char ids and casing ids per token
 * ({@link ScoreFeatures}); a `"bilstm-crf"` model outputs emission scores instead of
 * probabilities (`TagScores.output` says which), to be decoded with Viterbi (lib/predict.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FastBiLSTM, fastBiLstm, gatherRows } from "../model/bilstm.ts";
import { CharCnn } from "../model/char_cnn.ts";
import { CrfLayer } from "../model/crf_layer.ts";
import { type TaggerParts, taggerParts, wordRepresentation } from "../train/trainer.ts";

/** Tag scores of a batch. */
export interface TagScores {
  /**
   * Row-major `[batchSize, time, numTags]`: softmax probabilities, or for a CRF model its
   * emission scores (see `output`).
   */
  scores: Float32Array;
  /** Time steps per row in `scores` (≥ every row's length). */
  time: number;
  /** Labels per position. */
  numTags: number;
  /** Whether the fast path computed them (false: `model.predict`). */
  fast: boolean;
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

/** What inputs and output a tagger model has. */
export interface ModelInterface {
  /** Characters per word of the char-id input; 0 when the model takes no char ids. */
  maxChars: number;
  /** Whether the model takes casing ids (char-feature models). */
  casing: boolean;
  /** The CRF layer of a `"bilstm-crf"` model, else null. */
  crf: CrfLayer | null;
}

/**
 * The extra inputs and the kind of output of a tagger model.
 *
 * @param model any `buildModel` model (or a loaded one)
 * @returns char/casing inputs and CRF layer
 */
export function modelInterface(model: tf.LayersModel): ModelInterface {
  const charInput = model.layers.some((l) => l instanceof CharCnn);
  return {
    maxChars: charInput ? model.inputs[1].shape[2] as number : 0,
    casing: charInput,
    crf: (model.layers.find((l) => l instanceof CrfLayer) as CrfLayer | undefined) ?? null,
  };
}

/** What the fast path needs from a model; null when the model does not fit it. */
interface FastParts {
  parts: TaggerParts;
  embedding: tf.Variable;
  biLstms: FastBiLSTM[];
  weights: tf.Variable[][];
}

const fastPartsCache = new WeakMap<tf.LayersModel, FastParts | null>();

/** The fast-path parts of `model`, or null (cached per model). */
function fastParts(model: tf.LayersModel): FastParts | null {
  if (fastPartsCache.has(model)) return fastPartsCache.get(model)!;
  let parts: FastParts | null = null;
  try {
    const p = taggerParts(model);
    if (p.biLstms.every((layer) => layer instanceof FastBiLSTM) && p.maskZero) {
      const biLstms = p.biLstms as FastBiLSTM[];
      parts = {
        parts: p,
        embedding: p.embedding.weights[0].read() as tf.Variable,
        biLstms,
        weights: biLstms.map((layer) => layer.weights.map((w) => w.read() as tf.Variable)),
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

/**
 * Tag scores for a batch of post-padded rows.
 *
 * @param model a tagger mapping `[batch, maxLen]` word ids (plus char and casing ids for a
 *   char-feature model) to `[batch, maxLen, numTags]` scores (any such model; `buildModel` +
 *   FastBiLSTM + maskZero takes the fast path)
 * @param wordIds row-major `[batchSize, rowLength]` word ids (`rowLength ≤` the model's input
 *   length); positions at or after a row's length are ignored (treated as PAD, id 0)
 * @param lengths real tokens per row (post-padded), each ≤ `rowLength`
 * @param batchSize rows
 * @param features char ids and casing ids, same row layout; required by char-feature models
 * @returns scores `[batchSize, time, numTags]` (probabilities, or CRF emissions); the fast path
 *   trims `time` to the longest row (at least 1), the fallback returns the model's full input
 *   length
 */
export function tagScores(
  model: tf.LayersModel,
  wordIds: Int32Array,
  lengths: ArrayLike<number>,
  batchSize: number,
  features: ScoreFeatures = {},
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
  const io = modelInterface(model);
  const output = io.crf ? "emissions" : "probabilities";
  if (io.maxChars > 0 && features.charIds?.length !== wordIds.length * io.maxChars) {
    throw new RangeError(
      `tagScores: this model needs ${wordIds.length}×${io.maxChars} char ids (features.charIds)`,
    );
  }
  if (io.casing && features.casingIds?.length !== wordIds.length) {
    throw new RangeError(`tagScores: this model needs ${wordIds.length} casing ids`);
  }
  const fast = fastParts(model);
  const maxLen = fast?.parts.maxLen ?? (model.inputs[0].shape[1] as number);
  if (rowLength > maxLen) {
    throw new RangeError(`tagScores: rows of ${rowLength} exceed the model's ${maxLen}`);
  }
  const time = fast === null ? maxLen : Math.max(1, longest);
  const vocabSize = fast?.embedding.shape[0] ?? Infinity;
  const ids = repack(wordIds, lengths, rowLength, time, 1);
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocabSize)) {
      throw new RangeError(`tagScores: word id ${ids[i]} is outside the vocabulary`);
    }
  }
  const chars = io.maxChars > 0
    ? repack(features.charIds!, lengths, rowLength, time, io.maxChars)
    : null;
  const casing = io.casing ? repack(features.casingIds!, lengths, rowLength, time, 1) : null;
  // Typed arrays are read outside tf.tidy: tidy walks its result element by element.
  if (fast === null) {
    const result = tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [batchSize, time], "int32");
      const inputs = chars === null ? idsT : [
        idsT,
        tf.tensor3d(chars, [batchSize, time, io.maxChars], "int32"),
        tf.tensor2d(casing!, [batchSize, time], "int32"),
      ];
      const out = model.predict(inputs);
      return Array.isArray(out) ? out[0] : out;
    });
    const scores = result.dataSync() as Float32Array;
    result.dispose();
    return { scores, time, numTags: scores.length / (batchSize * time), fast: false, output };
  }
  const { parts } = fast;
  const result = tf.tidy(() => {
    const idsT = tf.tensor2d(ids, [batchSize, time], "int32");
    const rows = gatherRows(fast.embedding as tf.Tensor2D, idsT);
    const x = chars === null && casing === null
      ? tf.reshape(rows, [batchSize, time, parts.embeddingDim]) as tf.Tensor3D
      : wordRepresentation(
        parts,
        rows,
        chars === null ? null : tf.tensor2d(chars, [batchSize * time, io.maxChars], "int32"),
        casing === null ? null : tf.tensor1d(casing, "int32"),
        batchSize,
        time,
      );
    const mask = tf.notEqual(idsT, 0);
    let sequence = x;
    fast.biLstms.forEach((layer, index) => {
      sequence = fastBiLstm(sequence, fast.weights[index], {
        units: layer.units,
        recurrentActivation: layer.recurrentActivation,
        mask,
        dropout: null,
      });
    });
    const features2d = tf.reshape(sequence, [batchSize * time, sequence.shape[2]]);
    const logits = tf.fused.matMul({
      a: features2d as tf.Tensor2D,
      b: parts.denseKernel as tf.Tensor2D,
      bias: parts.denseBias,
    });
    return io.crf ? logits : tf.softmax(logits);
  });
  const scores = result.dataSync() as Float32Array;
  result.dispose();
  return { scores, time, numTags: parts.numTags, fast: true, output };
}
