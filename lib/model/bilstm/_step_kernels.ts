/**
 * The custom step kernels of {@link ./bilstm_function.ts}: one forward and one backward time step
 * for both directions at once, written in plain JS on the backend's memory (wasm heap or cpu
 * arrays), plus the per-step pre-activation kernel of the sigmoid-gate path. Registered by
 * {@link ./kernels.ts}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { allocFloat32, float32View } from "./_memory.ts";
import {
  backwardDirection,
  forwardDirection,
  forwardDirectionFromSigmoid,
  inferenceDirection,
  type StepAttrs,
} from "./_lstm_cell.ts";

/** Kernel name: one forward step of both directions from gate pre-activations. */
export const FORWARD_STEP_KERNEL = "FastBiLstmForwardStep";
/** Kernel name: one step's gate pre-activations of both directions (sigmoid-gate path). */
export const PREACTIVATION_KERNEL = "FastBiLstmPreactivation";
/** Kernel name: one forward step of both directions from sigmoid gate activations. */
export const FORWARD_FROM_SIGMOID_KERNEL = "FastBiLstmForwardStepFromSigmoid";
/** Kernel name: one backward step of both directions. */
export const BACKWARD_STEP_KERNEL = "FastBiLstmBackwardStep";

/**
 * Pre-activations of one step for both directions, `[2·batch, 4U]` (forward rows first):
 * `zx[t] + r`, with the cell-candidate block doubled (see {@link forwardDirectionFromSigmoid}).
 */
export const preactivationKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as StepAttrs;
  const g4 = 4 * a.units;
  const size = a.batch * g4;
  const out = allocFloat32(backend, [2 * a.batch, g4]);
  const o = float32View(backend, out);
  const v = (name: string) => float32View(backend, inputs[name] as tf.TensorInfo);
  const parts = [[v("zxF"), v("rF"), a.tF, 0], [v("zxB"), v("rB"), a.tB, size]] as const;
  const lo = 2 * a.units;
  const hi = 3 * a.units;
  for (const [zx, r, t, offset] of parts) {
    const base = t * size;
    for (let b = 0; b < a.batch; b++) {
      const row = b * g4;
      const zr = base + row;
      const or = offset + row;
      for (let k = 0; k < lo; k++) o[or + k] = zx[zr + k] + r[row + k];
      for (let k = lo; k < hi; k++) o[or + k] = 2 * (zx[zr + k] + r[row + k]);
      for (let k = hi; k < g4; k++) o[or + k] = zx[zr + k] + r[row + k];
    }
  }
  return out;
};

/**
 * Allocates a step kernel's outputs (`"s"`: `[batch, units]`, `"g"`: `[batch, 4·units]`) and
 * then takes views of them and of the inputs: all outputs are allocated before any view,
 * because growing the wasm heap detaches earlier views.
 */
function stepBuffers(
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  a: StepAttrs,
  kinds: ("s" | "g")[],
): { outInfos: tf.TensorInfo[]; o: Float32Array[]; v: (name: string) => Float32Array } {
  const outInfos = kinds.map((kind) =>
    allocFloat32(backend, kind === "s" ? [a.batch, a.units] : [a.batch, 4 * a.units])
  );
  const o = outInfos.map((info) => float32View(backend, info));
  const v = (name: string) => float32View(backend, inputs[name] as tf.TensorInfo);
  return { outInfos, o, v };
}

/** Output shapes of a forward step (h, c, dropped-out h, gates), forward direction then backward. */
const FORWARD_STEP_OUTPUTS: ("s" | "g")[] = ["s", "s", "s", "g", "s", "s", "s", "g"];

/**
 * The forward step kernel, both directions. Inputs `zxF`/`zxB` + `rF`/`rB` (gate
 * pre-activations computed here), or with `fromSigmoid` one input `s`, the sigmoid of
 * {@link preactivationKernel}'s output; plus `hF`, `cF`, `hB`, `cB`, and `mask`/`dropF`/`dropB`
 * when set.
 */
export function forwardStepKernelOf(fromSigmoid: boolean): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as StepAttrs;
    const { outInfos, o, v } = stepBuffers(backend, inputs, a, FORWARD_STEP_OUTPUTS);
    const mask = a.hasMask ? v("mask") : null;
    const hasDrop = a.hasDropout === 1;
    const directions = [[a.tF, "F", 0, 0], [a.tB, "B", a.batch, 4]] as const;
    for (const [t, d, sRow0, out] of directions) {
      const state = [
        v(`h${d}`),
        v(`c${d}`),
        mask,
        hasDrop ? v(`drop${d}`) : null,
        o[out],
        o[out + 1],
        o[out + 2],
        o[out + 3],
      ] as const;
      if (fromSigmoid) forwardDirectionFromSigmoid(a, t, v("s"), sRow0, ...state);
      else forwardDirection(a, t, v(`zx${d}`), v(`r${d}`), ...state);
    }
    return outInfos;
  };
}

/** The backward step kernel, both directions: gate-gradient, passed-h and cell gradients. */
export const backwardStepKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as StepAttrs;
  const { outInfos, o, v } = stepBuffers(backend, inputs, a, ["g", "s", "s", "g", "s", "s"]);
  const mask = a.hasMask ? v("mask") : null;
  const hasDrop = a.hasDropout === 1;
  const dy = v("dy");
  backwardDirection(
    a,
    a.tF,
    0,
    dy,
    v("gF"),
    v("cF"),
    v("cPrevF"),
    v("recF"),
    v("dhF"),
    v("dcF"),
    mask,
    hasDrop ? v("dropF") : null,
    o[0],
    o[1],
    o[2],
  );
  backwardDirection(
    a,
    a.tB,
    a.units,
    dy,
    v("gB"),
    v("cB"),
    v("cPrevB"),
    v("recB"),
    v("dhB"),
    v("dcB"),
    mask,
    hasDrop ? v("dropB") : null,
    o[3],
    o[4],
    o[5],
  );
  return outInfos;
};

/** Runs one step kernel `name` with `inputs` and `attrs`; returns its outputs. */
export function runStep(name: string, inputs: tf.NamedTensorMap, attrs: StepAttrs): tf.Tensor[] {
  return tf.engine().runKernel(
    name,
    inputs,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
}

/** Kernel name: one inference step of both directions (new h and c, output written in place). */
export const INFERENCE_STEP_KERNEL = "FastBiLstmInferenceStep";

/** Attributes of {@link inferenceStepKernel}. */
export interface InferenceStepAttrs {
  batch: number;
  units: number;
  time: number;
  tF: number;
  tB: number;
  /** 1 when a time-major `[time, batch]` padding mask is given. */
  hasMask: number;
}

/**
 * The inference step kernel, both directions: the sigmoid gates as `s` (`[2·batch, 4U]`,
 * forward rows first) or as `sF` and `sB` (`[batch, 4U]` each), then `hF`, `cF`, `hB`, `cB`,
 * `mask` when set, and `y`, the layer output `[batch, time, 2U]` that each step writes its `h`
 * into IN PLACE (a buffer the caller allocated for this sweep and reads only after it). Outputs
 * `hF`, `cF`, `hB`, `cB`.
 */
export const inferenceStepKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as InferenceStepAttrs;
  const outInfos = [0, 1, 2, 3].map(() => allocFloat32(backend, [a.batch, a.units]));
  const o = outInfos.map((info) => float32View(backend, info));
  const v = (name: string) => float32View(backend, inputs[name] as tf.TensorInfo);
  const joined = inputs.s !== undefined;
  const sF = joined ? v("s") : v("sF");
  const sB = joined ? sF : v("sB");
  const y = v("y");
  const mask = a.hasMask ? v("mask") : null;
  inferenceDirection(a, a.tF, sF, 0, v("hF"), v("cF"), mask, o[0], o[1], y, 0);
  const rowB = joined ? a.batch : 0;
  inferenceDirection(a, a.tB, sB, rowB, v("hB"), v("cB"), mask, o[2], o[3], y, a.units);
  return outInfos;
};
