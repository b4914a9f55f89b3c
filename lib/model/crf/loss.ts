/**
 * The CRF loss: negative log-likelihood `logZ − score(gold)` per sequence and reduced over the
 * batch, in two implementations with the same values and gradients: `"fast"` (ONE WebAssembly
 * SIMD call per batch in a customGrad, ./wasm_forward_backward.ts) and `"ops"`, the reference
 * ({@link crfLogPartition}, {@link crfGoldScore} and {@link crfSoftTargetShift}, built from
 * differentiable tf ops; also {@link referenceMarginals}). `"fast"` takes the reference where it
 * cannot run: a runtime without WebAssembly SIMD, a batch whose forward–backward underflows
 * float32, or one too large for the module's memory.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fastSequenceNegLogLikelihoods } from "./wasm_forward_backward.ts";
import type { SoftTargets } from "./params.ts";
export type { SoftTargets } from "./params.ts";
import {
  type CrfHostParameters,
  type CrfParameters,
  type CrfTensors,
  PADDING_TAG_PENALTY,
} from "./params.ts";

/** How the loss is computed; both give the same values and gradients. */
export type CrfImplementation = "fast" | "ops";

/** Options for {@link crfNegLogLikelihood} and {@link crfSequenceNegLogLikelihoods}. */
export interface CrfLossOptions {
  /** `"mean"` over the sequences of the batch, or their `"sum"`. Default `"mean"`. */
  reduction?: "mean" | "sum";
  /** `"fast"` (WebAssembly forward–backward in a customGrad) or `"ops"` (tf ops). Default `"fast"`. */
  implementation?: CrfImplementation;
  /** A teacher's per-token distributions mixed into the gold term (distillation). */
  soft?: SoftTargets;
}

/** Default {@link CrfLossOptions}. */
export const DEFAULT_CRF_LOSS_OPTIONS: Required<Omit<CrfLossOptions, "soft">> = {
  reduction: "mean",
  implementation: "fast",
};

/** `[K]` constant: the padding penalty at the padding label, 0 elsewhere; null without one. */
function paddingPenalty(numTags: number, paddingTagId: number | null): tf.Tensor1D | null {
  if (paddingTagId === null) return null;
  const values = new Float32Array(numTags);
  values[paddingTagId] = PADDING_TAG_PENALTY;
  return tf.tensor1d(values);
}

function checkShapes(emissions: tf.Tensor3D, mask: tf.Tensor2D, numTags: number): void {
  const [batch, time, tags] = emissions.shape;
  if (tags !== numTags) {
    throw new Error(`crf: emissions have ${tags} tags, parameters ${numTags}`);
  }
  if (mask.shape[0] !== batch || mask.shape[1] !== time) {
    throw new Error(`crf: mask shape [${mask.shape}] does not match emissions [${batch},${time}]`);
  }
}

/**
 * Log-partition `logZ` of each sequence by the forward algorithm built from tf ops
 * (differentiable). Per step: one broadcast add, a logSumExp over the last axis, an add of the
 * emissions and a masked select.
 *
 * @param emissions `[batch, T, K]` float32 emission scores.
 * @param mask `[batch, T]` 1 for real tokens (a prefix of each row), 0 for padding.
 * @param params the CRF parameters.
 * @returns `[batch]` logZ (0 for a row without real tokens).
 */
export function crfLogPartition(
  emissions: tf.Tensor3D,
  mask: tf.Tensor2D,
  params: CrfTensors,
): tf.Tensor1D {
  checkShapes(emissions, mask, params.numTags);
  return tf.tidy(() => {
    const [batch, time, numTags] = emissions.shape;
    const penalty = paddingPenalty(numTags, params.paddingTagId);
    const emit = penalty === null ? emissions : tf.add(emissions, penalty);
    const emitSteps = tf.unstack(emit, 1) as tf.Tensor2D[];
    const realSteps = tf.unstack(tf.reshape(tf.greater(mask, 0.5), [batch, time, 1]), 1);
    // transposed[j, i] = transitions[i, j], so the sum over the previous tag is over the last axis.
    const transposed = tf.reshape(tf.transpose(params.transitions), [1, numTags, numTags]);
    let alpha: tf.Tensor2D = tf.add(params.startTransitions, emitSteps[0]);
    for (let t = 1; t < time; t++) {
      const scores = tf.add(tf.reshape(alpha, [batch, 1, numTags]), transposed);
      const next = tf.add(tf.logSumExp(scores, 2), emitSteps[t]) as tf.Tensor2D;
      alpha = tf.where(realSteps[t], next, alpha);
    }
    const logZ = tf.logSumExp(tf.add(alpha, params.endTransitions), 1) as tf.Tensor1D;
    const hasTokens = tf.reshape(tf.greater(tf.slice(mask, [0, 0], [batch, 1]), 0.5), [batch]);
    return tf.mul(logZ, tf.cast(hasTokens, "float32")) as tf.Tensor1D;
  });
}

/**
 * Score of the gold path of each sequence, vectorised over the batch and time (no loop).
 *
 * @param emissions `[batch, T, K]` emission scores.
 * @param tags `[batch, T]` int32 gold tags (anything at padded steps).
 * @param mask `[batch, T]` 1/0 real-token mask.
 * @param params the CRF parameters.
 * @returns `[batch]` gold path scores (padding penalty included if a real gold tag is padding).
 */
export function crfGoldScore(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfTensors,
): tf.Tensor1D {
  checkShapes(emissions, mask, params.numTags);
  return tf.tidy(() => {
    const [batch, time, numTags] = emissions.shape;
    const tagsInt = tf.cast(tags, "int32") as tf.Tensor2D;
    const real = tf.cast(tf.greater(mask, 0.5), "float32") as tf.Tensor2D;
    const oneHot = tf.oneHot(tagsInt, numTags) as tf.Tensor3D;
    const penalty = paddingPenalty(numTags, params.paddingTagId);
    const emit = penalty === null ? emissions : tf.add(emissions, penalty);
    let perStep = tf.sum(tf.mul(emit, oneHot), 2); // [batch, T]
    // Start: the first step; end: the last real step (real now, padding or the end next).
    const isFirst = tf.concat([tf.ones([batch, 1]), tf.zeros([batch, time - 1])], 1);
    const nextReal = tf.concat(
      [tf.slice(real, [0, 1], [batch, time - 1]), tf.zeros([batch, 1])],
      1,
    );
    const isLast = tf.sub(real, nextReal);
    perStep = tf.add(perStep, tf.mul(tf.gather(params.startTransitions, tagsInt), isFirst));
    perStep = tf.add(perStep, tf.mul(tf.gather(params.endTransitions, tagsInt), isLast));
    let score = tf.sum(tf.mul(perStep, real), 1);
    if (time > 1) {
      const previous = tf.slice(tagsInt, [0, 0], [batch, time - 1]);
      const current = tf.slice(tagsInt, [0, 1], [batch, time - 1]);
      const pairIndex = tf.add(tf.mul(previous, tf.scalar(numTags, "int32")), current);
      const flat = tf.reshape(params.transitions, [numTags * numTags]);
      const pairScores = tf.gather(flat, pairIndex) as tf.Tensor2D;
      const pairReal = tf.slice(real, [0, 1], [batch, time - 1]);
      score = tf.add(score, tf.sum(tf.mul(pairScores, pairReal), 1));
    }
    return score as tf.Tensor1D;
  });
}

/**
 * The soft targets' term of each sequence in tf ops (differentiable):
 * `weight · Σ_t real_t · (emit[t, gold_t] − Σ_k q[t, k]·emit[t, k])` (emissions without the
 * padding penalty, which soft targets put ~no mass on); see {@linkcode SoftTargets}.
 *
 * @param emissions `[batch, T, K]` emission scores.
 * @param tags `[batch, T]` int32 gold tags.
 * @param mask `[batch, T]` 1/0 real-token mask.
 * @param soft the teacher's distributions and their weight.
 * @returns `[batch]` the loss's shift.
 */
export function crfSoftTargetShift(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  soft: SoftTargets,
): tf.Tensor1D {
  const [batch, time, numTags] = emissions.shape;
  if (soft.targets.length !== batch * time * numTags) {
    throw new Error(
      `crf: ${soft.targets.length} soft-target values for [${batch}, ${time}, ${numTags}]`,
    );
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(tags, "int32"), numTags);
    const q = tf.tensor3d(soft.targets, [batch, time, numTags]);
    const perStep = tf.sum(tf.mul(tf.sub(oneHot, q), emissions), 2);
    const real = tf.cast(tf.greater(mask, 0.5), "float32");
    return tf.mul(tf.sum(tf.mul(perStep, real), 1), soft.weight) as tf.Tensor1D;
  });
}

/**
 * Per-token marginals `P(y_t = j | x)` of one sequence from the tf-ops reference: the gradient of
 * {@link crfLogPartition} w.r.t. the emissions (log space, so it never underflows). Slow; the
 * fallback of `crfMarginals` (./marginals.ts) and what tests compare the kernel with.
 *
 * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`).
 * @param length number of real tokens (at least 1).
 * @param params the host parameters.
 * @param numTags `K`.
 * @param paddingTagId the label whose emission gets the padding penalty; `null` for none.
 * @param offset where the sequence starts in `emissions`.
 * @returns `[length*K]` row-major marginals.
 */
export function referenceMarginals(
  emissions: ArrayLike<number>,
  length: number,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null,
  offset = 0,
): Float32Array {
  const K = numTags;
  // One padded step after the sequence (it contributes nothing): tfjs cannot differentiate the
  // forward algorithm's unstack over a single step.
  const values = new Float32Array((length + 1) * K);
  for (let i = 0; i < length * K; i++) values[i] = emissions[offset + i];
  const real = new Float32Array(length + 1).fill(1, 0, length);
  return tf.tidy(() => {
    const tensors: CrfTensors = {
      transitions: tf.tensor2d(params.transitions, [K, K]),
      startTransitions: tf.tensor1d(params.start),
      endTransitions: tf.tensor1d(params.end),
      numTags: K,
      paddingTagId,
    };
    const mask = tf.tensor2d(real, [1, length + 1]);
    const marginals = tf.grad((e: tf.Tensor) =>
      tf.sum(crfLogPartition(e as tf.Tensor3D, mask, tensors))
    )(tf.tensor3d(values, [1, length + 1, K]));
    return (marginals.dataSync() as Float32Array).slice(0, length * K);
  });
}

/**
 * Negative log-likelihood `logZ − score(gold)` of each sequence (differentiable w.r.t. the
 * emissions and the CRF parameters, with either implementation; per-sequence weights applied to
 * the result are honoured).
 *
 * @param emissions `[batch, T, K]` float32 emission scores.
 * @param tags `[batch, T]` int32 gold tags (ignored at padded steps).
 * @param mask `[batch, T]` float32 1/0, real tokens a prefix of each row.
 * @param params the CRF parameters.
 * @param implementation `"fast"` (default) or `"ops"`.
 * @param soft a teacher's soft targets (distillation), or none
 * @returns `[batch]` per-sequence NLL (0 for rows with no real token).
 */
export function crfSequenceNegLogLikelihoods(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfParameters,
  implementation: CrfImplementation = DEFAULT_CRF_LOSS_OPTIONS.implementation,
  soft?: SoftTargets,
): tf.Tensor1D {
  checkShapes(emissions, mask, params.numTags);
  if (tags.shape[0] !== mask.shape[0] || tags.shape[1] !== mask.shape[1]) {
    throw new Error(`crf: tags shape [${tags.shape}] does not match mask [${mask.shape}]`);
  }
  if (implementation === "fast") {
    const fast = fastSequenceNegLogLikelihoods(emissions, tags, mask, params, soft);
    if (fast !== null) return fast;
  }
  return tf.tidy(() => {
    const nll = tf.sub(
      crfLogPartition(emissions, mask, params),
      crfGoldScore(emissions, tags, mask, params),
    ) as tf.Tensor1D;
    return soft ? tf.add(nll, crfSoftTargetShift(emissions, tags, mask, soft)) : nll;
  });
}

/**
 * The CRF loss: negative log-likelihood of the gold tags, reduced over the batch (mean over
 * sequences by default). Differentiable: use inside `tf.variableGrads` / an optimizer's
 * `minimize` together with the BiLSTM's emissions.
 *
 * @param emissions `[batch, T, K]` float32 emission scores.
 * @param tags `[batch, T]` int32 gold tags (ignored at padded steps).
 * @param mask `[batch, T]` float32 1/0, real tokens a prefix of each row.
 * @param params the CRF parameters.
 * @param options reduction and implementation; see {@link CrfLossOptions}.
 * @returns the scalar loss.
 */
export function crfNegLogLikelihood(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfParameters,
  options: CrfLossOptions = {},
): tf.Scalar {
  const { reduction, implementation } = { ...DEFAULT_CRF_LOSS_OPTIONS, ...options };
  return tf.tidy(() => {
    const perSequence = crfSequenceNegLogLikelihoods(
      emissions,
      tags,
      mask,
      params,
      implementation,
      options.soft,
    );
    return reduction === "sum" ? tf.sum(perSequence) : tf.mean(perSequence);
  });
}
