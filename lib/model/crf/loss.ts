/**
 * The CRF loss: negative log-likelihood `logZ − score(gold)` per sequence and reduced over the
 * batch, in two implementations with the same values and gradients: `"host"` (./_host_loss.ts,
 * forward–backward in plain JS in one customGrad) and `"ops"` ({@link crfLogPartition} and
 * {@link crfGoldScore}, built from differentiable tf ops).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { hostSequenceNegLogLikelihoods, type SoftTargets } from "./_host_loss.ts";

export type { SoftTargets } from "./_host_loss.ts";
import { type CrfParameters, PADDING_TAG_PENALTY } from "./params.ts";

/** How the loss is computed; both give the same values and gradients. */
export type CrfImplementation = "host" | "ops";

/** Options for {@link crfNegLogLikelihood} and {@link crfSequenceNegLogLikelihoods}. */
export interface CrfLossOptions {
  /** `"mean"` over the sequences of the batch, or their `"sum"`. Default `"mean"`. */
  reduction?: "mean" | "sum";
  /** `"host"` (JS forward–backward in a customGrad) or `"ops"` (tf ops). Default `"host"`. */
  implementation?: CrfImplementation;
  /** A teacher's per-token distributions mixed into the gold term (distillation; host only). */
  soft?: SoftTargets;
}

/** Default {@link CrfLossOptions}. */
export const DEFAULT_CRF_LOSS_OPTIONS: Required<Omit<CrfLossOptions, "soft">> = {
  reduction: "mean",
  implementation: "host",
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
  params: CrfParameters,
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
  params: CrfParameters,
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
 * Negative log-likelihood `logZ − score(gold)` of each sequence (differentiable w.r.t. the
 * emissions and the CRF parameters, with either implementation; per-sequence weights applied to
 * the result are honoured).
 *
 * @param emissions `[batch, T, K]` float32 emission scores.
 * @param tags `[batch, T]` int32 gold tags (ignored at padded steps).
 * @param mask `[batch, T]` float32 1/0, real tokens a prefix of each row.
 * @param params the CRF parameters.
 * @param implementation `"host"` (default) or `"ops"`.
 * @param soft a teacher's soft targets (distillation; `"host"` only), or none
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
  if (implementation === "host") {
    return hostSequenceNegLogLikelihoods(emissions, tags, mask, params, soft);
  }
  if (soft) throw new Error(`crf: soft targets need the "host" implementation`);
  return tf.tidy(() =>
    tf.sub(
      crfLogPartition(emissions, mask, params),
      crfGoldScore(emissions, tags, mask, params),
    ) as tf.Tensor1D
  );
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
