/**
 * The `"host"` implementation of the CRF loss: per-sequence negative log-likelihoods computed in
 * plain JS by forward–backward, wrapped in one `tf.customGrad` whose gradient (expected counts −
 * gold counts) is tabulated during the forward pass.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forwardBackward } from "./_forward_backward.ts";
import type { CrfHostParameters, CrfParameters } from "./params.ts";

/**
 * Soft targets for distillation: a teacher's distribution over the tags at every token. The
 * gold path's emission score is replaced by `(1 − weight)·emit(gold) + weight·Σ_k q_k·emit(k)`
 * (transitions, start and end stay the gold path's), so the emission gradient becomes
 * `marginals − ((1 − weight)·onehot(gold) + weight·q)`: at weight 1 the loss is the cross-entropy
 * of the student's CRF to the teacher's per-token posteriors (posterior distillation).
 */
export interface SoftTargets {
  /** `[batch, T, K]` per-token distributions (rows of real tokens sum to 1). */
  targets: Float32Array;
  /** Weight of the soft targets against the gold tags, in (0, 1]. */
  weight: number;
}

/** Per-sequence losses and gradient tables of a batch, computed on the host. */
interface HostLossTables {
  /** `[batch]` NLL. */
  losses: Float32Array;
  /** `[batch, T, K]` d loss / d emissions. */
  gradEmit: Float32Array;
  /** `[batch, K*K]` per-sequence d loss / d transitions. */
  gradTrans: Float32Array;
  /** `[batch, K]` per-sequence d loss / d start. */
  gradStart: Float32Array;
  /** `[batch, K]` per-sequence d loss / d end. */
  gradEnd: Float32Array;
}

/** Number of real tokens in each row of a `[batch*T]` 1/0 mask (real tokens are a prefix). */
function rowLengths(mask: ArrayLike<number>, batch: number, time: number): Int32Array {
  const lengths = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let length = 0;
    while (length < time && mask[b * time + length] > 0.5) length++;
    lengths[b] = length;
  }
  return lengths;
}

/**
 * Host implementation: per-sequence NLL in JS, gradient = expected counts − gold counts, wrapped
 * in a customGrad over (emissions, transitions, start, end).
 *
 * @param emissions `[batch, T, K]` emission scores.
 * @param tags `[batch, T]` int32 gold tags.
 * @param mask `[batch, T]` 1/0, real tokens a prefix of each row.
 * @param params the CRF parameters.
 * @param soft a teacher's soft targets mixed into the gold emission term, or none
 * @returns `[batch]` per-sequence NLL.
 */
export function hostSequenceNegLogLikelihoods(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfParameters,
  soft?: SoftTargets,
): tf.Tensor1D {
  const [batch, time, K] = emissions.shape;
  const paddingTagId = params.paddingTagId;
  const tagValues = tags.dataSync();
  const lengths = rowLengths(mask.dataSync(), batch, time);
  const f = tf.customGrad((...args: unknown[]) => {
    const [emitIn, transIn, startIn, endIn] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const host: CrfHostParameters = {
      transitions: transIn.dataSync() as Float32Array,
      start: startIn.dataSync() as Float32Array,
      end: endIn.dataSync() as Float32Array,
    };
    const emitValues = emitIn.dataSync() as Float32Array;
    const t = hostLossTables(emitValues, tagValues, lengths, host, [batch, time, K], paddingTagId);
    if (soft) mixSoftTargets(t, emitValues, tagValues, lengths, [batch, time, K], soft);
    const saved = [
      tf.tensor3d(t.gradEmit, [batch, time, K]),
      tf.tensor2d(t.gradTrans, [batch, K * K]),
      tf.tensor2d(t.gradStart, [batch, K]),
      tf.tensor2d(t.gradEnd, [batch, K]),
    ];
    save(saved);
    return {
      value: tf.tensor1d(t.losses),
      gradFunc: (dy: tf.Tensor, savedTensors: tf.Tensor[]) =>
        weightedGradients(dy, savedTensors, batch, K),
    };
  });
  return f(
    emissions,
    params.transitions,
    params.startTransitions,
    params.endTransitions,
  ) as tf.Tensor1D;
}

/**
 * The losses and the per-sequence gradient tables of a batch: forward–backward per sequence
 * (expected counts, the pair marginals summed over time into `gradTrans`), minus the gold path's
 * counts.
 */
function hostLossTables(
  emitValues: Float32Array,
  tagValues: ArrayLike<number>,
  lengths: Int32Array,
  host: CrfHostParameters,
  [batch, time, K]: [number, number, number],
  paddingTagId: number | null,
): HostLossTables {
  const losses = new Float32Array(batch);
  const gradEmit = new Float32Array(batch * time * K);
  // Per-sequence parameter gradients, so any upstream per-sequence weights apply exactly.
  const gradTrans = new Float32Array(batch * K * K);
  const gradStart = new Float32Array(batch * K);
  const gradEnd = new Float32Array(batch * K);
  for (let b = 0; b < batch; b++) {
    const length = lengths[b];
    if (length === 0) continue;
    const base = b * time * K;
    // Expected counts: marginals, and pair marginals summed over time into gradTrans.
    const { marginals, emit, logZ } = forwardBackward(
      emitValues,
      base,
      length,
      host,
      K,
      paddingTagId,
      gradTrans,
      b * K * K,
    );
    for (let i = 0; i < length * K; i++) gradEmit[base + i] = marginals[i];
    for (let j = 0; j < K; j++) {
      gradStart[b * K + j] += marginals[j];
      gradEnd[b * K + j] += marginals[(length - 1) * K + j];
    }
    // Gold path: its score, minus its counts.
    const row = b * time;
    let gold = host.start[tagValues[row]] + host.end[tagValues[row + length - 1]];
    gradStart[b * K + tagValues[row]] -= 1;
    gradEnd[b * K + tagValues[row + length - 1]] -= 1;
    for (let t = 0; t < length; t++) {
      const tag = tagValues[row + t];
      gold += emit[t * K + tag];
      gradEmit[base + t * K + tag] -= 1;
      if (t > 0) {
        const pair = tagValues[row + t - 1] * K + tag;
        gold += host.transitions[pair];
        gradTrans[b * K * K + pair] -= 1;
      }
    }
    losses[b] = logZ - gold;
  }
  return { losses, gradEmit, gradTrans, gradStart, gradEnd };
}

/**
 * Moves `weight` of each token's gold emission term onto the soft targets, in place: the loss
 * gains `weight·(emit(gold) − Σ_k q_k·emit(k))` per token and the emission gradient
 * `weight·(onehot(gold) − q)` (see {@linkcode SoftTargets}; `emitValues` without the padding
 * penalty, which soft targets put ~no mass on).
 */
function mixSoftTargets(
  tables: HostLossTables,
  emitValues: Float32Array,
  tagValues: ArrayLike<number>,
  lengths: Int32Array,
  [batch, time, K]: [number, number, number],
  soft: SoftTargets,
): void {
  const { targets, weight } = soft;
  if (targets.length !== batch * time * K) {
    throw new Error(`crf: ${targets.length} soft-target values for [${batch}, ${time}, ${K}]`);
  }
  for (let b = 0; b < batch; b++) {
    let shift = 0;
    for (let cell = b * time * K; cell < (b * time + lengths[b]) * K; cell += K) {
      const gold = tagValues[cell / K];
      let expected = 0;
      for (let k = 0; k < K; k++) {
        expected += targets[cell + k] * emitValues[cell + k];
        tables.gradEmit[cell + k] -= weight * targets[cell + k];
      }
      tables.gradEmit[cell + gold] += weight;
      shift += weight * (emitValues[cell + gold] - expected);
    }
    tables.losses[b] += shift;
  }
}

/**
 * The gradient of the host loss: the saved per-sequence tables weighted by the upstream `dy`
 * (emissions per sequence; the parameters' tables summed over the batch with weights `dy`).
 */
function weightedGradients(
  dy: tf.Tensor,
  savedTensors: tf.Tensor[],
  batch: number,
  K: number,
): tf.Tensor[] {
  const [gEmit, gTrans, gStart, gEnd] = savedTensors as [
    tf.Tensor3D,
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  const dyRow = tf.reshape(dy, [1, batch]) as tf.Tensor2D;
  return [
    tf.mul(gEmit, tf.reshape(dy, [batch, 1, 1])),
    tf.reshape(tf.matMul(dyRow, gTrans), [K, K]),
    tf.reshape(tf.matMul(dyRow, gStart), [K]),
    tf.reshape(tf.matMul(dyRow, gEnd), [K]),
  ];
}
