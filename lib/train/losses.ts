/**
 * What a training step minimises and reports, from the tagger's per-token scores: softmax
 * cross-entropy and arg-max accuracy over real tokens, or for a CRF head the CRF negative
 * log-likelihood (per real token, so both read alike) and the accuracy of the Viterbi path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  crfNegLogLikelihood,
  type CrfParameters,
  readCrfParameters,
  viterbiDecodeBatch,
} from "../model/crf/mod.ts";
import type { BatchTensors } from "./batches.ts";

/** Loss (scalar) and, for a softmax head, accuracy (scalar); a CRF's accuracy is read on the host. */
export interface StepLoss {
  /** Mean loss per real token. */
  loss: tf.Scalar;
  /** Accuracy over real tokens (softmax head), or null (CRF head: see {@linkcode viterbiAccuracy}). */
  accuracy: tf.Scalar | null;
}

/**
 * The loss of a batch's scores.
 *
 * @param scores `[batch·time, numTags]` logits or emissions (the forward pass's output)
 * @param batch the batch's gold tags and mask
 * @param crf the CRF's parameters for a CRF head, else null
 * @param softTargetWeight with the batch's `softTargets` (a teacher's distributions), their
 *   weight against the gold tags in (0, 1]: the target at each token is `(1 − w)·gold + w·q`
 *   (for a CRF, in its gold emission term: see `SoftTargets` in lib/model/crf/)
 */
export function stepLoss(
  scores: tf.Tensor2D,
  batch: BatchTensors,
  crf: CrfParameters | null,
  softTargetWeight = 0,
): StepLoss {
  const { batchSize, time } = batch.input;
  const numTags = scores.shape[1];
  const realTokens = tf.maximum(tf.sum(batch.mask), 1);
  const soft = batch.softTargets && softTargetWeight > 0
    ? { targets: batch.softTargets, weight: softTargetWeight }
    : undefined;
  if (crf) {
    const nll = crfNegLogLikelihood(
      tf.reshape(scores, [batchSize, time, numTags]) as tf.Tensor3D,
      tf.reshape(batch.tagIds, [batchSize, time]) as tf.Tensor2D,
      tf.reshape(batch.mask, [batchSize, time]) as tf.Tensor2D,
      crf,
      { reduction: "sum", implementation: "fast", soft },
    );
    return { loss: tf.div(nll, realTokens) as tf.Scalar, accuracy: null };
  }
  const logProbs = tf.logSoftmax(scores);
  const oneHot = tf.oneHot(batch.tagIds, numTags);
  const gold = soft
    ? tf.add(
      tf.mul(oneHot, 1 - soft.weight),
      tf.mul(tf.tensor2d(soft.targets, [batchSize * time, numTags]), soft.weight),
    )
    : oneHot;
  const nll = tf.neg(tf.sum(tf.mul(logProbs, gold), 1));
  const loss = tf.div(tf.sum(tf.mul(nll, batch.mask)), realTokens) as tf.Scalar;
  const hits = tf.cast(tf.equal(tf.argMax(scores, 1), batch.tagIds), "float32");
  const accuracy = tf.div(tf.sum(tf.mul(hits, batch.mask)), realTokens) as tf.Scalar;
  return { loss, accuracy };
}

/**
 * The accuracy of the Viterbi paths over real tokens, on the host.
 *
 * @param emissions `[batch·time, numTags]` emission scores
 * @param batch the batch's gold tags and mask
 * @param crf the CRF's parameters (read at their current values)
 */
export function viterbiAccuracy(
  emissions: tf.Tensor,
  batch: BatchTensors,
  crf: CrfParameters,
): number {
  const { batchSize, time } = batch.input;
  const lengths = new Int32Array(batchSize);
  let real = 0;
  for (let r = 0; r < batchSize; r++) {
    let length = 0;
    while (length < time && batch.maskValues[r * time + length] > 0.5) length++;
    lengths[r] = length;
    real += length;
  }
  const decoded = viterbiDecodeBatch(
    emissions.dataSync() as Float32Array,
    lengths,
    readCrfParameters(crf),
    crf.numTags,
    crf.paddingTagId,
  );
  let hits = 0;
  decoded.forEach(({ tags }, r) => {
    tags.forEach((tag, t) => {
      if (tag === batch.tags[r * time + t]) hits++;
    });
  });
  return hits / Math.max(real, 1);
}
