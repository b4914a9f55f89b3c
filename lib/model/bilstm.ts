/**
 * `FastBiLSTM`: a bidirectional LSTM layer for tfjs-layers that computes exactly what
 * `tf.layers.bidirectional({layer: tf.layers.lstm({units, returnSequences: true,
 * recurrentDropout}), mergeMode: "concat"})` computes, with far fewer kernel dispatches.
 *
 * How it is fast on the WebAssembly backend (where each op costs ~20 µs of dispatch):
 * - the input projection `x·W + b` of all time steps is one matMul per direction;
 * - each time step is one recurrent matMul per direction (the 4 gates fused, `[B,U]·[U,4U]`)
 *   plus ONE custom kernel that advances both directions at once (gate activations, cell and
 *   hidden state, padding mask, recurrent dropout), written in plain JS on the backend's memory;
 *   with sigmoid gates, the gate non-linearities of both directions are instead one wasm
 *   `sigmoid` per step (SIMD) between two small JS kernels (the cell candidate's
 *   `tanh(z) = 2·sigmoid(2z) − 1`), leaving only `tanh(c)` to JS;
 * - {@link gatherRows}: embedding row lookup (and its scatter-add gradient) as JS row copies;
 * - the backward pass is hand-written (`tf.customGrad`): per step one matMul per direction and one
 *   custom kernel; the weight gradients are one matMul each over the stacked gate gradients.
 *
 * Semantics matched to tfjs-layers 4.22 (`LSTMCell`, `RNN`, `Bidirectional`):
 * - gate order i, f, c, o in kernel `[inputDim, 4U]`, recurrent kernel `[U, 4U]`, bias `[4U]`;
 * - recurrent activation defaults to `"hardSigmoid"` (tfjs's default, `clip(0.2x + 0.5, 0, 1)`;
 *   Keras/Python defaults to `"sigmoid"`), activation `tanh`;
 * - weights listed forward kernel, recurrent kernel, bias, then the backward ones, so
 *   `setWeights(stock.getWeights())` works both ways;
 * - masking: at a masked step the state (h, c) is carried over unchanged and the output is the
 *   carried h (zero for the backward direction over post-padding, since it starts there);
 * - recurrent dropout: one mask per sequence and direction, applied to h(t-1) before the recurrent
 *   matMul, inverted scaling `1/(1-rate)`, only when `training` is true. Masks are drawn from a
 *   seeded PRNG, so runs are reproducible by seed.
 *
 * The custom kernels are registered for the `wasm` and `cpu` backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../data/random.ts";
import type { Random } from "../data/random.ts";

/** Recurrent (gate) activations supported by {@link FastBiLSTM}. */
export type RecurrentActivation = "hardSigmoid" | "sigmoid";

/** Constructor arguments of {@link FastBiLSTM}. */
export interface FastBiLSTMArgs {
  /** Units per direction (the output has `2 * units` features). */
  units: number;
  /** Gate activation; default `"hardSigmoid"` (tfjs-layers' LSTM default). */
  recurrentActivation?: RecurrentActivation;
  /** Fraction of the recurrent state dropped during training; default 0. */
  recurrentDropout?: number;
  /** Initialise the forget-gate bias to 1 (Keras `unit_forget_bias`); default false (tfjs). */
  unitForgetBias?: boolean;
  /** Seed for the initialisers and the recurrent-dropout masks; unseeded when absent. */
  seed?: number;
  /** Layer name. */
  name?: string;
  /** Input shape without the batch axis, for a first layer. */
  inputShape?: number[];
  /** Whether the weights are trainable; default true. */
  trainable?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Backend memory access (shared with sparse_adam.ts)
// ---------------------------------------------------------------------------------------------

/** Backends whose memory the custom kernels can read and write directly. */
export const DIRECT_MEMORY_BACKENDS: readonly string[] = ["wasm", "cpu"];

interface WasmMemoryBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuMemoryBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

function isWasmBackend(backend: unknown): backend is WasmMemoryBackend {
  return typeof (backend as WasmMemoryBackend).typedArrayFromHeap === "function";
}

function isCpuBackend(backend: unknown): backend is CpuMemoryBackend {
  const data = (backend as CpuMemoryBackend).data;
  return data != null && typeof data.get === "function" &&
    typeof (backend as CpuMemoryBackend).makeTensorInfo === "function";
}

/**
 * Allocates an uninitialised float32 tensor on `backend` (wasm heap or cpu array).
 *
 * On wasm, allocation may grow the heap and detach earlier views: allocate every output first,
 * then take views with {@link float32View}.
 */
export function allocFloat32(backend: unknown, shape: number[]): tf.TensorInfo {
  if (isWasmBackend(backend)) return backend.makeOutput(shape, "float32");
  if (isCpuBackend(backend)) {
    const size = shape.reduce((a, b) => a * b, 1);
    return backend.makeTensorInfo(shape, "float32", new Float32Array(size));
  }
  throw new Error("FastBiLSTM kernels need the wasm or cpu backend");
}

/** A live view of a tensor's float32/int32 memory on `backend` (no copy). */
export function memoryView(backend: unknown, info: tf.TensorInfo): Float32Array | Int32Array {
  if (isWasmBackend(backend)) return backend.typedArrayFromHeap(info) as Float32Array | Int32Array;
  if (isCpuBackend(backend)) {
    const values = backend.data.get(info.dataId).values;
    if (values instanceof Float32Array || values instanceof Int32Array) return values;
  }
  throw new Error("FastBiLSTM kernels need the wasm or cpu backend");
}

/** A live float32 view of a tensor's memory on `backend` (no copy). */
export function float32View(backend: unknown, info: tf.TensorInfo): Float32Array {
  const view = memoryView(backend, info);
  if (!(view instanceof Float32Array)) throw new Error("expected a float32 tensor");
  return view;
}

// ---------------------------------------------------------------------------------------------
// Custom kernels: one forward and one backward time step for both directions
// ---------------------------------------------------------------------------------------------

const FORWARD_STEP_KERNEL = "FastBiLstmForwardStep";
const PREACTIVATION_KERNEL = "FastBiLstmPreactivation";
const FORWARD_FROM_SIGMOID_KERNEL = "FastBiLstmForwardStepFromSigmoid";
const BACKWARD_STEP_KERNEL = "FastBiLstmBackwardStep";

/** Attributes shared by the step kernels. */
interface StepAttrs {
  batch: number;
  units: number;
  /** Time index of the forward direction at this step. */
  tF: number;
  /** Time index of the backward direction at this step. */
  tB: number;
  /** 1 for sigmoid gates, 0 for hard sigmoid. */
  sigmoid: number;
  hasMask: number;
  hasDropout: number;
}

/** tanh via exp (float64; max abs error ~3e-16, about twice as fast as `Math.tanh` in V8). */
function tanh(z: number): number {
  return 1 - 2 / (Math.exp(2 * z) + 1);
}

function gateActivation(z: number, sigmoid: boolean): number {
  if (sigmoid) return 1 / (1 + Math.exp(-z));
  const y = 0.2 * z + 0.5;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

function gateDerivative(a: number, sigmoid: boolean): number {
  if (sigmoid) return a * (1 - a);
  return a > 0 && a < 1 ? 0.2 : 0;
}

/**
 * A padded (masked) row of a forward step: the state passes through unchanged (dropped-out h
 * recomputed with this step's mask), and its gates are zero.
 */
function carryPaddedRow(
  rowS: number,
  rowG: number,
  units: number,
  hPrev: Float32Array,
  cPrev: Float32Array,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  for (let u = 0; u < units; u++) {
    const s = rowS + u;
    outH[s] = hPrev[s];
    outC[s] = cPrev[s];
    outHd[s] = drop === null ? hPrev[s] : hPrev[s] * drop[s];
  }
  outG.fill(0, rowG, rowG + 4 * units);
}

/** One direction of one forward step, on raw arrays. */
function forwardDirection(
  a: StepAttrs,
  t: number,
  zx: Float32Array,
  r: Float32Array,
  hPrev: Float32Array,
  cPrev: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  const { batch, units } = a;
  const sigmoid = a.sigmoid === 1;
  const g4 = 4 * units;
  const zxBase = t * batch * g4;
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    if (!live) {
      carryPaddedRow(rowS, rowG, units, hPrev, cPrev, drop, outH, outC, outHd, outG);
      continue;
    }
    for (let u = 0; u < units; u++) {
      const k = rowG + u;
      const zk = zxBase + k;
      const gi = gateActivation(zx[zk] + r[k], sigmoid);
      const gf = gateActivation(zx[zk + units] + r[k + units], sigmoid);
      const gc = tanh(zx[zk + 2 * units] + r[k + 2 * units]);
      const go = gateActivation(zx[zk + 3 * units] + r[k + 3 * units], sigmoid);
      const s = rowS + u;
      const c = gf * cPrev[s] + gi * gc;
      const h = go * tanh(c);
      outG[k] = gi;
      outG[k + units] = gf;
      outG[k + 2 * units] = gc;
      outG[k + 3 * units] = go;
      outC[s] = c;
      outH[s] = h;
      outHd[s] = drop === null ? h : h * drop[s];
    }
  }
}

/**
 * One direction of one forward step from gate activations computed elsewhere: `s` holds
 * `sigmoid` of the pre-activations (the cell-candidate block of 2× its pre-activation, so
 * `tanh(z) = 2·sigmoid(2z) − 1`), rows `sRow0..sRow0+batch` of `s`.
 */
function forwardDirectionFromSigmoid(
  a: StepAttrs,
  t: number,
  s: Float32Array,
  sRow0: number,
  hPrev: Float32Array,
  cPrev: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  const { batch, units } = a;
  const g4 = 4 * units;
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    if (!live) {
      carryPaddedRow(rowS, rowG, units, hPrev, cPrev, drop, outH, outC, outHd, outG);
      continue;
    }
    const sBase = (sRow0 + b) * g4;
    for (let u = 0; u < units; u++) {
      const k = rowG + u;
      const sk = sBase + u;
      const gi = s[sk];
      const gf = s[sk + units];
      const gc = 2 * s[sk + 2 * units] - 1;
      const go = s[sk + 3 * units];
      const j = rowS + u;
      const c = gf * cPrev[j] + gi * gc;
      const h = go * tanh(c);
      outG[k] = gi;
      outG[k + units] = gf;
      outG[k + 2 * units] = gc;
      outG[k + 3 * units] = go;
      outC[j] = c;
      outH[j] = h;
      outHd[j] = drop === null ? h : h * drop[j];
    }
  }
}

/**
 * Pre-activations of one step for both directions, `[2·batch, 4U]` (forward rows first):
 * `zx[t] + r`, with the cell-candidate block doubled (see {@link forwardDirectionFromSigmoid}).
 */
const preactivationKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
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
function forwardStepKernelOf(fromSigmoid: boolean): tf.KernelFunc {
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

/** One direction of one backward step, on raw arrays. */
function backwardDirection(
  a: StepAttrs,
  t: number,
  dyOffset: number,
  dy: Float32Array,
  gates: Float32Array,
  cCur: Float32Array,
  cPrev: Float32Array,
  rec: Float32Array,
  dhPass: Float32Array,
  dcNext: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outDz: Float32Array,
  outDhPass: Float32Array,
  outDc: Float32Array,
): void {
  const { batch, units } = a;
  const sigmoid = a.sigmoid === 1;
  const g4 = 4 * units;
  const time = dy.length / (batch * 2 * units);
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    // dy is batch-major [batch, time, 2*units].
    const rowY = (b * time + t) * 2 * units + dyOffset;
    for (let u = 0; u < units; u++) {
      const s = rowS + u;
      const dH = dy[rowY + u] + dhPass[s] + (drop === null ? rec[s] : rec[s] * drop[s]);
      const dC = dcNext[s];
      if (!live) {
        outDhPass[s] = dH;
        outDc[s] = dC;
        continue;
      }
      const k = rowG + u;
      const gi = gates[k];
      const gf = gates[k + units];
      const gc = gates[k + 2 * units];
      const go = gates[k + 3 * units];
      const tc = tanh(cCur[s]);
      const dc = dC + dH * go * (1 - tc * tc);
      outDz[k] = dc * gc * gateDerivative(gi, sigmoid);
      outDz[k + units] = dc * cPrev[s] * gateDerivative(gf, sigmoid);
      outDz[k + 2 * units] = dc * gi * (1 - gc * gc);
      outDz[k + 3 * units] = dH * tc * gateDerivative(go, sigmoid);
      outDhPass[s] = 0;
      outDc[s] = dc * gf;
    }
    if (!live) outDz.fill(0, rowG, rowG + g4);
  }
}

const backwardStepKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
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

const CONCAT_ROWS_KERNEL = "FastBiLstmConcatRows";
const MERGE_OUTPUT_KERNEL = "FastBiLstmMergeOutput";

/** Concatenates inputs "0".."count-1" end to end (flattened) into a tensor of `attrs.shape`. */
const concatRowsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { count, shape } = attrs as unknown as { count: number; shape: number[] };
  const out = allocFloat32(backend, shape);
  const o = float32View(backend, out);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const part = float32View(backend, inputs[String(i)] as tf.TensorInfo);
    o.set(part, offset);
    offset += part.length;
  }
  if (offset !== o.length) throw new Error("FastBiLstmConcatRows: sizes do not add up");
  return out;
};

/**
 * Builds the layer output `[batch, time, 2*units]` from per-step states: inputs "f0".."f{T-1}"
 * (forward h) and "b0".."b{T-1}" (backward h), each `[batch, units]`.
 */
const mergeOutputKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { batch, time, units } = attrs as unknown as { batch: number; time: number; units: number };
  const out = allocFloat32(backend, [batch, time, 2 * units]);
  const o = float32View(backend, out);
  for (let t = 0; t < time; t++) {
    const hf = float32View(backend, inputs[`f${t}`] as tf.TensorInfo);
    const hb = float32View(backend, inputs[`b${t}`] as tf.TensorInfo);
    for (let b = 0; b < batch; b++) {
      const base = (b * time + t) * 2 * units;
      o.set(hf.subarray(b * units, (b + 1) * units), base);
      o.set(hb.subarray(b * units, (b + 1) * units), base + units);
    }
  }
  return out;
};

const GATHER_ROWS_KERNEL = "FastGatherRows";
const SCATTER_ADD_ROWS_KERNEL = "FastScatterAddRows";

/**
 * `table[ids]` for a float32 `[rows, width]` table and int32 ids: row copies in JS on the
 * backend's memory (the wasm backend's generic gather is several times slower).
 */
const gatherRowsKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const tableInfo = inputs.table as tf.TensorInfo;
  const idsInfo = inputs.ids as tf.TensorInfo;
  const width = tableInfo.shape[1];
  const count = idsInfo.shape.reduce((a, b) => a * b, 1);
  const out = allocFloat32(backend, [count, width]);
  const o = float32View(backend, out);
  const table = float32View(backend, tableInfo);
  const ids = memoryView(backend, idsInfo);
  for (let i = 0; i < count; i++) {
    const row = ids[i] * width;
    o.set(table.subarray(row, row + width), i * width);
  }
  return out;
};

/** The gradient of {@link gatherRowsKernel}: `out[ids[i]] += dy[i]`, `out` `[attrs.rows, width]`. */
const scatterAddRowsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { rows } = attrs as unknown as { rows: number };
  const dyInfo = inputs.dy as tf.TensorInfo;
  const width = dyInfo.shape[1];
  const out = allocFloat32(backend, [rows, width]);
  const o = float32View(backend, out);
  o.fill(0);
  const dy = float32View(backend, dyInfo);
  const ids = memoryView(backend, inputs.ids as tf.TensorInfo);
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * width;
    const from = i * width;
    for (let k = 0; k < width; k++) o[row + k] += dy[from + k];
  }
  return out;
};

/** Registers the step kernels for the wasm and cpu backends (idempotent). */
export function registerFastBiLstmKernels(): void {
  for (const backendName of DIRECT_MEMORY_BACKENDS) {
    for (
      const [kernelName, kernelFunc] of [
        [FORWARD_STEP_KERNEL, forwardStepKernelOf(false)],
        [PREACTIVATION_KERNEL, preactivationKernel],
        [FORWARD_FROM_SIGMOID_KERNEL, forwardStepKernelOf(true)],
        [BACKWARD_STEP_KERNEL, backwardStepKernel],
        [CONCAT_ROWS_KERNEL, concatRowsKernel],
        [MERGE_OUTPUT_KERNEL, mergeOutputKernel],
        [GATHER_ROWS_KERNEL, gatherRowsKernel],
        [SCATTER_ADD_ROWS_KERNEL, scatterAddRowsKernel],
      ] as const
    ) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel({ kernelName, backendName, kernelFunc });
      }
    }
  }
}
registerFastBiLstmKernels();

// ---------------------------------------------------------------------------------------------
// The differentiable bidirectional LSTM function
// ---------------------------------------------------------------------------------------------

/** Options of {@link fastBiLstm}. */
export interface FastBiLstmOptions {
  units: number;
  recurrentActivation: RecurrentActivation;
  /** Padding mask `[batch, time]` (non-zero = real token), or null. */
  mask: tf.Tensor | null;
  /** Recurrent dropout masks `[batch, units]` (forward, backward), or null. */
  dropout: [tf.Tensor2D, tf.Tensor2D] | null;
}

function runStep(name: string, inputs: tf.NamedTensorMap, attrs: StepAttrs): tf.Tensor[] {
  return tf.engine().runKernel(
    name,
    inputs,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
}

/** Flattened concatenation of same-dtype float tensors into `shape` (one kernel call). */
function concatRows(parts: tf.Tensor[], shape: number[]): tf.Tensor {
  const inputs: tf.NamedTensorMap = {};
  parts.forEach((p, i) => (inputs[String(i)] = p));
  return tf.engine().runKernel(CONCAT_ROWS_KERNEL, inputs, {
    count: parts.length,
    shape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** `[batch, time, 2*units]` from per-step forward and backward hidden states. */
function mergeOutput(hF: tf.Tensor[], hB: tf.Tensor[], batch: number, units: number): tf.Tensor3D {
  const inputs: tf.NamedTensorMap = {};
  hF.forEach((h, t) => (inputs[`f${t}`] = h));
  hB.forEach((h, t) => (inputs[`b${t}`] = h));
  return tf.engine().runKernel(MERGE_OUTPUT_KERNEL, inputs, {
    batch,
    time: hF.length,
    units,
  } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
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

  const f = tf.customGrad((...args: unknown[]) => {
    const [xIn, wF, uF, bF, wB, uB, bB] = args as tf.Tensor2D[];
    const save = args[7] as tf.GradSaveFunc;
    const x2d = tf.reshape(tf.transpose(xIn as unknown as tf.Tensor3D, [1, 0, 2]), [
      time * batch,
      features,
    ]) as tf.Tensor2D;
    const zxF = tf.fused.matMul({ a: x2d, b: wF, bias: bF });
    const zxB = tf.fused.matMul({ a: x2d, b: wB, bias: bB });
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
    const y = mergeOutput(hF, hB, batch, units);
    const extras = [
      ...(maskTM === null ? [] : [maskTM]),
      ...(dropout === null ? [] : dropout),
    ];
    save([x2d, wF, uF, wB, uB, ...extras, ...gF, ...gB, ...cF, ...cB, ...hdF, ...hdB]);
    const head = 5 + extras.length;

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx2d, swF, suF, swB, suB] = saved as tf.Tensor2D[];
      const sMask = maskTM === null ? null : saved[5];
      const sDrop = dropout === null ? null : saved.slice(head - 2, head);
      const at = (block: number, t: number) => saved[head + block * time + t];
      const sgF = (t: number) => at(0, t);
      const sgB = (t: number) => at(1, t);
      const scF = (t: number) => at(2, t);
      const scB = (t: number) => at(3, t);
      const shdF = (t: number) => at(4, t);
      const shdB = (t: number) => at(5, t);
      const zerosS = tf.zeros([batch, units]);
      // Transposed operands are pre-transposed: wasm matMul with transposeA/B is ~10x slower.
      const uFT = tf.transpose(suF);
      const uBT = tf.transpose(suB);
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
      const rows = time * batch;
      const dZF = concatRows(dzF, [rows, 4 * units]) as tf.Tensor2D;
      const dZB = concatRows(dzB, [rows, 4 * units]) as tf.Tensor2D;
      const hdPrevF = concatRows([zerosS, ...range(0, time - 1).map(shdF)], [rows, units]);
      const hdPrevB = concatRows([...range(1, time).map(shdB), zerosS], [rows, units]);
      const hdPrevFT = tf.transpose(hdPrevF) as tf.Tensor2D;
      const hdPrevBT = tf.transpose(hdPrevB) as tf.Tensor2D;
      const xT = tf.transpose(sx2d) as tf.Tensor2D;
      const dx2d = tf.add(
        tf.matMul(dZF, tf.transpose(swF) as tf.Tensor2D),
        tf.matMul(dZB, tf.transpose(swB) as tf.Tensor2D),
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
 * Rows `ids` of a float32 `[rows, width]` table as `[ids.size, width]`, differentiable with
 * respect to the table (the gradient scatter-adds into a dense `[rows, width]`). Ids must be
 * int32 in `[0, rows)` (not checked). Custom JS kernels on wasm/cpu; `tf.gather` elsewhere.
 *
 * @param table the table
 * @param ids int32 row ids, any shape (flattened)
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D {
  if (!DIRECT_MEMORY_BACKENDS.includes(tf.getBackend())) {
    return tf.gather(table, tf.reshape(ids, [-1])) as tf.Tensor2D;
  }
  const rows = table.shape[0];
  const f = tf.customGrad((...args: unknown[]) => {
    const [t, i] = args as tf.Tensor[];
    const value = tf.engine().runKernel(GATHER_ROWS_KERNEL, { table: t, ids: i }, {}) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor) => [
      tf.engine().runKernel(SCATTER_ADD_ROWS_KERNEL, { dy, ids: i }, {
        rows,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
      tf.zerosLike(i),
    ];
    return { value, gradFunc };
  });
  return f(table, ids) as tf.Tensor2D;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------------------------

/**
 * Draws one recurrent-dropout mask `[batch, units]`: each entry is 0 with probability `rate`,
 * else `1 / (1 - rate)`.
 */
export function drawDropoutMask(
  random: Random,
  batch: number,
  units: number,
  rate: number,
): tf.Tensor2D {
  const values = new Float32Array(batch * units);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < values.length; i++) values[i] = random() < rate ? 0 : keep;
  return tf.tensor2d(values, [batch, units]);
}

/**
 * tfjs's orthogonal initializer, without its "Slowness may result" warning for
 * matrices over 2,000 elements (a 100×400 recurrent kernel takes a few ms).
 */
function quietOrthogonal(seed: number | undefined): ReturnType<typeof tf.initializers.orthogonal> {
  const initializer = tf.initializers.orthogonal({ seed, gain: 1 });
  (initializer as unknown as { ELEMENTS_WARN_SLOW: number }).ELEMENTS_WARN_SLOW = Infinity;
  return initializer;
}

/** A fast, weight-compatible replacement for a concat-merged bidirectional LSTM layer. */
export class FastBiLSTM extends tf.layers.Layer {
  /** Name used by `tf.serialization` (and in saved model topologies). */
  static className = "FastBiLSTM";
  /** Units per direction. */
  readonly units: number;
  /** Gate activation. */
  readonly recurrentActivation: RecurrentActivation;
  /** Recurrent dropout rate. */
  readonly recurrentDropout: number;
  /** Whether the forget-gate bias starts at 1. */
  readonly unitForgetBias: boolean;
  /** Seed for initialisers and dropout; undefined = unseeded. */
  readonly seed: number | undefined;
  private dropoutRandom: Random;
  private weightList: tf.LayerVariable[] = [];

  /** @param args see {@link FastBiLSTMArgs} */
  constructor(args: FastBiLSTMArgs) {
    super({ name: args.name, inputShape: args.inputShape, trainable: args.trainable });
    this.units = args.units;
    this.recurrentActivation = args.recurrentActivation ?? "hardSigmoid";
    this.recurrentDropout = args.recurrentDropout ?? 0;
    this.unitForgetBias = args.unitForgetBias ?? false;
    this.seed = args.seed;
    this.supportsMasking = true;
    this.dropoutRandom = seededRandom(args.seed ?? Math.floor(Math.random() * 2 ** 31));
    if (!(this.units > 0)) throw new Error("FastBiLSTM: units must be positive");
    if (this.recurrentDropout < 0 || this.recurrentDropout >= 1) {
      throw new Error("FastBiLSTM: recurrentDropout must be in [0, 1)");
    }
  }

  /** Restarts the recurrent-dropout mask sequence from `seed`. */
  setDropoutSeed(seed: number): void {
    this.dropoutRandom = seededRandom(seed);
  }

  /** Creates the six weights (stock layout). */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputDim = shape[shape.length - 1] as number;
    const u = this.units;
    const seedAt = (k: number) => (this.seed === undefined ? undefined : this.seed + k);
    this.weightList = [];
    for (const [direction, offset] of [["forward", 0], ["backward", 2]] as const) {
      this.weightList.push(
        this.addWeight(
          `${direction}/kernel`,
          [inputDim, 4 * u],
          "float32",
          tf.initializers.glorotNormal({ seed: seedAt(offset) }),
        ),
        this.addWeight(
          `${direction}/recurrent_kernel`,
          [u, 4 * u],
          "float32",
          quietOrthogonal(seedAt(offset + 1)),
        ),
      );
      const bias = this.addWeight(`${direction}/bias`, [4 * u], "float32", tf.initializers.zeros());
      if (this.unitForgetBias) {
        // write() copies into the variable: the temporaries are freed here, not leaked per layer.
        const forgetBias = tf.tidy(() =>
          tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])])
        );
        bias.write(forgetBias as tf.Tensor1D);
        forgetBias.dispose();
      }
      this.weightList.push(bias);
    }
    this.built = true;
  }

  /** `[batch, time, features]` -> `[batch, time, 2*units]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], 2 * this.units];
  }

  /** The output keeps the input's padding mask (return sequences). */
  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor | tf.Tensor[] {
    return (Array.isArray(mask) ? mask[0] : mask) as tf.Tensor;
  }

  /** Runs both directions; `kwargs.mask` (padding) and `kwargs.training` (dropout) honoured. */
  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, any>): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const rawMask = kwargs?.mask as tf.Tensor | tf.Tensor[] | undefined;
    const mask = (Array.isArray(rawMask) ? rawMask[0] : rawMask) ?? null;
    const training = kwargs?.training === true;
    const useDropout = training && this.recurrentDropout > 0;
    const [batch] = x.shape;
    const dropout: [tf.Tensor2D, tf.Tensor2D] | null = useDropout
      ? [
        drawDropoutMask(this.dropoutRandom, batch, this.units, this.recurrentDropout),
        drawDropoutMask(this.dropoutRandom, batch, this.units, this.recurrentDropout),
      ]
      : null;
    try {
      return fastBiLstm(x, this.weightList.map((w) => w.read()), {
        units: this.units,
        recurrentActivation: this.recurrentActivation,
        mask,
        dropout,
      });
    } finally {
      if (dropout !== null) tf.dispose(dropout);
    }
  }

  /** Serialisable configuration. */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units,
      recurrentActivation: this.recurrentActivation,
      recurrentDropout: this.recurrentDropout,
      unitForgetBias: this.unitForgetBias,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(FastBiLSTM);
