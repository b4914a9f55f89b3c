/**
 * `fastBiLstm`: the bidirectional LSTM as a differentiable function of its input and six weights,
 * with a hand-written backward pass (`tf.customGrad`).
 *
 * - Forward: the input projection `x·W + b` of all time steps is one matMul per direction; then
 *   each time step is one recurrent matMul per direction (the 4 gates fused, `[B,U]·[U,4U]`) plus
 *   ONE custom kernel advancing both directions (with sigmoid gates: one backend `sigmoid` of
 *   both directions' pre-activations between two small JS kernels).
 * - Backward: per step one matMul per direction and one custom kernel; then the input and weight
 *   gradients are one matMul each over the stacked gate gradients.
 *
 * The per-step loops ({@link forwardSweep}, {@link backwardSweep}) are the speed-critical part:
 * they create only the step's own tensors and kernel arguments.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { StepAttrs } from "./_lstm_cell.ts";
import { concatRows, mergeOutput } from "./_row_kernels.ts";
import {
  BACKWARD_STEP_KERNEL,
  FORWARD_FROM_SIGMOID_KERNEL,
  FORWARD_STEP_KERNEL,
  PREACTIVATION_KERNEL,
  runStep,
} from "./_step_kernels.ts";
import "./kernels.ts"; // registers the custom kernels, once, on import

/** Recurrent (gate) activations supported by {@link fastBiLstm} and the `FastBiLSTM` layer. */
export type RecurrentActivation = "hardSigmoid" | "sigmoid";

/** Options of {@link fastBiLstm}. */
export interface FastBiLstmOptions {
  /** Units per direction. */
  units: number;
  /** Gate activation. */
  recurrentActivation: RecurrentActivation;
  /** Padding mask `[batch, time]` (non-zero = real token), or null. */
  mask: tf.Tensor | null;
  /** Recurrent dropout masks `[batch, units]` (forward, backward), or null. */
  dropout: [tf.Tensor2D, tf.Tensor2D] | null;
}

/** What one call of {@link fastBiLstm} fixes for its forward and backward sweeps. */
interface SweepContext {
  batch: number;
  time: number;
  features: number;
  units: number;
  /** The step kernels' attributes without the time indices. */
  attrsBase: Omit<StepAttrs, "tF" | "tB">;
  /** The padding mask, time-major `[time, batch]` float32 1/0, or null. */
  maskTM: tf.Tensor | null;
  dropout: [tf.Tensor2D, tf.Tensor2D] | null;
  /** Sigmoid gates with a backend `Sigmoid` kernel: the gates run as one sigmoid per step. */
  sigmoidGates: boolean;
}

/** Per-time-step tensors of the forward sweep, indexed by time `t` (not by step). */
interface ForwardStates {
  hF: tf.Tensor[];
  cF: tf.Tensor[];
  hdF: tf.Tensor[];
  gF: tf.Tensor[];
  hB: tf.Tensor[];
  cB: tf.Tensor[];
  hdB: tf.Tensor[];
  gB: tf.Tensor[];
}

/** The tensors the backward pass reads, as saved by the forward pass. */
interface SavedTensors {
  x2d: tf.Tensor2D;
  wF: tf.Tensor2D;
  uF: tf.Tensor2D;
  wB: tf.Tensor2D;
  uB: tf.Tensor2D;
  mask: tf.Tensor | null;
  drop: tf.Tensor[] | null;
  /** Per-step tensor `t` of `block`: 0 gF, 1 gB, 2 cF, 3 cB, 4 hdF (dropped-out h), 5 hdB. */
  at: (block: number, t: number) => tf.Tensor;
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
  const attrsBase = {
    batch,
    units,
    sigmoid: options.recurrentActivation === "sigmoid" ? 1 : 0,
    hasMask: options.mask === null ? 0 : 1,
    hasDropout: options.dropout === null ? 0 : 1,
  };
  const maskTM = options.mask === null
    ? null
    : tf.tidy(() => tf.transpose(tf.cast(tf.cast(options.mask!, "bool"), "float32")));
  const dropout = options.dropout;
  const sigmoidGates = options.recurrentActivation === "sigmoid" &&
    tf.getKernel("Sigmoid", tf.getBackend()) !== undefined;
  const c: SweepContext = {
    batch,
    time,
    features,
    units,
    attrsBase,
    maskTM,
    dropout,
    sigmoidGates,
  };

  const f = tf.customGrad((...args: unknown[]) => {
    const [xIn, wF, uF, bF, wB, uB, bB] = args as tf.Tensor2D[];
    const save = args[7] as tf.GradSaveFunc;
    const x2d = tf.reshape(tf.transpose(xIn as unknown as tf.Tensor3D, [1, 0, 2]), [
      time * batch,
      features,
    ]) as tf.Tensor2D;
    const zxF = tf.fused.matMul({ a: x2d, b: wF, bias: bF });
    const zxB = tf.fused.matMul({ a: x2d, b: wB, bias: bB });
    const states = forwardSweep(c, zxF, zxB, uF, uB);
    const y = mergeOutput(states.hF, states.hB, batch, units);
    save(tensorsToSave(c, [x2d, wF, uF, wB, uB], states));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const s = unpackSaved(c, saved);
      const { dzF, dzB, zerosS } = backwardSweep(c, dy, s);
      return inputAndWeightGradients(c, s, dzF, dzB, zerosS);
    };
    return { value: y, gradFunc };
  });

  try {
    return f(x, ...weights) as tf.Tensor3D;
  } finally {
    maskTM?.dispose();
  }
}

/**
 * The forward sweep: step `k` advances the forward direction at time `k` and the backward
 * direction at time `time-1-k`, in one step kernel. Speed-critical: per step only the
 * recurrent matMuls, the kernel call and its arguments.
 */
function forwardSweep(
  c: SweepContext,
  zxF: tf.Tensor,
  zxB: tf.Tensor,
  uF: tf.Tensor2D,
  uB: tf.Tensor2D,
): ForwardStates {
  const { batch, time, units, attrsBase, maskTM, dropout, sigmoidGates } = c;
  const zeros = tf.zeros([batch, units]);
  const zeros4 = tf.zeros([batch, 4 * units]);
  const hF: tf.Tensor[] = new Array(time);
  const cF: tf.Tensor[] = new Array(time);
  const hdF: tf.Tensor[] = new Array(time);
  const gF: tf.Tensor[] = new Array(time);
  const hB: tf.Tensor[] = new Array(time);
  const cB: tf.Tensor[] = new Array(time);
  const hdB: tf.Tensor[] = new Array(time);
  const gB: tf.Tensor[] = new Array(time);
  for (let k = 0; k < time; k++) {
    const tF = k;
    const tB = time - 1 - k;
    const rF = k === 0 ? zeros4 : tf.matMul(hdF[tF - 1] as tf.Tensor2D, uF);
    const rB = k === 0 ? zeros4 : tf.matMul(hdB[tB + 1] as tf.Tensor2D, uB);
    const stepAttrs = { ...attrsBase, tF, tB };
    // Sigmoid gates: the 4U gate non-linearities of both directions run as one wasm sigmoid
    // (SIMD) and only tanh(c) is left to the JS kernel.
    const s = sigmoidGates
      ? tf.tidy(() =>
        tf.sigmoid(
          tf.engine().runKernel(
            PREACTIVATION_KERNEL,
            { zxF, zxB, rF, rB },
            stepAttrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
        )
      )
      : null;
    const inputs: tf.NamedTensorMap = s !== null ? { s } : { zxF, zxB, rF, rB };
    Object.assign(inputs, {
      hF: k === 0 ? zeros : hF[tF - 1],
      cF: k === 0 ? zeros : cF[tF - 1],
      hB: k === 0 ? zeros : hB[tB + 1],
      cB: k === 0 ? zeros : cB[tB + 1],
    });
    if (maskTM !== null) inputs.mask = maskTM;
    if (dropout !== null) {
      inputs.dropF = dropout[0];
      inputs.dropB = dropout[1];
    }
    [hF[tF], cF[tF], hdF[tF], gF[tF], hB[tB], cB[tB], hdB[tB], gB[tB]] = runStep(
      s === null ? FORWARD_STEP_KERNEL : FORWARD_FROM_SIGMOID_KERNEL,
      inputs,
      stepAttrs,
    );
    if (k > 0) {
      rF.dispose();
      rB.dispose();
    }
    s?.dispose();
  }
  return { hF, cF, hdF, gF, hB, cB, hdB, gB };
}

/**
 * What the forward pass saves for the backward pass, in this order: the flattened input and the
 * four matrices, the time-major mask and the dropout masks when set, then per-step gates, cell
 * states and dropped-out hidden states ({@link unpackSaved} reads this layout back).
 */
function tensorsToSave(c: SweepContext, head: tf.Tensor2D[], s: ForwardStates): tf.Tensor[] {
  const extras = [
    ...(c.maskTM === null ? [] : [c.maskTM]),
    ...(c.dropout === null ? [] : c.dropout),
  ];
  return [...head, ...extras, ...s.gF, ...s.gB, ...s.cF, ...s.cB, ...s.hdF, ...s.hdB];
}

/** Reads back the layout written by {@link tensorsToSave}. */
function unpackSaved(c: SweepContext, saved: tf.Tensor[]): SavedTensors {
  const [x2d, wF, uF, wB, uB] = saved as tf.Tensor2D[];
  const head = 5 + (c.maskTM === null ? 0 : 1) + (c.dropout === null ? 0 : 2);
  const time = c.time;
  return {
    x2d,
    wF,
    uF,
    wB,
    uB,
    mask: c.maskTM === null ? null : saved[5],
    drop: c.dropout === null ? null : saved.slice(head - 2, head),
    at: (block: number, t: number) => saved[head + block * time + t],
  };
}

/**
 * The backward sweep: step `k` takes the forward direction back at time `time-1-k` and the
 * backward direction at time `k`, in one step kernel. Speed-critical like {@link forwardSweep}.
 *
 * @returns the gate gradients of each time step, and the `[batch, units]` zeros it used
 */
function backwardSweep(
  c: SweepContext,
  dy: tf.Tensor,
  saved: SavedTensors,
): { dzF: tf.Tensor[]; dzB: tf.Tensor[]; zerosS: tf.Tensor } {
  const { batch, time, units, attrsBase } = c;
  const { mask: sMask, drop: sDrop, at } = saved;
  const sgF = (t: number) => at(0, t);
  const sgB = (t: number) => at(1, t);
  const scF = (t: number) => at(2, t);
  const scB = (t: number) => at(3, t);
  const zerosS = tf.zeros([batch, units]);
  // Transposed operands are pre-transposed: wasm matMul with transposeA/B is ~10x slower.
  const uFT = tf.transpose(saved.uF);
  const uBT = tf.transpose(saved.uB);
  const dzF: tf.Tensor[] = new Array(time);
  const dzB: tf.Tensor[] = new Array(time);
  let dhF: tf.Tensor = zerosS;
  let dcF: tf.Tensor = zerosS;
  let dhB: tf.Tensor = zerosS;
  let dcB: tf.Tensor = zerosS;
  for (let k = 0; k < time; k++) {
    const tF = time - 1 - k;
    const tB = k;
    const recF = k === 0 ? zerosS : tf.matMul(dzF[tF + 1], uFT);
    const recB = k === 0 ? zerosS : tf.matMul(dzB[tB - 1], uBT);
    const inputs: tf.NamedTensorMap = {
      dy,
      gF: sgF(tF),
      cF: scF(tF),
      cPrevF: tF === 0 ? zerosS : scF(tF - 1),
      recF,
      dhF,
      dcF,
      gB: sgB(tB),
      cB: scB(tB),
      cPrevB: tB === time - 1 ? zerosS : scB(tB + 1),
      recB,
      dhB,
      dcB,
    };
    if (sMask !== null) inputs.mask = sMask;
    if (sDrop !== null) {
      inputs.dropF = sDrop[0];
      inputs.dropB = sDrop[1];
    }
    const outs = runStep(BACKWARD_STEP_KERNEL, inputs, { ...attrsBase, tF, tB });
    if (k > 0) {
      for (const t of [recF, recB, dhF, dcF, dhB, dcB]) t.dispose();
    }
    [dzF[tF], dhF, dcF, dzB[tB], dhB, dcB] = outs;
  }
  return { dzF, dzB, zerosS };
}

/**
 * Gradients of the input and the six weights from the stacked gate gradients: one matMul each
 * (operands pre-transposed, as in {@link backwardSweep}).
 *
 * @returns the gradients in the order of {@link fastBiLstm}'s arguments: x, then per direction
 *   kernel, recurrent kernel, bias
 */
function inputAndWeightGradients(
  c: SweepContext,
  saved: SavedTensors,
  dzF: tf.Tensor[],
  dzB: tf.Tensor[],
  zerosS: tf.Tensor,
): tf.Tensor[] {
  const { batch, time, features, units } = c;
  const shdF = (t: number) => saved.at(4, t);
  const shdB = (t: number) => saved.at(5, t);
  const rows = time * batch;
  const dZF = concatRows(dzF, [rows, 4 * units]) as tf.Tensor2D;
  const dZB = concatRows(dzB, [rows, 4 * units]) as tf.Tensor2D;
  const hdPrevF = concatRows([zerosS, ...range(0, time - 1).map(shdF)], [rows, units]);
  const hdPrevB = concatRows([...range(1, time).map(shdB), zerosS], [rows, units]);
  const hdPrevFT = tf.transpose(hdPrevF) as tf.Tensor2D;
  const hdPrevBT = tf.transpose(hdPrevB) as tf.Tensor2D;
  const xT = tf.transpose(saved.x2d) as tf.Tensor2D;
  const dx2d = tf.add(
    tf.matMul(dZF, tf.transpose(saved.wF) as tf.Tensor2D),
    tf.matMul(dZB, tf.transpose(saved.wB) as tf.Tensor2D),
  );
  const dx = tf.transpose(tf.reshape(dx2d, [time, batch, features]), [1, 0, 2]);
  return [
    dx,
    tf.matMul(xT, dZF),
    tf.matMul(hdPrevFT, dZF),
    tf.sum(dZF, 0),
    tf.matMul(xT, dZB),
    tf.matMul(hdPrevBT, dZB),
    tf.sum(dZB, 0),
  ];
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}
