/**
 * Row-copy kernels of the BiLSTM, in plain JS on the backend's memory: concatenating per-step
 * tensors, merging the per-step hidden states of both directions into the layer output, and
 * gathering (and scatter-adding the gradient of) embedding rows. Registered by
 * {@link ./kernels.ts}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { allocFloat32, float32View, memoryView } from "./_memory.ts";

/** Kernel name: flattened concatenation of same-dtype float tensors. */
export const CONCAT_ROWS_KERNEL = "FastBiLstmConcatRows";
/** Kernel name: the layer output from per-step hidden states of both directions. */
export const MERGE_OUTPUT_KERNEL = "FastBiLstmMergeOutput";

/** Concatenates inputs "0".."count-1" end to end (flattened) into a tensor of `attrs.shape`. */
export const concatRowsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
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
export const mergeOutputKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
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

/** Kernel name: rows of a table by int32 ids. */
export const GATHER_ROWS_KERNEL = "FastGatherRows";
/** Kernel name: the gradient of {@link GATHER_ROWS_KERNEL}, a scatter-add of rows. */
export const SCATTER_ADD_ROWS_KERNEL = "FastScatterAddRows";

/**
 * `table[ids]` for a float32 `[rows, width]` table and int32 ids: row copies in JS on the
 * backend's memory (the wasm backend's generic gather is several times slower).
 */
export const gatherRowsKernel: tf.KernelFunc = ({ inputs, backend }) => {
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
export const scatterAddRowsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
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

/**
 * Flattened concatenation of same-dtype float tensors into `shape` (one kernel call).
 *
 * @param parts the tensors, in order
 * @param shape the result's shape (its size must be the parts' total size)
 * @returns the concatenation
 */
export function concatRows(parts: tf.Tensor[], shape: number[]): tf.Tensor {
  const inputs: tf.NamedTensorMap = {};
  parts.forEach((p, i) => (inputs[String(i)] = p));
  return tf.engine().runKernel(CONCAT_ROWS_KERNEL, inputs, {
    count: parts.length,
    shape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * `[batch, time, 2*units]` from per-step forward and backward hidden states.
 *
 * @param hF forward hidden state `[batch, units]` of each time step
 * @param hB backward hidden state `[batch, units]` of each time step
 * @param batch batch size
 * @param units units per direction
 * @returns the layer output, forward then backward features on the last axis
 */
export function mergeOutput(
  hF: tf.Tensor[],
  hB: tf.Tensor[],
  batch: number,
  units: number,
): tf.Tensor3D {
  const inputs: tf.NamedTensorMap = {};
  hF.forEach((h, t) => (inputs[`f${t}`] = h));
  hB.forEach((h, t) => (inputs[`b${t}`] = h));
  return tf.engine().runKernel(MERGE_OUTPUT_KERNEL, inputs, {
    batch,
    time: hF.length,
    units,
  } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
