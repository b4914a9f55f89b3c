/**
 * What the fast BiLSTM function takes besides its input and weights (lib/model/bilstm/
 * bilstm_function.ts; the tf-ops reference, reference.ts, takes the same).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Recurrent (gate) activations supported by `fastBiLstm` and the `FastBiLSTM` layer. */
export type RecurrentActivation = "hardSigmoid" | "sigmoid";

/** Options of `fastBiLstm`. */
export interface FastBiLstmOptions {
  /** Units per direction. */
  units: number;
  /** Gate activation. */
  recurrentActivation: RecurrentActivation;
  /** Padding mask `[batch, time]` (non-zero = real token), or null. */
  mask: tf.Tensor | null;
  /** Recurrent dropout masks `[batch, units]` (forward, backward), or null. */
  dropout: readonly [Float32Array, Float32Array] | null;
}
