/**
 * `fastBiLstm`: the bidirectional LSTM as a differentiable function of its input and six weights,
 * with a hand-written backward pass (`tf.customGrad`) around the WebAssembly sweeps of
 * ./wasm_sweep.ts.
 *
 * - Forward: the input projections `x·W + b` of all rows and steps, both directions, are one
 *   matMul (the tfjs backend, batch-major so nothing is transposed); then ONE WebAssembly call per
 *   direction sweeps every step (recurrent GEMM, gates, cell, mask, recurrent dropout) and keeps
 *   what the backward pass needs.
 * - Backward: ONE WebAssembly call per direction gives the gate pre-activations' gradients of
 *   every step (and their transpose, so that the weight gradients are `dzᵀ·x` and `dzᵀ·h`:
 *   tfjs's XNNPACK repacks a matMul's fresh right operand, and x and h are 4× smaller than dz);
 *   then the input and weight gradients are one matMul each over them (the tfjs backend).
 *
 * Where the runtime lacks WebAssembly SIMD (or a batch is too large for the module's memory),
 * the same function is computed by {@link referenceBiLstm} (tf ops, autodiff): slow, but the
 * same numbers within 1e-4.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DIRECT_MEMORY_BACKENDS, float32View } from "./_memory.ts";
import { referenceBiLstm } from "./reference.ts";
import { type TrainingBatch, wasmSweep } from "./wasm_sweep.ts";
import type { FastBiLstmOptions } from "./options.ts";

export type { FastBiLstmOptions, RecurrentActivation } from "./options.ts";

/**
 * Copies a float32 tensor's values into `target`: straight from the backend's memory on wasm
 * and cpu, through `dataSync` elsewhere.
 *
 * @param tensor the tensor
 * @param target receives its values (as many as it has)
 */
export function copyTensorInto(tensor: tf.Tensor, target: Float32Array): void {
  if (DIRECT_MEMORY_BACKENDS.includes(tf.getBackend())) {
    target.set(float32View(tf.backend(), tensor));
  } else {
    target.set(tensor.dataSync() as Float32Array);
  }
}

/**
 * A float32 tensor holding a copy of `values` (which may be a view of WebAssembly memory that
 * changes later).
 *
 * @param values the values
 * @param shape the tensor's shape
 */
export function tensorOf<R extends tf.Rank>(values: Float32Array, shape: number[]): tf.Tensor<R> {
  // The wasm backend copies the values into its heap; the others may keep the array itself.
  const own = tf.getBackend() === "wasm" ? values : values.slice();
  return tf.tensor(own, shape as tf.ShapeMap[R], "float32");
}

/** A tensor's values as a float32 array (a copy). */
function valuesOf(tensor: tf.Tensor): Float32Array {
  const values = new Float32Array(tensor.size);
  copyTensorInto(tensor, values);
  return values;
}

/**
 * The bidirectional LSTM as a differentiable function of the input and the six weights.
 *
 * @param x input `[batch, time, features]`
 * @param weights forward kernel, recurrent kernel, bias, backward kernel, recurrent kernel, bias
 * @param options units, gate activation, padding mask and dropout masks
 * @returns `[batch, time, 2*units]`: forward outputs then backward outputs on the last axis
 */
export function fastBiLstm(
  x: tf.Tensor3D,
  weights: tf.Tensor[],
  options: FastBiLstmOptions,
): tf.Tensor3D {
  const { units } = options;
  const [batch, time, features] = x.shape;
  const sweep = wasmSweep();
  if (sweep === null || !sweep.fits({ batch, time, units, masked: options.mask !== null })) {
    return referenceBiLstm(x, weights, options);
  }
  const mask = options.mask === null ? null : tf.tidy(() => {
    const real = tf.cast(tf.cast(options.mask!, "bool"), "float32");
    return valuesOf(real);
  });
  const s: TrainingBatch = {
    batch,
    time,
    units,
    hard: options.recurrentActivation === "hardSigmoid",
    mask,
    dropout: options.dropout,
  };
  const rows = batch * time;
  const f = tf.customGrad((...args: unknown[]) => {
    const [xIn, wF, uF, bF, wB, uB, bB] = args as tf.Tensor2D[];
    const save = args[7] as tf.GradSaveFunc;
    const x2d = tf.reshape(xIn, [rows, features]) as tf.Tensor2D;
    // Both directions' projections in one matMul: `[rows, 8U]`, each row forward then backward.
    const zx = tf.fused.matMul({ a: x2d, b: tf.concat([wF, wB], 1), bias: tf.concat([bF, bB]) });
    const kernels = [valuesOf(uF), valuesOf(uB)] as const;
    const { y, saved } = sweep.trainForward(s, (to) => copyTensorInto(zx, to), ...kernels);
    tf.dispose(zx);
    const value = tensorOf<tf.Rank.R3>(y, [batch, time, 2 * units]);
    save([x2d, wF, wB]);
    const gradFunc = (dy: tf.Tensor, savedTensors: tf.Tensor[]): tf.Tensor[] => {
      const [sx2d, swF, swB] = savedTensors as tf.Tensor2D[];
      const back = sweep.trainBackward(saved, (to) => copyTensorInto(dy, to), ...kernels);
      const dZF = tensorOf<tf.Rank.R2>(back.dzF, [rows, 4 * units]);
      const dZB = tensorOf<tf.Rank.R2>(back.dzB, [rows, 4 * units]);
      const [dbF, dbB] = [back.dbF, back.dbB].map((values) => tensorOf(values, [4 * units]));
      const dZFT = tensorOf<tf.Rank.R2>(back.dzFT, [4 * units, rows]);
      const dZBT = tensorOf<tf.Rank.R2>(back.dzBT, [4 * units, rows]);
      const [hdPrevF, hdPrevB] = [back.hdPrevF, back.hdPrevB].map((values) =>
        tensorOf<tf.Rank.R2>(values, [rows, units])
      );
      // Transposed operands are transposed explicitly: wasm matMul with transposeA/B is slower.
      const dx2d = tf.add(tf.matMul(dZF, tf.transpose(swF)), tf.matMul(dZB, tf.transpose(swB)));
      return [
        tf.reshape(dx2d, [batch, time, features]),
        tf.transpose(tf.matMul(dZFT, sx2d)),
        tf.transpose(tf.matMul(dZFT, hdPrevF)),
        dbF,
        tf.transpose(tf.matMul(dZBT, sx2d)),
        tf.transpose(tf.matMul(dZBT, hdPrevB)),
        dbB,
      ];
    };
    return { value, gradFunc };
  });
  return f(x, ...weights) as tf.Tensor3D;
}
