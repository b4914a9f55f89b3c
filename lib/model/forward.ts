/**
 * The tagger's one forward pass: word ids (and char and casing ids) → per-token tag scores, used
 * by training (with dropout, under a gradient), validation, prediction and ensembles alike.
 *
 * It runs: word embedding rows → [char CNN ‖ casing embedding] → dropout → BiLSTM stack →
 * dropout → one `[batch·time, width]·[width, tags]` matMul. Dropout is applied only when the
 * caller passes a {@linkcode TrainingPass}. The result is logits (softmax head) or emission
 * scores (CRF head), never probabilities: the loss and the decoders take it from there.
 *
 * A batch covers only `time` steps, which may be fewer than `maxLen`: with padding masked, steps
 * after a batch's longest row change no real token's output (the forward direction is causal;
 * the backward direction starts from a zero state that masked steps carry unchanged), so callers
 * trim batches to their longest row (see `trimmedLength` in lib/train/batches.ts).
 *
 * An inference pass (no {@linkcode TrainingPass}, no gradient tape recording) computes the same
 * function more cheaply: the fast BiLSTMs run the WebAssembly sweep of training's forward pass
 * (lib/model/bilstm/inference.ts) keeping nothing for a backward pass, the first BiLSTM's input
 * projection is looked up per token in the tagger's table (lib/model/_projection_cache.ts)
 * instead of computing the char CNN and the projection matMul for every token, and the output
 * layer runs in the module too, which returns the scores directly. Where that cannot run (no
 * WebAssembly SIMD, a batch too large for its memory), the layers' forward pass does. The
 * equality is tested for every variant.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../data/random.ts";
import { drawDropoutMask, type FastBiLSTM, gatherRows } from "./bilstm/mod.ts";
import { biLstmInferenceWasm } from "./bilstm/inference.ts";
import { wasmSweep } from "./bilstm/wasm_sweep.ts";
import { copyTensorInto } from "./bilstm/bilstm_function.ts";
import {
  disposeInferenceWeights,
  inferenceWeights,
  type ProjectionCache,
} from "./_projection_cache.ts";
import { charCnnForward } from "./char_cnn.ts";
import type { TaggerConfig } from "./config.ts";
import type { TaggerParts } from "./parts.ts";

/** A batch of rows as the tagger reads it. */
export interface TaggerBatch {
  /** Rows. */
  batchSize: number;
  /** Time steps per row (≤ `maxLen`; `maxLen` when padding is not masked). */
  time: number;
  /** `[batchSize, time]` int32 word ids, 0 = PAD (the padding mask comes from them). */
  wordIds: tf.Tensor2D;
  /**
   * Where the word embedding rows come from, when not from the embedding itself: `table` holds
   * rows gathered beforehand (the trainer gathers each distinct word once and differentiates
   * with respect to those rows only) and `ids` indexes it, one per token.
   */
  wordRows?: { table: tf.Tensor2D; ids: tf.Tensor };
  /** `[batchSize·time, maxChars]` int32 char ids; required with char features. */
  charIds?: tf.Tensor2D | null;
  /** `[batchSize·time]` int32 casing classes; required with a casing embedding. */
  casingIds?: tf.Tensor1D | null;
}

/** Dropout for a training pass: every mask is drawn from `random` (deterministic by seed). */
export interface TrainingPass {
  /** The stream word-representation and output dropout masks are drawn from. */
  random: Random;
}

/** Inverted dropout on the last axis of `[batch, time, width]` features, one mask per token. */
function dropUnits<T extends tf.Tensor3D>(features: T, rate: number, random: Random): T {
  const [batchSize, time, width] = features.shape;
  const keep = drawDropoutMask(random, batchSize * time, width, rate);
  return tf.mul(features, tf.reshape(keep, features.shape)) as T;
}

/**
 * `x·kernel + bias` with a hand-written gradient that multiplies explicitly transposed operands
 * (tfjs's own matMul gradient uses transposed matMuls, several times slower on wasm).
 */
function denseHeadForTraining(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  const f = tf.customGrad((...args: unknown[]) => {
    const [xIn, k, b] = args as tf.Tensor2D[];
    (args[3] as tf.GradSaveFunc)([xIn, k]);
    const value = tf.add(tf.matMul(xIn, k), b);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sk] = saved as tf.Tensor2D[];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sk)),
        tf.matMul(tf.transpose(sx), dy as tf.Tensor2D),
        tf.sum(dy, 0),
      ];
    };
    return { value, gradFunc };
  });
  return f(x, kernel, bias) as tf.Tensor2D;
}

/** The token features after the word embedding: char CNN features and casing rows, or null. */
function otherFeatures(parts: TaggerParts, batch: TaggerBatch): tf.Tensor2D | null {
  const pieces: tf.Tensor2D[] = [];
  if (parts.charCnn) {
    if (!batch.charIds) throw new Error("this tagger has char features: char ids are required");
    pieces.push(charCnnForward(parts.charCnn, batch.charIds));
  }
  if (parts.casingEmbedding) {
    if (!batch.casingIds) {
      throw new Error("this tagger has a casing embedding: casing ids are required");
    }
    pieces.push(gatherRows(parts.casingEmbedding as tf.Tensor2D, batch.casingIds));
  }
  if (pieces.length === 0) return null;
  return pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1);
}

/** The BiLSTM input: word embedding rows, then char CNN features and casing rows per token. */
function wordRepresentation(
  config: TaggerConfig,
  parts: TaggerParts,
  batch: TaggerBatch,
): tf.Tensor3D {
  const { batchSize, time } = batch;
  const wordRows = batch.wordRows
    ? gatherRows(batch.wordRows.table, batch.wordRows.ids)
    : gatherRows(parts.wordEmbedding as tf.Tensor2D, batch.wordIds);
  const other = otherFeatures(parts, batch);
  if (other === null) {
    return tf.reshape(wordRows, [batchSize, time, config.embeddingDim]) as tf.Tensor3D;
  }
  const joined = tf.concat([wordRows, other], 1);
  return tf.reshape(joined, [batchSize, time, joined.shape[1]]) as tf.Tensor3D;
}

/**
 * The BiLSTM stack of an inference pass (no dropout, no gradient) through the WebAssembly sweep
 * ({@linkcode biLstmInferenceWasm}), the first layer's input projections looked up per token in
 * `cache` when there is one, the last layer followed by the output layer in the module; null
 * when it cannot run here (stock layers, no WebAssembly SIMD, a batch too large for its memory):
 * then the layers' own forward pass runs.
 */
function inferenceStack(
  config: TaggerConfig,
  parts: TaggerParts,
  batch: TaggerBatch,
  cache: (() => ProjectionCache | null) | undefined,
): { scores: tf.Tensor2D } | null {
  const biLstms = parts.biLstms as FastBiLSTM[];
  if (config.layer !== "fast" || biLstms.length === 0) return null;
  const { batchSize, time } = batch;
  const masked = config.maskPadding;
  const headWidth = config.numTags;
  const sweep = wasmSweep();
  if (
    sweep === null ||
    !biLstms.every((layer) =>
      sweep.fits({ batch: batchSize, time, units: layer.units, masked, headWidth })
    )
  ) {
    return null;
  }
  const mask = masked ? tf.notEqual(batch.wordIds, 0) : null;
  const head = {
    kernel: parts.headKernel as tf.Tensor2D,
    bias: parts.headBias as tf.Tensor1D,
  };
  let sequence: tf.Tensor3D | null = null;
  let scores: tf.Tensor2D | null = null;
  biLstms.forEach((layer, index) => {
    const [kF, uF, bF, kB, uB, bB] = layer.weights.map((w) => w.read()) as tf.Tensor2D[];
    const last = index === biLstms.length - 1;
    const options = (candidateScale: number) => ({
      batch: batchSize,
      time,
      units: layer.units,
      mask,
      recurrentActivation: layer.recurrentActivation,
      candidateScale,
      ...(last ? { head } : {}),
    });
    const keep = (result: tf.Tensor3D | tf.Tensor2D) => {
      if (last) scores = result as tf.Tensor2D;
      else sequence = result as tf.Tensor3D;
    };
    const projections = index === 0 && !batch.wordRows ? cache?.() ?? null : null;
    if (projections !== null) {
      const weights = inferenceWeights(config.embeddingDim, [kF, uF, bF, kB, uB, bB]);
      const embedding = parts.wordEmbedding as tf.Tensor2D;
      const tokens = {
        wordIds: batch.wordIds.dataSync() as Int32Array,
        charIds: (batch.charIds?.dataSync() ?? null) as Int32Array | null,
        maxChars: config.maxChars,
        casingIds: (batch.casingIds?.dataSync() ?? null) as Int32Array | null,
      };
      // The char and casing features of the tokens the table lacks, computed for those only.
      const featuresOf = (indices: Int32Array): tf.Tensor2D | null => {
        const at = tf.tensor1d(indices, "int32");
        return otherFeatures(parts, {
          ...batch,
          charIds: batch.charIds ? tf.gather(batch.charIds, at) as tf.Tensor2D : null,
          casingIds: batch.casingIds ? tf.gather(batch.casingIds, at) as tf.Tensor1D : null,
        });
      };
      const shape: [number, number] = [batchSize, time];
      keep(biLstmInferenceWasm(
        sweep,
        (zxF, zxB) =>
          projections.projectInto(embedding, weights, tokens, shape, featuresOf, zxF, zxB),
        ...weights.recurrentKernels,
        options(0.5),
      ));
      disposeInferenceWeights(weights);
      return;
    }
    const x = sequence ?? wordRepresentation(config, parts, batch);
    const x2d = tf.reshape(tf.transpose(x, [1, 0, 2]), [time * batchSize, x.shape[2]]);
    const zxF = tf.fused.matMul({ a: x2d as tf.Tensor2D, b: kF, bias: bF });
    const zxB = tf.fused.matMul({ a: x2d as tf.Tensor2D, b: kB, bias: bB });
    keep(biLstmInferenceWasm(
      sweep,
      (toF, toB) => {
        copyTensorInto(zxF, toF);
        copyTensorInto(zxB, toB);
      },
      uF,
      uB,
      options(1),
    ));
  });
  return { scores: scores! };
}

/**
 * The forward pass.
 *
 * @param config the tagger's resolved config
 * @param parts its weights by role
 * @param batch the rows
 * @param training dropout masks' source for a training pass; omit for inference
 * @param cache for an inference pass: the first BiLSTM's word projections per word id (see
 *   lib/model/_projection_cache.ts), or none
 * @returns `[batchSize·time, numTags]` logits (softmax head) or emission scores (CRF head)
 */
export function taggerForward(
  config: TaggerConfig,
  parts: TaggerParts,
  batch: TaggerBatch,
  training?: TrainingPass,
  cache?: () => ProjectionCache | null,
): tf.Tensor2D {
  // An inference pass (no training, no gradient being recorded) keeps nothing for a backward pass.
  const inference = !training && tf.engine().state.gradientDepth === 0
    ? inferenceStack(config, parts, batch, cache)
    : null;
  if (inference !== null) return inference.scores;
  let sequence = wordRepresentation(config, parts, batch);
  if (training && config.dropout > 0) {
    sequence = dropUnits(sequence, config.dropout, training.random);
  }
  const mask = config.maskPadding ? tf.notEqual(batch.wordIds, 0) : undefined;
  for (const biLstm of parts.biLstms) {
    sequence = biLstm.apply(sequence, { mask, training: training !== undefined }) as tf.Tensor3D;
  }
  if (training && config.outputDropout > 0) {
    sequence = dropUnits(sequence, config.outputDropout, training.random);
  }
  const features = tf.reshape(sequence, [batch.batchSize * batch.time, sequence.shape[2]]);
  const x = features as tf.Tensor2D;
  return training ? denseHeadForTraining(x, parts.headKernel, parts.headBias) : tf.fused.matMul({
    a: x,
    b: parts.headKernel as tf.Tensor2D,
    bias: parts.headBias,
  }) as tf.Tensor2D;
}
