/**
 * The BiLSTM's inference pass: {@link biLstmInferenceWasm} runs the same WebAssembly sweep as
 * training's forward pass (./wasm_sweep.ts), keeping nothing for a backward pass, and optionally
 * the tagger's output layer in the module too. Its input projections come from the caller: the
 * tagger's first layer looks them up per token (lib/model/_projection_cache.ts, with the
 * cell-candidate block doubled: {@link doubleCandidateBlock}); other layers compute them with one
 * matMul per direction.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { RecurrentActivation } from "./options.ts";
import type { WasmSweep } from "./wasm_sweep.ts";

/**
 * A gate matrix (`[rows, 4U]`, or a `[4U]` bias) with its cell-candidate block (columns
 * `2U..3U`) doubled: projections made with it go through the sweep with `candidateScale` 0.5.
 *
 * @param gates the kernel, recurrent kernel or bias
 * @returns a new tensor
 */
export function doubleCandidateBlock<T extends tf.Tensor>(gates: T): T {
  const width = gates.shape[gates.shape.length - 1]!;
  const units = width / 4;
  const scale = new Float32Array(width).fill(1).fill(2, 2 * units, 3 * units);
  return tf.tidy(() => tf.mul(gates, tf.tensor1d(scale))) as T;
}

/** What {@link biLstmInferenceWasm} needs besides the projections and recurrent kernels. */
export interface WasmInferenceOptions {
  /** Rows. */
  batch: number;
  /** Time steps. */
  time: number;
  /** Units per direction. */
  units: number;
  /** `[batch, time]` padding mask (non-zero = real token), or null. */
  mask: tf.Tensor | null;
  /** The gate activation. */
  recurrentActivation: RecurrentActivation;
  /** The cell candidate's scale: 1, or 0.5 for doubled projections and kernels. */
  candidateScale: number;
  /**
   * A dense layer to apply to the output inside the module (the tagger's output layer): then the
   * result is its `[batch·time, width]` scores instead of the layer output.
   */
  head?: { kernel: tf.Tensor2D; bias: tf.Tensor1D };
}

/**
 * The bidirectional LSTM's output through the WebAssembly sweep (./wasm_sweep.ts), without
 * gradient: both directions in two calls for the whole batch; with a `head`, that dense layer's
 * scores of the output instead.
 *
 * @param sweep this thread's sweep module
 * @param fill writes the input projections `x·W + b`, time-major `[time, batch, 4U]`, into the
 *   two views it is given
 * @param uF forward recurrent kernel `[U, 4U]` (candidate block doubled when `candidateScale` is
 *   0.5)
 * @param uB backward recurrent kernel, the same
 * @param options sizes, the padding mask, the gates, the candidate scale, the head
 * @returns `[batch, time, 2U]` (forward then backward units on the last axis); with a head,
 *   `[batch·time, width]`
 */
export function biLstmInferenceWasm(
  sweep: WasmSweep,
  fill: (zxF: Float32Array, zxB: Float32Array) => void,
  uF: tf.Tensor2D,
  uB: tf.Tensor2D,
  options: WasmInferenceOptions,
): tf.Tensor3D | tf.Tensor2D {
  const { batch, time, units, mask, head } = options;
  const headWidth = head?.kernel.shape[1] ?? 0;
  const inputs = sweep.inputs({ batch, time, units, masked: mask !== null, headWidth });
  fill(inputs.zxF, inputs.zxB);
  if (mask !== null) {
    const values = mask.dataSync();
    for (let i = 0; i < batch * time; i++) inputs.mask![i] = values[i] ? 1 : 0;
  }
  const y = sweep.run({
    uF: uF.dataSync() as Float32Array,
    uB: uB.dataSync() as Float32Array,
    candidateScale: options.candidateScale,
    hard: options.recurrentActivation === "hardSigmoid",
  });
  if (head === undefined) return tf.tensor3d(y, [batch, time, 2 * units]);
  const scores = sweep.head(
    head.kernel.dataSync() as Float32Array,
    head.bias.dataSync() as Float32Array,
  );
  return tf.tensor2d(scores, [batch * time, headWidth]);
}
