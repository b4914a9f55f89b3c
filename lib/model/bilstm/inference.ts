/**
 * The BiLSTM's inference sweep: the same arithmetic as {@link fastBiLstm}'s forward sweep with
 * sigmoid gates, for a pass that needs no gradient and no dropout, so it keeps nothing for a
 * backward pass. Per time step: one recurrent matMul per direction, the gates' pre-activations and
 * sigmoids, and ONE small step kernel that writes only the new `h` and `c` of both directions,
 * and `h` straight into the layer output (no per-step gate or dropped-out tensors, no merge at the
 * end); each step's state is freed as soon as the next exists.
 *
 * Two tfjs entry points differ in how the input projections `x·W + b` arrive:
 * {@link biLstmInference} takes them time-major in one tensor per direction and forms each step's
 * pre-activations in a JS kernel; {@link biLstmInferenceDoubled} takes them per step with the
 * cell-candidate block doubled (the tagger's first layer, whose projections are looked up per token
 * in lib/model/_projection_cache.ts) and forms them with backend adds. A third,
 * {@link biLstmInferenceWasm}, runs the whole sweep (and optionally the output layer) in the
 * WebAssembly kernels (./wasm_sweep.ts) and is what an inference pass uses where the runtime has
 * WebAssembly SIMD; the two above are its fallback.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  INFERENCE_STEP_KERNEL,
  type InferenceStepAttrs,
  PREACTIVATION_KERNEL,
} from "./_step_kernels.ts";
import "./kernels.ts"; // registers the custom kernels, once, on import
import type { WasmSweep } from "./wasm_sweep.ts";

/** What {@link biLstmInference} needs besides the projections and recurrent kernels. */
export interface BiLstmInferenceOptions {
  /** Rows. */
  batch: number;
  /** Time steps. */
  time: number;
  /** Units per direction. */
  units: number;
  /** `[batch, time]` padding mask (non-zero = real token), or null. */
  mask: tf.Tensor | null;
}

/**
 * Whether {@link biLstmInference} can run here: sigmoid gates, and a backend with a `Sigmoid`
 * kernel and the custom kernels (wasm or cpu).
 *
 * @param recurrentActivation the layer's gate activation
 */
export function canRunInference(recurrentActivation: string): boolean {
  const backend = tf.getBackend();
  return recurrentActivation === "sigmoid" &&
    tf.getKernel("Sigmoid", backend) !== undefined &&
    tf.getKernel(INFERENCE_STEP_KERNEL, backend) !== undefined;
}

/**
 * The gate activations of one step: sigmoid of the pre-activations of both directions, the
 * cell-candidate block of twice its pre-activation (`tanh(z) = 2·sigmoid(2z) − 1`), as the step
 * kernel's inputs (`s`, or `sF` and `sB`).
 */
type StepGates = (k: number, hF: tf.Tensor2D, hB: tf.Tensor2D) => tf.NamedTensorMap;

/** The sweep shared by the entry points: `gates` gives each step's sigmoid gates. */
function sweep(options: BiLstmInferenceOptions, gates: StepGates): tf.Tensor3D {
  const { batch, time, units } = options;
  const maskTM = options.mask === null
    ? null
    : tf.tidy(() => tf.transpose(tf.cast(tf.cast(options.mask!, "bool"), "float32")));
  const y = tf.zeros([batch, time, 2 * units]) as tf.Tensor3D;
  const zeros = tf.zeros([batch, units]) as tf.Tensor2D;
  const base = { batch, units, time, hasMask: maskTM === null ? 0 : 1 };
  // The states h and c, forward then backward.
  let state: tf.Tensor2D[] = [zeros, zeros, zeros, zeros];
  try {
    for (let k = 0; k < time; k++) {
      const attrs: InferenceStepAttrs = { ...base, tF: k, tB: time - 1 - k };
      const inputs = gates(k, state[0], state[2]);
      const sigmoids = Object.values(inputs);
      Object.assign(inputs, { hF: state[0], cF: state[1], hB: state[2], cB: state[3], y });
      if (maskTM !== null) inputs.mask = maskTM;
      const next = tf.engine().runKernel(
        INFERENCE_STEP_KERNEL,
        inputs,
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor2D[];
      tf.dispose(sigmoids);
      if (k > 0) tf.dispose(state);
      state = next;
    }
  } finally {
    tf.dispose([...state, zeros]);
    maskTM?.dispose();
  }
  return y;
}

/**
 * The bidirectional LSTM's output from precomputed input projections, without gradient.
 *
 * @param zxF forward input projections `x·W + b`, time-major `[time·batch, 4U]`
 * @param zxB backward input projections, the same layout
 * @param uF forward recurrent kernel `[U, 4U]`
 * @param uB backward recurrent kernel `[U, 4U]`
 * @param options sizes and the padding mask
 * @returns `[batch, time, 2U]`: forward outputs then backward outputs on the last axis, as
 *   {@link fastBiLstm} gives them
 */
export function biLstmInference(
  zxF: tf.Tensor,
  zxB: tf.Tensor,
  uF: tf.Tensor2D,
  uB: tf.Tensor2D,
  options: BiLstmInferenceOptions,
): tf.Tensor3D {
  const { batch, time, units } = options;
  const zeros4 = tf.zeros([batch, 4 * units]);
  try {
    return sweep(options, (k, hF, hB) => {
      const rF = k === 0 ? zeros4 : tf.matMul(hF, uF);
      const rB = k === 0 ? zeros4 : tf.matMul(hB, uB);
      const attrs = { batch, units, tF: k, tB: time - 1 - k };
      const pre = tf.engine().runKernel(
        PREACTIVATION_KERNEL,
        { zxF, zxB, rF, rB },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      if (k > 0) tf.dispose([rF, rB]);
      const s = tf.sigmoid(pre);
      pre.dispose();
      return { s };
    });
  } finally {
    zeros4.dispose();
  }
}

/**
 * The same from per-step projections whose cell-candidate block is already doubled, as are the
 * recurrent kernels' (see {@link doubleCandidateBlock}): each step's gates are then two backend
 * adds and two sigmoids (SIMD) instead of a JavaScript pre-activation pass.
 *
 * @param zxF forward projections per time step, `[batch, 4U]` each (doubled candidate block)
 * @param zxB backward projections per time step, the same
 * @param uF2 forward recurrent kernel `[U, 4U]`, candidate block doubled
 * @param uB2 backward recurrent kernel, the same
 * @param options sizes and the padding mask
 * @returns `[batch, time, 2U]`, as {@link biLstmInference}
 */
export function biLstmInferenceDoubled(
  zxF: readonly tf.Tensor[],
  zxB: readonly tf.Tensor[],
  uF2: tf.Tensor2D,
  uB2: tf.Tensor2D,
  options: BiLstmInferenceOptions,
): tf.Tensor3D {
  const { time } = options;
  return sweep(options, (k, hF, hB) => {
    const tB = time - 1 - k;
    if (k === 0) return { sF: tf.sigmoid(zxF[0]), sB: tf.sigmoid(zxB[tB]) };
    return tf.tidy(() => ({
      sF: tf.sigmoid(tf.add(zxF[k], tf.matMul(hF, uF2))),
      sB: tf.sigmoid(tf.add(zxB[tB], tf.matMul(hB, uB2))),
    }));
  });
}

/**
 * A gate matrix (`[rows, 4U]`, or a `[4U]` bias) with its cell-candidate block (columns
 * `2U..3U`) doubled, for {@link biLstmInferenceDoubled}.
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

/** What {@link biLstmInferenceWasm} needs besides the sizes and mask. */
export interface WasmInferenceOptions extends BiLstmInferenceOptions {
  /** The cell candidate's scale: 1, or 0.5 for doubled projections and kernels. */
  candidateScale: number;
  /**
   * A dense layer to apply to the output inside the module (the tagger's output layer): then the
   * result is its `[batch·time, width]` scores instead of the layer output.
   */
  head?: { kernel: tf.Tensor2D; bias: tf.Tensor1D };
}

/**
 * The bidirectional LSTM through the WebAssembly sweep (./wasm_sweep.ts): both directions in two
 * calls for the whole batch, the same function as {@link biLstmInference} (and, with
 * `candidateScale` 0.5 and doubled inputs, {@link biLstmInferenceDoubled}); with a `head`, that
 * dense layer's scores of the output instead.
 *
 * @param sweep this thread's sweep module
 * @param fill writes the input projections `x·W + b`, time-major `[time, batch, 4U]`, into the
 *   two views it is given
 * @param uF forward recurrent kernel `[U, 4U]` (candidate block doubled when `candidateScale` is
 *   0.5)
 * @param uB backward recurrent kernel, the same
 * @param options sizes, the padding mask, the candidate scale, the head
 * @returns `[batch, time, 2U]`, as {@link biLstmInference}; with a head, `[batch·time, width]`
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
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < time; t++) inputs.mask![t * batch + b] = values[b * time + t] ? 1 : 0;
    }
  }
  const y = sweep.run({
    uF: uF.dataSync() as Float32Array,
    uB: uB.dataSync() as Float32Array,
    candidateScale: options.candidateScale,
  });
  if (head === undefined) return tf.tensor3d(y, [batch, time, 2 * units]);
  const scores = sweep.head(
    head.kernel.dataSync() as Float32Array,
    head.bias.dataSync() as Float32Array,
  );
  return tf.tensor2d(scores, [batch * time, headWidth]);
}
