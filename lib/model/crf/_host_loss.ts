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
 * @returns `[batch]` per-sequence NLL.
 */
export function hostSequenceNegLogLikelihoods(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfParameters,
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
